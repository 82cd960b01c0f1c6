"""The silent alarm (STANDARD 3.4): a trigger, a short countdown to cancel in, then a raise.

The countdown guards against the accidental key press; triggering again while it runs does
nothing (a frightened user hammering the hotkey must not cancel it), only an explicit cancel
does. When it ends, :meth:`SilentAlarm.tick` hands out exactly one RaiseRequest with the
configured location; the caller supplies both ``now`` and the new alarm id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from protocol.messages import AlarmLevel
from protocol.screen import RaiseRequest


class TriggerSource(StrEnum):
    HOTKEY = "hotkey"  # the global hotkey, or `trygg-desk silent-alarm` bound to one
    TRAY = "tray"


@dataclass(frozen=True, slots=True)
class Location:
    site: str
    room: str
    floor: str | None = None


@dataclass
class SilentAlarm:
    location: Location
    level: AlarmLevel = AlarmLevel.ACUTE
    countdown_s: float = 3.0
    _deadline: datetime | None = field(default=None, init=False)
    _source: TriggerSource = field(default=TriggerSource.HOTKEY, init=False)

    @property
    def counting(self) -> bool:
        return self._deadline is not None

    def trigger(self, source: TriggerSource, now: datetime) -> bool:
        """Start the countdown; False (and no change) if one is already running."""
        if self._deadline is not None:
            return False
        self._deadline = now + timedelta(seconds=self.countdown_s)
        self._source = source
        return True

    def cancel(self) -> bool:
        """Stop the countdown; False if none was running."""
        running = self._deadline is not None
        self._deadline = None
        return running

    def remaining_s(self, now: datetime) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, (self._deadline - now).total_seconds())

    def tick(self, now: datetime, alarm_id: UUID) -> RaiseRequest | None:
        """The raise, once, when the countdown has run out; otherwise None."""
        if self._deadline is None or now < self._deadline:
            return None
        self._deadline = None
        return RaiseRequest(
            alarm_id=alarm_id,
            level=self.level,
            site=self.location.site,
            room=self.location.room,
            floor=self.location.floor,
            input=self._source.value,
            raised_at=now,
        )
