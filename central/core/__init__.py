"""Central's pure logic: the alarm lifecycle and screen routing. No I/O; ``now`` is passed in."""

from central.core.alarms import DEFAULT_RETENTION, AlarmBook, successor_id
from central.core.audience import Audience, Directory
from central.core.model import (
    ALL_SITES,
    AckEdge,
    Action,
    AlarmEvent,
    Broadcast,
    EventKind,
    Notice,
    Persist,
    Person,
    Refusal,
    Role,
)

__all__ = [
    "ALL_SITES",
    "DEFAULT_RETENTION",
    "AckEdge",
    "Action",
    "AlarmBook",
    "AlarmEvent",
    "Audience",
    "Broadcast",
    "Directory",
    "EventKind",
    "Notice",
    "Persist",
    "Person",
    "Refusal",
    "Role",
    "successor_id",
]
