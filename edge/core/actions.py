"""What the press policy asks the shell to do: plain frozen values, compared by equality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from edge.core.led import LedState
from protocol import AlarmLevel, AlarmSource, HeldState


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """Publish a new alarm now and keep it in the outbox until central acks it."""

    alarm_id: UUID
    input: str
    level: AlarmLevel
    raised_at: datetime
    source: AlarmSource = AlarmSource.BUTTON
    # The id the input's next alarm will carry, to be stored in the same write as this alarm
    # (None: the input's ids are not pre-allocated, e.g. a pendant).
    next_id: UUID | None = None
    # The contact was already closed when the edge started: a press cut short by a power cut.
    held_at_start: bool = False


@dataclass(frozen=True, slots=True)
class Republish:
    """The input was pressed again while its alarm is active: send it again with ``presses``."""

    alarm_id: UUID
    input: str
    presses: int


@dataclass(frozen=True, slots=True)
class SetLed:
    """Show ``state`` on the input's LED (and buzzer, for ``received``); ``drill``: in the
    drill pattern (central said the alarm is a drill)."""

    input: str
    state: LedState
    alarm_id: UUID | None = None
    drill: bool = False


@dataclass(frozen=True, slots=True)
class AdoptAlarm:
    """Central named an active alarm of this input that the device did not know (it lost its
    memory): keep it durably as acknowledged-by-central, showing ``state``, counting presses."""

    alarm_id: UUID
    input: str
    presses: int
    state: HeldState
    at: datetime
    level: AlarmLevel
    source: AlarmSource = AlarmSource.BUTTON
    said_at: datetime | None = None  # the ack's ``at``: central's time for ``state``
    said_rev: int | None = None  # the ack's ``rev``: the revision of central's record


@dataclass(frozen=True, slots=True)
class NextId:
    """Store ``alarm_id`` as the input's pre-allocated next alarm id (fresh, never used)."""

    input: str
    alarm_id: UUID


@dataclass(frozen=True, slots=True)
class StuckAtStart:
    """The input was closed at the previous start too and never opened since: a fault."""

    input: str


Action = RaiseAlarm | Republish | SetLed | AdoptAlarm | NextId | StuckAtStart
