"""How loudly an alarm asks for this user's attention: whether it rings, and for how long it
has waited. Kept apart from Qt so the rules are tested with plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol.screen import AlarmState, AlarmView


def should_ring(alarm: AlarmView, *, user: str | None, answered: bool, enough: int) -> bool:
    """Ring until this user answers, ``enough`` colleagues are coming, or it is resolved."""
    if alarm.state is AlarmState.RESOLVED or answered:
        return False
    if user is not None and user in {r.user for r in (*alarm.responders, *alarm.declined)}:
        return False  # answered from another screen of the same user
    return len(alarm.responders) < enough


@dataclass(frozen=True, slots=True)
class Elapsed:
    hours: int
    minutes: int
    seconds: int


def elapsed(raised_at: datetime, now: datetime) -> Elapsed:
    """Time since ``raised_at``; never negative (a desk clock behind central's reads 0)."""
    total = max(0, int((now - raised_at).total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return Elapsed(hours, minutes, seconds)
