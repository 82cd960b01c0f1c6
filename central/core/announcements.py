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
* ``all_clear`` ends the current announcement. With none active it is accepted all the same,
  recorded (``previous`` None) and told to every screen and edge of the site: an evacuation
  that reached the buzzers and the broker's retained messages but not the record (central
  killed before the commit) must still be endable, and what people see out there must follow
  central's truth. It is what someone asked for, so the history holds it too.
* A site or zone the configuration does not know is refused (``unknown_site``,
  ``unknown_zone``). Who may announce is the shell's question (``central.auth.rules``, the
  device registry); this module only sees the decision's result.

Nothing is lost to a failed write (a full disk): each change is stored by the shell, and one
whose write failed is offered again by :meth:`Announcements.due` after a backoff (0.5 s,
doubling up to 5 s, as the alarms' writes: ``central.core.alarms``) until it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from central.core.alarms import RETRY_FIRST, RETRY_MAX
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
    reason: str  # unknown_site, unknown_zone


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


@dataclass(slots=True)
class _Unstored:
    """A change handed to the store and not yet reported stored."""

    entry: Announcement
    in_flight: bool = True  # a write of it is with the store now
    retry_at: datetime | None = None  # when to offer it again (its last write failed)
    retry_delay: timedelta = RETRY_FIRST


class Announcements:
    """Per site the current announcement, and the history (oldest first)."""

    def __init__(self, zones: Mapping[str, Iterable[str]]) -> None:
        self._zones = {site: frozenset(ids) for site, ids in zones.items()}
        self._current: dict[str, Announcement] = {}
        self._history: list[Announcement] = []
        self._unstored: dict[UUID, _Unstored] = {}  # changes to write, until stored

    @classmethod
    def restore(
        cls, zones: Mapping[str, Iterable[str]], stored: Iterable[Announcement]
    ) -> Announcements:
        """The state the stored changes (any order) lead to."""
        book = cls(zones)
        for entry in sorted(stored, key=lambda a: a.at):
            book._record(entry)
        return book

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(self._zones)

    def request(self, request: Request, now: datetime) -> Outcome:
        site, kind, zone = request.site, request.kind, request.zone
        if site not in self._zones:
            return Refused(site, "unknown_site")
        current = self._current.get(site)
        if kind is AnnouncementKind.ALL_CLEAR:
            # It ends what is announced, wherever it was; with nothing on, the whole site.
            zone = current.zone if current is not None else None
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
        self._unstored[entry.announcement_id] = _Unstored(entry)  # the shell writes it now
        return Announced(entry, current)

    # --- the store's reports -------------------------------------------------------------

    def stored(self, announcement_id: UUID) -> None:
        """The store committed the change: nothing more to do for it."""
        self._unstored.pop(announcement_id, None)

    def write_failed(self, announcement_id: UUID, now: datetime) -> None:
        """The store could not commit the change: :meth:`due` offers it again after a backoff
        (0.5 s, doubling up to 5 s), until it is stored."""
        unstored = self._unstored.get(announcement_id)
        if unstored is None:
            return
        unstored.in_flight = False
        unstored.retry_at = now + unstored.retry_delay
        unstored.retry_delay = min(unstored.retry_delay * 2, RETRY_MAX)

    def due(self, now: datetime) -> list[Announcement]:
        """The changes to write again at ``now`` (oldest first); each is then in flight until
        the store reports it (:meth:`stored` or :meth:`write_failed`)."""
        found = []
        for unstored in self._unstored.values():
            if unstored.in_flight or (unstored.retry_at is not None and unstored.retry_at > now):
                continue
            unstored.in_flight = True
            unstored.retry_at = None
            found.append(unstored.entry)
        return found

    @property
    def unstored(self) -> int:
        """How many changes are not stored yet (being written, or waiting for a retry)."""
        return len(self._unstored)

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
