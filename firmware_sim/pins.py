"""A gpiozero pin factory whose pins are driven from outside the edge process.

Registered in gpiozero's own ``gpiozero_pin_factories`` entry-point group as ``trygg-sim``, so an
unchanged edge started with ``GPIOZERO_PIN_FACTORY=trygg-sim`` runs on it. The factory is
gpiozero's :class:`MockFactory` plus a control socket (a Unix socket at the path in
``TRYGG_SIM_CONTROL``, see :mod:`firmware_sim.control`) through which ``trygg-sim`` works the
inputs and reads the outputs back.

Input commands (``pin`` names the input's GPIO):

``press``   close the contact for ``hold_s`` seconds (default 0.3), then open it: a person's press
``tap``     the same, 0.1 s
``hold``    close the contact and keep it closed (until ``release``)
``release`` open the contact
``bounce``  a worn contact: a burst of closures a few ms apart, then it settles open
``stuck``   fault: the contact is welded closed; every command but ``fix`` is ignored
``cut``     fault: the wire is cut, the input reads open; every command but ``fix`` is ignored
``fix``     clear ``stuck``/``cut``: the input reads open and obeys commands again

While a fault is set, ignored commands still succeed and their reply says ``"ignored": <fault>``
(the person pressed; the hardware did not pass it on).

``TRYGG_SIM_HELD`` (comma-separated GPIO numbers) closes those contacts from the start, as a
button still held down while a Pi boots (a power cut in the middle of a press); ``release``
opens them.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from firmware_sim.control import ControlServer
from firmware_sim.errors import SimError

CONTROL_ENV = "TRYGG_SIM_CONTROL"
HELD_ENV = "TRYGG_SIM_HELD"
#: How long ``outputs`` looks back to tell a blinking output from a steady one.
BLINK_WINDOW_S = 2.0
#: Blinks with half-periods shorter than this are "fast" (the edge's "sending" pattern).
FAST_BLINK_S = 0.25
PRESS_S = 0.3
TAP_S = 0.1
INPUT_COMMANDS = ("press", "tap", "hold", "release", "bounce", "stuck", "cut", "fix")
FAULTS = ("stuck", "cut")


def _press(pin: MockPin) -> None:
    # A button pulls its line to the opposite of its pull: pull-up buttons short to ground.
    if pin.pull == "up":
        pin.drive_low()
    else:
        pin.drive_high()


def _release(pin: MockPin) -> None:
    if pin.pull == "up":
        pin.drive_high()
    else:
        pin.drive_low()


def describe_output(pin: MockPin, now: float) -> dict[str, Any]:
    """Current level and its pattern lately: ``off``, ``on``, ``fast-blink`` or ``slow-blink``."""
    # MockPin keeps (time since previous change, state) pairs; rebuild absolute times backwards.
    intervals: list[float] = []
    elapsed = now - pin._last_change
    for entry in reversed(pin.states[1:]):
        if elapsed > BLINK_WINDOW_S:
            break
        intervals.append(entry.timestamp)
        elapsed += entry.timestamp
    state = bool(pin.state)
    changes = len(intervals)
    if changes >= 3:
        # The newest interval is the time since the last change, still growing: leave it out.
        typical = sorted(intervals[: changes - 1])[(changes - 1) // 2]
        pattern = "fast-blink" if typical < FAST_BLINK_S else "slow-blink"
    else:
        pattern = "on" if state else "off"
    return {"state": state, "changes": changes, "pattern": pattern}


def _held_at_start() -> set[str]:
    return {f"GPIO{n.strip()}" for n in os.environ.get(HELD_ENV, "").split(",") if n.strip()}


class _SimPin(MockPin):  # type: ignore[misc]
    """A mock pin that may start with its contact closed (``TRYGG_SIM_HELD``)."""

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)  # drives the line to its pull level: the contact open
        # gpiozero may set the pull more than once while it builds a button; the contact stays
        # closed until the first command on this pin (see SimFactory.handle).
        if str(self.info.name) in getattr(self._factory, "held_at_start", ()):
            _press(self)


class SimFactory(MockFactory):  # type: ignore[misc]
    """MockFactory with a control socket; without ``TRYGG_SIM_CONTROL`` it is plain mock pins."""

    def __init__(self, control_path: str | None = None, revision: str | None = None) -> None:
        super().__init__(revision=revision, pin_class=_SimPin)
        self.held_at_start = _held_at_start()
        path = control_path or os.environ.get(CONTROL_ENV)
        self._faults: dict[str, str] = {}  # pin name -> "stuck" | "cut"
        self._lock = threading.Lock()  # one command at a time per factory, like one finger
        self._server: ControlServer | None = None
        if path:
            self._server = ControlServer(Path(path), self.handle, name="sim-pins")
            self._server.start()

    def close(self) -> None:
        if self._server:
            self._server.stop()
            self._server = None
        super().close()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Carry out one control request. Unknown pins or commands are errors, never crashes."""
        cmd = request.get("cmd")
        if cmd == "outputs":
            return {"ok": True, "pins": self.snapshot()}
        if cmd not in INPUT_COMMANDS:
            raise SimError(f"unknown command {cmd!r}; known: outputs, {', '.join(INPUT_COMMANDS)}")
        name, pin = self._existing_pin(request.get("pin"))
        if pin.function != "input":
            raise SimError(f"pin {request.get('pin')} is an output, not an input")
        with self._lock:
            self.held_at_start.discard(name)
            try:
                return self._act(str(cmd), name, pin, request)
            except SimError:
                raise
            except Exception as exc:
                # The device on the pin is still being set up (gpiozero's Button takes the
                # pin's edges before it is whole, and its callback fails): let go of the pin,
                # which would otherwise stay pressed, and refuse, so the caller presses again.
                with contextlib.suppress(Exception):
                    _release(pin)
                raise SimError(f"pin {name} not ready ({exc!r}); press again") from None

    def _act(self, cmd: str, name: str, pin: MockPin, request: dict[str, Any]) -> dict[str, Any]:
        fault = self._faults.get(name)
        if cmd == "fix":
            self._faults.pop(name, None)
            _release(pin)
            return {"ok": True, "cleared": fault}
        if cmd in FAULTS:
            self._faults[name] = cmd
            (_press if cmd == "stuck" else _release)(pin)
            return {"ok": True, "fault": cmd}
        if fault:
            return {"ok": True, "ignored": fault}
        if cmd in ("press", "tap"):
            _press(pin)
            time.sleep(float(request.get("hold_s", PRESS_S if cmd == "press" else TAP_S)))
            _release(pin)
        elif cmd == "hold":
            _press(pin)
        elif cmd == "release":
            _release(pin)
        else:  # bounce
            for _ in range(int(request.get("count", 6))):
                _press(pin)
                time.sleep(0.002)
                _release(pin)
                time.sleep(0.002)
        return {"ok": True}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every pin in use: outputs with their pattern, inputs with pressed/fault."""
        now = time.monotonic()
        pins: dict[str, dict[str, Any]] = {}
        for info, pin in list(self.pins.items()):
            name = str(info.name)
            if pin.function == "input":
                pressed = bool(pin.state) != (pin.pull == "up")
                pins[name] = {
                    "function": "input",
                    "pressed": pressed,
                    "fault": self._faults.get(name),
                }
            else:
                pins[name] = {"function": pin.function, **describe_output(pin, now)}
        return pins

    def _existing_pin(self, wanted: object) -> tuple[str, MockPin]:
        for info, pin in self.pins.items():
            if wanted in (info.name, str(info.name)) or f"GPIO{wanted}" == info.name:
                return str(info.name), pin
        raise SimError(f"no such pin in use: {wanted!r}")
