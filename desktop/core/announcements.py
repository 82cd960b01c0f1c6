"""Evacuation and lockdown at the desk, without I/O: ``announcement`` frames in, what to show.

Every ``snapshot`` (each connection) carries the active announcement of each of the user's
sites, and the desk replaces its state with it: a site not in it has nothing on, so its window
ends (an all clear missed while disconnected, or an evacuation central has no record of after
a crash: the screen follows central's truth). After that each change comes as an
``announcement`` frame (``all_clear`` ends it). Only changes are events: a snapshot repeating
what is shown changes nothing on the screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from protocol import AnnouncementKind
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

    def snapshot(self, frames: Iterable[AnnouncementFrame]) -> tuple[AnnouncementEvent, ...]:
        """A connection's snapshot: its active announcements replace the state; one event per
        site that changed (ended: an ``all_clear`` frame of that site without ``by``/``at``)."""
        now = {f.site: f for f in frames if f.active}
        events = [
            self.receive(AnnouncementFrame(site=site, kind=AnnouncementKind.ALL_CLEAR))
            for site in sorted(set(self._active) - set(now))
        ]
        events += [self.receive(now[site]) for site in sorted(now)]
        return tuple(e for e in events if e is not None)

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
