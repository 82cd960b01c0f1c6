"""Evacuation and lockdown at the desk, without I/O: ``announcement`` frames in, what to show.

Central sends the state of each of the user's sites right after every snapshot (``all_clear``
where nothing is on) and every change after that; so a desk that connects mid-evacuation shows
it at once, and one that missed the all clear while disconnected ends it at the reconnect.
Only changes are events: the frames repeated after a reconnect change nothing on the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol.screen import AnnouncementFrame


@dataclass(frozen=True, slots=True)
class AnnouncementEvent:
    """``frame``'s site changed; ``active``: every site's announcement now on (by site)."""

    frame: AnnouncementFrame
    active: tuple[AnnouncementFrame, ...]

    @property
    def started(self) -> bool:
        return self.frame.active


@dataclass
class DeskAnnouncements:
    _active: dict[str, AnnouncementFrame] = field(default_factory=dict)

    @property
    def active(self) -> Mapping[str, AnnouncementFrame]:
        return self._active

    def receive(self, frame: AnnouncementFrame) -> AnnouncementEvent | None:
        before = self._active.get(frame.site)
        if frame.active:
            if before == frame:
                return None
            self._active[frame.site] = frame
        elif before is None:
            return None
        else:
            del self._active[frame.site]
        now = tuple(self._active[site] for site in sorted(self._active))
        return AnnouncementEvent(frame, now)


def refused_announcement(reason: str) -> tuple[str, str] | None:
    """(site, why) from central's error frame ``<why>: announce <site>``; None for others."""
    why, sep, rest = reason.partition(": announce ")
    if not sep or not rest or " " in rest:
        return None
    return rest, why
