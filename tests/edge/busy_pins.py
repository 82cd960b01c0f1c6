"""gpiozero's mock pins refusing the way lgpio's pins do: with the driver's own error, not
gpiozero's.

lgpio is not installed here (it needs a Pi's /dev/gpiochip). gpiozero's lgpio factory
(gpiozero/pins/lgpio.py) builds an ``LGPIOPin`` whose constructor claims the line with
``lgpio.gpio_claim_input``, and writes an output with ``lgpio.gpio_write``; lgpio turns the
kernel's refusal into ``lgpio.error`` (``_u2i`` raises ``error(error_text(status))``, e.g.
``'GPIO busy'`` when another process holds the line), a plain ``Exception`` subclass that
gpiozero lets through as it is. The mock pins here raise such an error at the same two points:
in the factory's pin constructor (:func:`busy_factory`) and in setting an output's state
(:func:`failing_outputs`). gpiozero's own code between the factory and ours runs unchanged.
"""

from __future__ import annotations

from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin


class DriverError(Exception):
    """As ``lgpio.error``: an ``Exception``, not a ``GPIOZeroError``."""


def busy_factory(*busy: int) -> MockFactory:
    """Mock pins; the GPIOs in ``busy`` are held by another process (``'GPIO busy'``)."""
    names = {f"GPIO{n}" for n in busy}

    class BusyPin(MockPin):  # type: ignore[misc]
        def __init__(self, factory: Any, info: Any) -> None:
            if info.name in names:
                raise DriverError("GPIO busy")  # as LGPIOPin.__init__'s gpio_claim_input
            super().__init__(factory, info)

    return MockFactory(pin_class=BusyPin)


def failing_outputs(*failing: int) -> MockFactory:
    """Mock pins whose outputs in ``failing`` cannot be driven once claimed."""
    names = {f"GPIO{n}" for n in failing}

    class FailingPin(MockPin):  # type: ignore[misc]
        def _set_state(self, value: Any) -> None:
            if self.info.name in names and self._function == "output" and value:
                raise DriverError("GPIO not allocated")  # as _set_state's gpio_write
            super()._set_state(value)

    return MockFactory(pin_class=FailingPin)
