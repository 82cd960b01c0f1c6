"""Whether this desk is receiving alarms, told honestly.

A dropped socket is first "reconnecting": the client retries at once, and a blip should not
throw a red banner across the user's screen. But if the next attempt fails too, or the link is
not back within ``grace_s``, the desk is NOT receiving alarms and must say so loudly; at once
when the socket was given up because central had gone silent (its grace has already passed).
A refused token is "not receiving" at once: retrying cannot fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Presence(StrEnum):
    CONNECTING = "connecting"  # started, first attempt under way
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # lost moments ago, retrying
    NOT_RECEIVING = "not_receiving"


@dataclass
class PresenceTracker:
    started_at: datetime
    grace_s: float = 3.0
    state: Presence = field(default=Presence.CONNECTING, init=False)
    reason: str | None = field(default=None, init=False)
    _since: datetime = field(init=False)

    def __post_init__(self) -> None:
        self._since = self.started_at

    def connected(self, now: datetime) -> bool:
        return self._move(Presence.CONNECTED, None, now)

    def lost(self, reason: str, now: datetime, silent: bool = False) -> bool:
        """The connection dropped, or an attempt failed. True if the state changed.

        ``silent``: central had already said nothing for seconds before the socket was given
        up, so alarms have not been reaching this desk for that long: no grace."""
        if self.state is Presence.CONNECTED and not silent:
            return self._move(Presence.RECONNECTING, reason, now)
        return self._move(Presence.NOT_RECEIVING, reason, now)

    def refused(self, reason: str, now: datetime) -> bool:
        return self._move(Presence.NOT_RECEIVING, reason, now)

    def tick(self, now: datetime) -> bool:
        """Call every second or so; True if the state changed."""
        waiting = self.state in (Presence.CONNECTING, Presence.RECONNECTING)
        if waiting and (now - self._since).total_seconds() >= self.grace_s:
            reason = self.reason or "no answer from central yet"
            return self._move(Presence.NOT_RECEIVING, reason, now)
        return False

    def _move(self, state: Presence, reason: str | None, now: datetime) -> bool:
        changed = (state, reason) != (self.state, self.reason)
        if state is not self.state:
            self._since = now
        self.state, self.reason = state, reason
        return changed
