"""A gpiozero pin factory whose pins are driven from outside the edge process.

Registered in gpiozero's own ``gpiozero_pin_factories`` entry-point group as ``trygg-sim``, so an
unchanged edge started with ``GPIOZERO_PIN_FACTORY=trygg-sim`` runs on it. The factory is
gpiozero's :class:`MockFactory` plus a small control socket (a Unix socket at the path in
``TRYGG_SIM_CONTROL``) through which ``trygg-sim`` presses, holds, releases and bounces inputs
and reads outputs back. One JSON object per line in each direction.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
import time
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from firmware_sim.errors import SimError

log = logging.getLogger(__name__)

CONTROL_ENV = "TRYGG_SIM_CONTROL"
#: How long ``outputs`` looks back to tell a blinking output from a steady one.
BLINK_WINDOW_S = 2.0


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
    """Current level and how often it changed lately (``blinking`` when it toggles)."""
    # MockPin keeps (time since previous change, state) pairs; rebuild absolute times backwards.
    changes = 0
    elapsed = now - pin._last_change
    for entry in reversed(pin.states[1:]):
        if elapsed > BLINK_WINDOW_S:
            break
        changes += 1
        elapsed += entry.timestamp
    state = bool(pin.state)
    pattern = "blinking" if changes >= 3 else "on" if state else "off"
    return {"state": state, "changes": changes, "pattern": pattern}


class SimFactory(MockFactory):  # type: ignore[misc]
    """MockFactory with a control socket; without ``TRYGG_SIM_CONTROL`` it is plain mock pins."""

    def __init__(self, control_path: str | None = None, revision: str | None = None) -> None:
        super().__init__(revision=revision)
        path = control_path or os.environ.get(CONTROL_ENV)
        self._server: _ControlServer | None = None
        if path:
            self._server = _ControlServer(Path(path), self)
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
            now = time.monotonic()
            return {
                "ok": True,
                "pins": {
                    str(info.name): {"function": pin.function, **describe_output(pin, now)}
                    for info, pin in self.pins.items()
                },
            }
        pin = self._existing_pin(request.get("pin"))
        if pin.function != "input":
            raise SimError(f"pin {request.get('pin')} is an output, not an input")
        if cmd == "press":
            _press(pin)
        elif cmd == "release":
            _release(pin)
        elif cmd == "tap":
            _press(pin)
            time.sleep(float(request.get("hold_s", 0.1)))
            _release(pin)
        elif cmd == "bounce":
            # A worn contact: a burst of closures a few ms apart, then it settles released.
            for _ in range(int(request.get("count", 6))):
                _press(pin)
                time.sleep(0.002)
                _release(pin)
                time.sleep(0.002)
        else:
            raise SimError(f"unknown command {cmd!r}")
        return {"ok": True}

    def _existing_pin(self, name: object) -> MockPin:
        for info, pin in self.pins.items():
            if name in (info.name, str(info.name)) or f"GPIO{name}" == info.name:
                return pin
        raise SimError(f"no such pin in use: {name!r}")


class _Handler(socketserver.StreamRequestHandler):
    server: _ControlServer

    def handle(self) -> None:
        for raw in self.rfile:
            try:
                request = json.loads(raw)
                if not isinstance(request, dict):
                    raise SimError("request must be a JSON object")
                reply = self.server.factory.handle(request)
            except (ValueError, SimError) as exc:
                reply = {"ok": False, "error": str(exc)}
            self.wfile.write(json.dumps(reply).encode() + b"\n")


class _ControlServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, factory: SimFactory) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.path = path
        self.factory = factory
        super().__init__(str(path), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, name="sim-control", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("simulated pins: control socket at %s", self.path)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.path.unlink(missing_ok=True)
