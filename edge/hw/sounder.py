"""Evacuation and lockdown on GPIO: the optional sounder (``[announce] buzzer_pin``) and the
inputs that announce (``[[announce.inputs]]``), via gpiozero like the buttons and LEDs.

The pattern a kind sounds is the core's (``edge.core.announce``); gpiozero beeps on its own
background thread, so starting or stopping a pattern never blocks the loop. An input's press
is read on the pin driver's thread and handed to the loop, as the alarm buttons are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gpiozero import Button, Buzzer

from edge.config import AnnounceInputConfig
from edge.core.announce import Tone
from edge.hw.buttons import open_button
from edge.hw.claim import reason, refused

log = logging.getLogger(__name__)


class Sounder:
    """The dedicated sounder, if one is configured (else every call does nothing)."""

    def __init__(self, pin: int | str | None, pin_factory: Any = None) -> None:
        self.buzzer: Buzzer | None = None
        if pin is None:
            return
        try:
            self.buzzer = Buzzer(pin, pin_factory=pin_factory)
        except Exception as exc:  # gpiozero's errors and the driver's (lgpio.error)
            raise refused(f"announce buzzer on pin {pin!r}", exc) from exc

    def sound(self, tone: Tone | None) -> None:
        if self.buzzer is None:
            return
        try:
            if tone is None:
                self.buzzer.off()
            else:
                self.buzzer.beep(on_time=tone.on_s, off_time=tone.off_s, n=None)
        except Exception as exc:  # a failing sounder must not stop the rest (any driver)
            log.error("announce buzzer failed: %s", reason(exc))

    def close(self) -> None:
        if self.buzzer is not None:
            self.buzzer.close()
            self.buzzer = None


class AnnounceInputs:
    """The announcing inputs; ``deliver(input, at)`` on the loop for each press."""

    def __init__(
        self,
        inputs: Sequence[AnnounceInputConfig],
        deliver: Callable[[str, datetime], None],
        clock: Callable[[], datetime],
        loop: asyncio.AbstractEventLoop,
        pin_factory: Any = None,
    ) -> None:
        self._deliver = deliver
        self._clock = clock
        self._loop = loop
        self._devices: list[Button] = []
        try:
            for config in inputs:
                self._devices.append(self._open(config, pin_factory))
        except BaseException:
            self.close()
            raise

    def _open(self, config: AnnounceInputConfig, pin_factory: Any) -> Button:
        what = f"input {config.input!r}"
        device = open_button(config.pin, config.pull_up, config.bounce_ms, what, pin_factory)
        name = config.input
        device.when_pressed = lambda: self._pressed(name)
        return device

    def _pressed(self, name: str) -> None:
        at = self._clock()
        try:
            self._loop.call_soon_threadsafe(self._deliver, name, at)
        except RuntimeError:  # the loop is closed: the agent is shutting down
            log.warning("announce input %s pressed after shutdown; ignored", name)

    def close(self) -> None:
        for device in self._devices:
            device.when_pressed = None
            device.close()
        self._devices.clear()
