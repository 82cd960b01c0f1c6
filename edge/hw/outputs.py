"""Per-button LED and buzzer, showing the LED state the press policy decided.

Blinking runs on gpiozero's own background threads, so nothing here blocks the loop for
longer than it takes to stop a previous pattern.

A drill (central said so in its ack; docs/drills.md) shows each state as *double flashes*
(:data:`DRILL_PATTERNS`): a rhythm no real alarm ever shows, so the person in the room knows
at once that it is an exercise, while the length of the dark still tells "stored" from
"received" and the dips tell "help is coming". gpiozero's ``blink`` has one on and one off time,
so a rhythm is played through the LED's ``source`` (gpiozero's own background thread too).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle
from typing import Any

from gpiozero import LED, Buzzer, GPIOZeroError

from edge.config import ButtonConfig
from edge.core import LedState
from edge.hw.claim import reason, refused

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Blink:
    on_s: float
    off_s: float
    times: int | None = None  # None: until the next state


# "solid" and "off" are not blinks; everything else is.
PATTERNS: dict[LedState, Blink | bool] = {
    LedState.OFF: False,
    LedState.SENDING: Blink(0.1, 0.1),
    # Short flash, long dark: central has it, but no colleague has it on screen yet.
    LedState.STORED: Blink(0.3, 0.9),
    LedState.RECEIVED: Blink(0.5, 0.5),
    LedState.HELP_COMING: True,
    LedState.RESOLVED: Blink(0.08, 0.08, times=5),
}
CHIRP = Blink(0.08, 0.08, times=1)


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A repeating on/off sequence, one value per ``step_s``: what ``blink`` cannot show."""

    step_s: float
    values: tuple[int, ...]


# A drill's states: two quick flashes, then dark (long: stored; short: received); help coming
# is a light that dips twice. Sending is the device's own state, before central said "drill";
# resolved and off look as they always do.
DRILL_PATTERNS: dict[LedState, Rhythm] = {
    LedState.STORED: Rhythm(0.1, (1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
    LedState.RECEIVED: Rhythm(0.1, (1, 0, 1, 0, 0, 0)),
    LedState.HELP_COMING: Rhythm(0.1, (0, 1, 0, *(1,) * 12)),
}


class _Indicator:
    def __init__(self, config: ButtonConfig, pin_factory: Any) -> None:
        self.led: LED | None = None
        self.buzzer: Buzzer | None = None
        self.announcing = False  # the buzzer sounds an evacuation / lockdown (edge.core.announce)
        self.showing: tuple[LedState, bool] = (LedState.OFF, False)  # (state, drill pattern)
        try:
            if config.led_pin is not None:
                self.led = LED(config.led_pin, pin_factory=pin_factory)
            if config.buzzer_pin is not None:
                self.buzzer = Buzzer(config.buzzer_pin, pin_factory=pin_factory)
        except Exception as exc:  # gpiozero's errors and the driver's (lgpio.error)
            self.close()
            raise refused(f"outputs of {config.input!r}", exc) from exc

    def show(self, state: LedState, drill: bool = False) -> None:
        rhythm = DRILL_PATTERNS.get(state) if drill else None
        before = self.showing[0]
        self.showing = (state, rhythm is not None)
        if self.led is not None:
            self.led.source = None  # a drill's rhythm stops before anything else shows
            pattern = PATTERNS[state]
            if rhythm is not None:
                self.led.source_delay = rhythm.step_s
                self.led.source = cycle(rhythm.values)
            elif pattern is True:
                self.led.on()
            elif pattern is False:
                self.led.off()
            else:
                if not isinstance(pattern, Blink):
                    raise TypeError(f"unknown LED pattern {pattern!r}")
                self.led.blink(on_time=pattern.on_s, off_time=pattern.off_s, n=pattern.times)
        chirp = state is LedState.RECEIVED and before is not LedState.RECEIVED
        if self.buzzer is not None and chirp and not self.announcing:
            # The person in the room hears that the alarm got through, once.
            self.buzzer.beep(on_time=CHIRP.on_s, off_time=CHIRP.off_s, n=CHIRP.times)

    def close(self) -> None:
        for device in (self.led, self.buzzer):
            if device is not None:
                device.close()


# The level a steady LED state must read back as; blinking states are not compared.
STEADY: dict[LedState, bool] = {LedState.OFF: False, LedState.HELP_COMING: True}


class Indicators:
    def __init__(self, buttons: Sequence[ButtonConfig], pin_factory: Any = None) -> None:
        self._by_input: dict[str, _Indicator] = {}
        try:
            for config in buttons:
                self._by_input[config.input] = _Indicator(config, pin_factory)
        except BaseException:
            self.close()
            raise

    def show(self, input_name: str, state: LedState, drill: bool = False) -> None:
        indicator = self._by_input.get(input_name)
        if indicator is None:
            return
        try:
            indicator.show(state, drill)
        except Exception as exc:  # a failing LED must never stop the alarm path (any driver)
            log.error("led input=%s state=%s failed: %s", input_name, state, reason(exc))

    def sound(self, on_s: float | None, off_s: float = 0.0) -> None:
        """Every button's buzzer sounds an evacuation / lockdown pattern (``on_s`` None:
        silence); the alarm's "got through" chirp waits until it is over."""
        for name, indicator in self._by_input.items():
            indicator.announcing = on_s is not None
            if indicator.buzzer is None:
                continue
            try:
                if on_s is None:
                    indicator.buzzer.off()
                else:
                    indicator.buzzer.beep(on_time=on_s, off_time=off_s, n=None)
            except Exception as exc:  # gpiozero's errors and the driver's (lgpio.error)
                log.error("buzzer of %s failed: %s", name, reason(exc))

    def pattern(self, input_name: str) -> str:
        """What the input's LED is driven to show now: its state, ``drill:`` before it when in
        the drill pattern (``drill:received``); ``none`` for an input without outputs."""
        indicator = self._by_input.get(input_name)
        if indicator is None:
            return "none"
        state, drill = indicator.showing
        return f"drill:{state.value}" if drill else state.value

    def readback(self, states: dict[str, LedState]) -> dict[str, tuple[bool | None, bool | None]]:
        """Each LED's (expected level, level its pin reads back); see :data:`STEADY`.

        The read-back is the GPIO pin's own level register: it shows the output is driven as
        set, not that the lamp lights (that needs a sense wire, which the config has no pin for).
        """
        found: dict[str, tuple[bool | None, bool | None]] = {}
        for name, indicator in self._by_input.items():
            if indicator.led is None:
                continue
            expected = STEADY.get(states.get(name, LedState.OFF))
            if indicator.showing[1]:
                expected = None  # a drill's rhythm is never steady
            try:
                actual: bool | None = bool(indicator.led.pin.state)
            except (GPIOZeroError, OSError, AttributeError) as exc:
                log.error("led %s unreadable: %s", name, exc)
                actual = None
            found[f"{name} LED"] = (expected, actual)
        return found

    def close(self) -> None:
        for indicator in self._by_input.values():
            indicator.close()
        self._by_input.clear()
