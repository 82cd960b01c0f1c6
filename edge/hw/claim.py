"""A GPIO pin that refuses: one error, :class:`HardwareError`, whoever refused.

gpiozero raises its own errors for what it knows (``GPIOPinInUse``: this process holds the pin
already; ``PinInvalidPin``: no such pin), but the pin driver under it raises its own for what
the kernel says, and those share no base class with gpiozero's or with each other. gpiozero's
lgpio factory (the Pi 5's, and gpiozero's first choice) claims the line in its pin's
constructor and lets ``lgpio.error`` through as it is: ``'GPIO busy'`` when another process
holds the line (a second agent, a forgotten script), ``'can not open gpiochip'``; RPi.GPIO
raises ``RuntimeError``, pigpio ``pigpio.error``. So wherever a pin is claimed (or an output
is driven, which must never stop the alarm path), anything raised is the pin's refusal: caught
there and only there, named with its pin and, for a driver's error, the driver's type, so the
agent's log says which pin and why rather than a traceback from inside gpiozero.
"""

from __future__ import annotations

from gpiozero import GPIOZeroError

from edge.errors import HardwareError


def reason(exc: BaseException) -> str:
    """``exc`` as a log line: gpiozero's message, or a driver's with its type."""
    if isinstance(exc, GPIOZeroError):
        return str(exc)
    kind = type(exc)
    return f"{exc} ({kind.__module__}.{kind.__qualname__} from the pin driver)"


def refused(what: str, exc: Exception) -> HardwareError:
    """The error for a pin that could not be claimed; ``what`` names the pin and its use."""
    return HardwareError(f"{what}: {reason(exc)}")
