"""The open faults a facility manager's desk shows: devices offline, tampered with, or a site
where no screen would get an alarm. Faults are not alarms: nobody is in danger, somebody
responsible should see to it. So they are listed and announced once, never popped up or rung.

Central sends a ``fault`` frame when a fault is raised or cleared, and every open fault again
right after each ``snapshot``. A new connection therefore starts the list afresh (a fault cleared
while the desk was away is simply not re-sent), but a fault the user was already told about is
not announced again just because it came back with the new connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol.screen import FaultFrame

FaultKey = tuple[str, str, str]  # site, device ("" for the whole site), kind


def fault_key(frame: FaultFrame) -> FaultKey:
    return frame.site, frame.device, frame.kind


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """The open faults changed.

    ``frame`` is the fault frame that changed them, or None when a new connection's snapshot
    started the list afresh. ``new`` says the user has not been told of this fault yet.
    """

    frame: FaultFrame | None
    open: tuple[FaultFrame, ...]
    new: bool = False


@dataclass
class OpenFaults:
    _open: dict[FaultKey, FaultFrame] = field(default_factory=dict, init=False)
    # Open when the last snapshot came: re-sent ones are not news.
    _known_before: dict[FaultKey, FaultFrame] = field(default_factory=dict, init=False)

    @property
    def open(self) -> Mapping[FaultKey, FaultFrame]:
        return self._open

    def snapshot(self) -> FaultEvent | None:
        """A new connection's snapshot: forget the list until central re-sends it."""
        self._known_before = dict(self._open)
        if not self._open:
            return None
        self._open.clear()
        return FaultEvent(None, ())

    def receive(self, frame: FaultFrame) -> FaultEvent:
        key = fault_key(frame)
        if frame.cleared:
            self._open.pop(key, None)
            self._known_before.pop(key, None)
            return FaultEvent(frame, tuple(self._open.values()))
        before = self._open.get(key) or self._known_before.get(key)
        # The same fault keeps its ``at`` (when it was raised); a different ``at`` means it
        # cleared and came back, perhaps while this desk was away: that is news again.
        new = before is None or before.at != frame.at
        self._open[key] = frame
        return FaultEvent(frame, tuple(self._open.values()), new)
