"""The desk client's decisions, without any I/O or Qt: frames, time and user actions in;
events, commands and states out. Every part takes ``now`` from its caller."""

from __future__ import annotations

from desktop.core.alarms import (
    AlarmEvent,
    Backoff,
    DeskCore,
    EventKind,
    Outgoing,
    Reaction,
    ServerFrame,
)
from desktop.core.announcements import (
    AnnouncementEvent,
    DeskAnnouncements,
    refused_announcement,
)
from desktop.core.attention import Elapsed, elapsed, should_ring
from desktop.core.faults import FaultEvent, FaultKey, OpenFaults, fault_key
from desktop.core.keys import Hotkey, Modifier, parse_hotkey
from desktop.core.liveness import Liveness
from desktop.core.presence import Presence, PresenceTracker
from desktop.core.raising import RaiseFailed, RaiseFailure, RaiseWatch, refused_raise
from desktop.core.silent import Location, SilentAlarm, TriggerSource

__all__ = [
    "AlarmEvent",
    "AnnouncementEvent",
    "Backoff",
    "DeskAnnouncements",
    "DeskCore",
    "Elapsed",
    "EventKind",
    "FaultEvent",
    "FaultKey",
    "Hotkey",
    "Liveness",
    "Location",
    "Modifier",
    "OpenFaults",
    "Outgoing",
    "Presence",
    "PresenceTracker",
    "RaiseFailed",
    "RaiseFailure",
    "RaiseWatch",
    "Reaction",
    "ServerFrame",
    "SilentAlarm",
    "TriggerSource",
    "elapsed",
    "fault_key",
    "parse_hotkey",
    "refused_announcement",
    "refused_raise",
    "should_ring",
]
