"""A site's announcement (evacuate, lock down, all clear) as pure logic: requests and ``now``
in, actions out. No I/O, no clock, no ids of its own (the caller passes them in).

Why a core of its own: an announcement is not an alarm. It has no room, no responders and no
lifecycle beyond "on until all clear"; it belongs to a whole site (or one zone of its floor
plan) and must reach every screen and every edge of that site, a screen that connects later
included. So the state here is one current announcement per site, plus the history of every
change; the shell (``central.announcing``) stores each change, audits it, tells the screens
and edges, and hands it to the ARC hook.

Rules:

* ``evacuate`` and ``lockdown`` start an announcement, or replace the site's current one (an
  evacuation of one zone may become one of the whole site, a lockdown may become an
  evacuation). The same kind and zone again changes nothing (a reception button pressed twice).
* ``all_clear`` ends the current announcement; with none active it is refused
  (``nothing_to_clear``), so that the history only holds what happened.
* A site or zone the configuration does not know is refused (``unknown_site``,
  ``unknown_zone``). Who may announce is the shell's question (``central.auth.rules``, the
  device registry); this module only sees the decision's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from protocol import AnnouncementKind


class Origin(StrEnum):
    CONSOLE = "console"
    DESK = "desk"
    DEVICE = "device"  # an edge input configured to announce


@dataclass(frozen=True, slots=True)
class Announcement:
    """One change of a site's announcement, as stored and shown."""

    announcement_id: UUID
    site: str
    kind: AnnouncementKind
    zone: str | None
    by: str  # a user id, or "device:<device>"
    by_name: str
    origin: Origin
    at: datetime

    @property
    def active(self) -> bool:
        return self.kind is not AnnouncementKind.ALL_CLEAR


@dataclass(frozen=True, slots=True)
class Announced:
    """The site's announcement changed to ``now`` (``previous``: what it replaced or ended)."""

    now: Announcement
    previous: Announcement | None


@dataclass(frozen=True, slots=True)
class Unchanged:
    """The request asks for what is already announced: nothing to do."""

    current: Announcement


@dataclass(frozen=True, slots=True)
class Refused:
    site: str
    reason: str  # unknown_site, unknown_zone, nothing_to_clear


Outcome = Announced | Unchanged | Refused


@dataclass(frozen=True, slots=True)
class Request:
    """Someone (checked by the shell) asks for ``kind`` at ``site`` (``zone``: one zone)."""

    announcement_id: UUID  # the id the change gets if it is one
    site: str
    kind: AnnouncementKind
    zone: str | None
    by: str
    by_name: str
    origin: Origin


class Announcements:
    """Per site the current announcement, and the history (oldest first)."""

    def __init__(self, zones: Mapping[str, Iterable[str]]) -> None:
        self._zones = {site: frozenset(ids) for site, ids in zones.items()}
        self._current: dict[str, Announcement] = {}
        self._history: list[Announcement] = []

    @classmethod
    def restore(
        cls, zones: Mapping[str, Iterable[str]], stored: Iterable[Announcement]
    ) -> Announcements:
        """The state the stored changes (any order) lead to."""
        book = cls(zones)
        for entry in sorted(stored, key=lambda a: a.at):
            book._record(entry)
        return book

    def request(self, request: Request, now: datetime) -> Outcome:
        site, kind, zone = request.site, request.kind, request.zone
        if site not in self._zones:
            return Refused(site, "unknown_site")
        current = self._current.get(site)
        if kind is AnnouncementKind.ALL_CLEAR:
            if current is None:
                return Refused(site, "nothing_to_clear")
            zone = current.zone  # all clear ends what is announced, wherever it was
        elif zone is not None and zone not in self._zones[site]:
            return Refused(site, "unknown_zone")
        elif current is not None and (current.kind, current.zone) == (kind, zone):
            return Unchanged(current)
        entry = Announcement(
            announcement_id=request.announcement_id,
            site=site,
            kind=kind,
            zone=zone,
            by=request.by,
            by_name=request.by_name,
            origin=request.origin,
            at=now,
        )
        self._record(entry)
        return Announced(entry, current)

    def _record(self, entry: Announcement) -> None:
        self._history.append(entry)
        if entry.active:
            self._current[entry.site] = entry
        else:
            self._current.pop(entry.site, None)

    def current(self, site: str) -> Announcement | None:
        return self._current.get(site)

    def active(self) -> list[Announcement]:
        return sorted(self._current.values(), key=lambda a: a.site)

    def last(self, site: str) -> Announcement | None:
        """The site's latest change (an all clear included), or None if it never had one."""
        return next((a for a in reversed(self._history) if a.site == site), None)

    def history(self, site: str | None = None, limit: int = 50) -> list[Announcement]:
        """Newest first, at most ``limit``; one site's or every site's."""
        found = [a for a in reversed(self._history) if site is None or a.site == site]
        return found[:limit]
