"""What central last heard from each device (status, heartbeat, events, self-test results).

Kept in memory only: the seed for supervision ("is every button alive?"), which builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol import EventMessage, HeartbeatMessage, SelftestResultMessage, StatusMessage


@dataclass(slots=True)
class DeviceState:
    site: str
    device: str
    last_seen: datetime
    status: StatusMessage | None = None
    heartbeat: HeartbeatMessage | None = None
    last_event: EventMessage | None = None
    last_selftest: SelftestResultMessage | None = None


class Devices:
    def __init__(self) -> None:
        self._known: dict[tuple[str, str], DeviceState] = {}

    def heard(
        self,
        message: StatusMessage | HeartbeatMessage | EventMessage | SelftestResultMessage,
        now: datetime,
    ) -> DeviceState:
        key = (message.site, message.device)
        state = self._known.get(key)
        if state is None:
            state = self._known[key] = DeviceState(message.site, message.device, now)
        state.last_seen = now
        if isinstance(message, StatusMessage):
            state.status = message
        elif isinstance(message, HeartbeatMessage):
            state.heartbeat = message
        elif isinstance(message, EventMessage):
            state.last_event = message
        else:
            state.last_selftest = message
        return state

    def get(self, site: str, device: str) -> DeviceState | None:
        return self._known.get((site, device))

    def __len__(self) -> int:
        return len(self._known)
