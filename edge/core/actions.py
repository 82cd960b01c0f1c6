"""What the press policy asks the shell to do: plain frozen values, compared by equality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from edge.core.led import LedState
from protocol import AlarmLevel, AlarmSource


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    """Publish a new alarm now and keep it in the outbox until central acks it."""

    alarm_id: UUID
    input: str
    level: AlarmLevel
    raised_at: datetime
    source: AlarmSource = AlarmSource.BUTTON


@dataclass(frozen=True, slots=True)
class Republish:
    """The input was pressed again while its alarm is active: send it again with ``presses``."""

    alarm_id: UUID
    input: str
    presses: int


@dataclass(frozen=True, slots=True)
class SetLed:
    """Show ``state`` on the input's LED (and buzzer, for ``received``)."""

    input: str
    state: LedState
    alarm_id: UUID | None = None


Action = RaiseAlarm | Republish | SetLed
