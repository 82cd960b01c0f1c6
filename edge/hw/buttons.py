"""Alarm buttons on GPIO, via gpiozero.

gpiozero calls ``when_pressed``/``when_released`` on its pin driver's thread (with the mock
factory: on whichever thread drives the pin). The time is read right there, at the edge, and
the event is handed to the asyncio loop with ``call_soon_threadsafe``: the press policy itself
only ever runs on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gpiozero import Button, GPIOZeroError

from edge.config import ButtonConfig
from edge.hw.claim import refused

log = logging.getLogger(__name__)

EdgeHandler = Callable[[str, bool, datetime], None]  # (input, closed, at) on the loop


def open_button(
    pin: int | str, pull_up: bool, bounce_ms: int, what: str, pin_factory: Any
) -> Button:
    """A gpiozero Button on ``pin``; HardwareError naming ``what`` if the pin refuses, by
    gpiozero's error or by the pin driver's own (lgpio's ``'GPIO busy'``: edge.hw.claim)."""
    try:
        return Button(
            pin,
            pull_up=pull_up,
            # gpiozero treats 0 as "no debounce" only when given None.
            bounce_time=bounce_ms / 1000 or None,
            pin_factory=pin_factory,
        )
    except Exception as exc:  # gpiozero's errors and the driver's (lgpio.error): edge.hw.claim
        raise refused(f"{what} on pin {pin!r}", exc) from exc


class ButtonInputs:
    def __init__(
        self,
        buttons: Sequence[ButtonConfig],
        deliver: EdgeHandler,
        clock: Callable[[], datetime],
        loop: asyncio.AbstractEventLoop,
        pin_factory: Any = None,
    ) -> None:
        self._deliver = deliver
        self._clock = clock
        self._loop = loop
        self._devices: dict[str, Button] = {}
        try:
            for config in buttons:
                self._devices[config.input] = self._open(config, pin_factory)
        except BaseException:
            self.close()
            raise

    def _open(self, config: ButtonConfig, pin_factory: Any) -> Button:
        what = f"button {config.input!r}"
        device = open_button(config.pin, config.pull_up, config.bounce_ms, what, pin_factory)
        name = config.input
        device.when_pressed = lambda: self._edge(name, closed=True)
        device.when_released = lambda: self._edge(name, closed=False)
        return device

    def _edge(self, input_name: str, *, closed: bool) -> None:
        at = self._clock()
        try:
            self._loop.call_soon_threadsafe(self._deliver, input_name, closed, at)
        except RuntimeError:  # the loop is closed: the agent is shutting down
            log.warning(
                "button edge input=%s closed=%s after shutdown; ignored", input_name, closed
            )

    def read(self) -> dict[str, bool | None]:
        """Each input's contact now (True = closed); None where the pin cannot be read."""
        readings: dict[str, bool | None] = {}
        for name, device in self._devices.items():
            try:
                readings[name] = bool(device.is_pressed)
            except (GPIOZeroError, OSError) as exc:
                log.error("input %s unreadable: %s", name, exc)
                readings[name] = None
        return readings

    def closed_now(self) -> list[str]:
        """Inputs whose contact is closed right now (a stuck or held button at start)."""
        return [name for name, device in self._devices.items() if device.is_pressed]

    def close(self) -> None:
        for device in self._devices.values():
            device.when_pressed = None
            device.when_released = None
            device.close()
        self._devices.clear()
