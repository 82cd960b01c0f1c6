"""A manual test round, without I/O: a facility manager walks the site pressing every button.

Rules (docs/testing.md says them to people):

* while the round is open, the **first** press of each button at the site is that button's
  test: a test alarm shown only to the tester, ticked off, and ended by central at once;
* everything else is a real alarm, as always: a second press of a button already ticked in
  this round, a button at another site, a sensor (pendant, sound), a desk's silent alarm;
* closing the round lists each known button as tested, not tested, or failed (the tester said
  so, or the device could not be tested: offline, input stuck);
* a round lasts at most its ``max_duration`` (config, default 2 h): a round left open would
  make each button's next real press invisible to everyone but the tester. From
  ``expires_at`` on no press is a test, whether or not the shell has closed it yet, and the
  shell closes it as ``expired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from protocol import AlarmSource

DEFAULT_MAX_DURATION = timedelta(hours=2)


class ButtonResult(StrEnum):
    TESTED = "tested"
    NOT_TESTED = "not_tested"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, order=True)
class Button:
    device: str
    input: str


@dataclass(frozen=True, slots=True)
class ButtonOutcome:
    button: Button
    result: ButtonResult
    at: datetime | None = None
    detail: str = ""
    alarm_id: UUID | None = None


@dataclass(slots=True)
class TestRound:
    round_id: UUID
    site: str
    tester: str  # the user who started it: the only screen its test alarms reach
    started_at: datetime
    buttons: set[Button] = field(default_factory=set)  # what central knows of the site
    max_duration: timedelta = DEFAULT_MAX_DURATION
    closed_at: datetime | None = None
    expired: bool = False  # closed by itself at expires_at
    _tested: dict[Button, tuple[datetime, UUID]] = field(default_factory=dict)
    _failed: dict[Button, tuple[datetime, str]] = field(default_factory=dict)

    __test__ = False  # not a pytest class, despite the name

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def expires_at(self) -> datetime:
        return self.started_at + self.max_duration

    def due(self, now: datetime) -> bool:
        """Open past its ``expires_at``: the shell must close it as expired."""
        return self.open and now >= self.expires_at

    def expire(self, now: datetime) -> bool:
        """Close it as expired if it is due; True if it just did."""
        if not self.due(now):
            return False
        self.closed_at = self.expires_at
        self.expired = True
        return True

    def press(
        self, device: str, input_name: str, source: AlarmSource, alarm_id: UUID, now: datetime
    ) -> bool:
        """A new alarm at this round's site: True if it is a button's test (tick it)."""
        button = Button(device, input_name)
        if not self.open or now >= self.expires_at:
            return False  # past its time a round tests nothing, closed or not yet
        if source is not AlarmSource.BUTTON or button in self._tested:
            return False
        self.buttons.add(button)
        self._tested[button] = (now, alarm_id)
        return True

    def restore_tick(self, button: Button, at: datetime, alarm_id: UUID) -> None:
        """A tick read back from the store after a restart."""
        self.buttons.add(button)
        self._tested[button] = (at, alarm_id)

    def fail(self, button: Button, detail: str, now: datetime) -> None:
        """The tester says this button failed (the LED stayed dark, the alarm never came)."""
        self.buttons.add(button)
        self._failed[button] = (now, detail)

    def close(self, now: datetime) -> None:
        if self.closed_at is None:
            self.closed_at = now

    def report(self, broken: Mapping[Button, str] | None = None) -> list[ButtonOutcome]:
        """Every button, sorted. ``broken``: buttons that could not be tested, and why."""
        broken = broken or {}
        outcomes = []
        for button in sorted(self.buttons | set(broken)):
            if button in self._failed:
                at, detail = self._failed[button]
                outcomes.append(ButtonOutcome(button, ButtonResult.FAILED, at, detail))
            elif button in self._tested:
                at, alarm_id = self._tested[button]
                outcomes.append(ButtonOutcome(button, ButtonResult.TESTED, at, alarm_id=alarm_id))
            elif button in broken:
                outcomes.append(ButtonOutcome(button, ButtonResult.FAILED, detail=broken[button]))
            else:
                outcomes.append(ButtonOutcome(button, ButtonResult.NOT_TESTED))
        return outcomes


def buttons_of(devices: Iterable[tuple[str, Iterable[str]]]) -> set[Button]:
    """Buttons from (device, inputs) pairs."""
    return {Button(device, name) for device, inputs in devices for name in inputs}
