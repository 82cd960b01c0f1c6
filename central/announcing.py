"""The shell around the announcements core: evacuate, lock down, all clear for a site.

The core (``central.core.announcements``) decides; this module carries its decisions out, in
one place, so what a change reaches is visible: the store (one row per change, restored at
start; a failed write is retried until stored, :meth:`Announcing.tick`), the audit trail,
every screen of the site (an ``announcement`` frame with the site's routine; a screen that
connects later finds every active announcement of its sites in its ``snapshot``, and one that
is not there is over), every edge of the site (a retained ``announce`` message per device, so
one that reconnects gets the state from the broker), the console's board (its listeners) and
the ARC hook (:attr:`Announcing.on_announced`; central.service connects the ARC to it).

What people see follows central's truth after any fault: every MQTT link-up of central
(:meth:`Announcing.link_up`: a restart, a broker that restarted and lost its retained
messages) tells every device of every site its current state again, ``all_clear`` for a site
with nothing on (even one never announced: a record lost to a crash leaves no trace here, but
may have left buzzers sounding); each desk's snapshot says what is on at its sites.

Who may ask is checked here, before the core sees a request: a person by the rule table
(``central.auth.rules``, action ``announce``) and the sites they cover; a device by the
registry (``central.registry``: registered at the topic's site, and allowed that kind). A
refused request changes nothing and says why (log line, counter, audit row).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4, uuid5

from central.audit.trail import Trail
from central.auth.rules import Action, allowed
from central.config import CentralSettings, DeviceSettings
from central.core import Person
from central.core.announcements import (
    Announced,
    Announcement,
    Announcements,
    Origin,
    Outcome,
    Refused,
    Request,
)
from central.push.hub import Hub
from central.push.wire import Prepared
from central.registry import Registry
from central.routines import load_evacuation
from central.store import Store
from central.store import announcements as stored
from protocol import AnnouncementKind, AnnounceMessage, AnnounceRequestMessage
from protocol.screen import AnnouncementFrame, encode_frame

log = logging.getLogger("central.announcements")

DEVICE_PREFIX = "device:"
CENTRAL = "central"  # ``by`` of the all clear a site never announced at is told
#: Fixed for ever: the namespace of that all clear's id (one per site).
NOTHING_ANNOUNCED = UUID("3f6c2a91-8d4e-4b7a-9c15-e2d07b5a8f43")

#: ``on_announced(now, previous)``: the hook the ARC transmitter is connected to (the
#: announcement made, and the one it replaced or ended: "All clear" restores that one).
AnnouncedHook = Callable[[Announcement, Announcement | None], None]


def log_for_arc(now: Announcement, previous: Announcement | None) -> None:
    """The ARC hook until the service connects it: says what happened."""
    del previous  # "All clear" names what it ends once an ARC is connected
    log.info("ARC hook: %s at %s by %s (%s)", now.kind, now.site, now.by, now.at.isoformat())


class Announcing:
    def __init__(
        self,
        settings: CentralSettings,
        store: Store,
        trail: Trail,
        hub: Hub,
        registry: Registry,
        publish: Callable[[AnnounceMessage], None],
        rejected: Counter[str],
        changed: Callable[[str], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.zones = {s.id: {z.id: z.name for z in s.zones} for s in settings.sites}
        self.routines = load_evacuation(settings.routines.evacuation).for_screens()
        self.book = Announcements({site: zones for site, zones in self.zones.items()})
        self._store = store
        self._trail = trail
        self._hub = hub
        self._registry = registry
        self._publish = publish
        self._rejected = rejected
        self._changed = changed  # the console's board listeners, with the site
        self._clock = clock
        self.on_announced: AnnouncedHook = log_for_arc

    async def start(self) -> None:
        """The stored history back (the edges are told at the link-up: :meth:`link_up`)."""
        history = await self._store.read(stored.stored)
        self.book = Announcements.restore(self.zones, history)
        for entry in self.book.active():
            log.warning("restored: %s at %s since %s", entry.kind, entry.site, entry.at)

    def link_up(self) -> None:
        """Central's MQTT link is (back) up: every device of every site is told its current
        state again. The broker may have restarted and lost its retained messages, and one
        may hold a state central no longer has (its record lost): what sounds must be what
        central says, ``all_clear`` included."""
        for site in self.zones:
            self._tell_devices(self._latest(site))

    def tick(self, now: datetime) -> None:
        """A change whose write failed (a full disk) is written again when due, until stored."""
        for entry in self.book.due(now):
            log.warning("announcement %s at %s: writing it again", entry.kind, entry.site)
            self._write(entry, again=True)

    def _write(self, entry: Announcement, again: bool = False) -> None:
        def done(future: asyncio.Future[None]) -> None:
            failed = future.cancelled() or future.exception() is not None
            if not failed:
                self.book.stored(entry.announcement_id)
                if again:
                    log.warning("%s at %s stored at last", entry.kind, entry.site)
                return
            why = "cancelled" if future.cancelled() else future.exception()
            log.error("%s at %s not stored (%s): retried", entry.kind, entry.site, why)
            self.book.write_failed(entry.announcement_id, self._clock())

        try:
            future = self._store.submit(stored.recorded(entry))
        except RuntimeError as exc:  # the store is not open (yet, or any more)
            log.error("%s at %s not stored (%s): retried", entry.kind, entry.site, exc)
            self.book.write_failed(entry.announcement_id, self._clock())
            return
        future.add_done_callback(done)

    # --- requests ------------------------------------------------------------------------

    def from_person(
        self,
        person: Person,
        site: str,
        kind: AnnouncementKind,
        zone: str | None,
        origin: Origin,
    ) -> tuple[Announcement | None, str | None]:
        """A person's request (console, API or desk): (the site's announcement now, None) or
        (None, why it was refused)."""
        if not allowed(person, Action.ANNOUNCE):
            return self._refuse(person.user_id, site, kind, "forbidden")
        if not person.covers(site):
            return self._refuse(person.user_id, site, kind, "not_your_site")
        request = Request(uuid4(), site, kind, zone, person.user_id, person.name, origin)
        return self._carry_out(self.book.request(request, self._clock()))

    def from_device(self, message: AnnounceRequestMessage) -> None:
        """An edge input's ``announce/request``; the topic's site and device are the broker's
        (the payload's must equal them, protocol.decode checked)."""
        site, device, kind = message.site, message.device, message.kind
        by = f"{DEVICE_PREFIX}{device}"
        refusal = self._registry.announce_refusal(site, device, kind)
        if refusal is not None:
            self._rejected[f"announce_{refusal}"] += 1
            log.warning(
                "announce request %s (%s from input %s) of %s/%s refused: %s",
                message.request_id,
                kind,
                message.input,
                site,
                device,
                refusal,
            )
            self._trail.record(by, "announce_refused", site, f"{kind}: {refusal}")
            return
        known = self._registry.device(site, device)
        name = known.room if known is not None else device
        request = Request(uuid4(), site, kind, None, by, name, Origin.DEVICE)
        log.info("announce request %s from %s/%s: %s", message.request_id, site, device, kind)
        self._carry_out(self.book.request(request, self._clock()))

    def _refuse(
        self, actor: str, site: str, kind: AnnouncementKind, reason: str
    ) -> tuple[None, str]:
        log.warning("%s at %s by %s refused: %s", kind, site, actor, reason)
        self._rejected[f"announce_{reason}"] += 1
        self._trail.record(actor, "announce_refused", site, f"{kind}: {reason}")
        return None, reason

    def _carry_out(self, outcome: Outcome) -> tuple[Announcement | None, str | None]:
        if isinstance(outcome, Refused):
            log.info("announcement at %s refused: %s", outcome.site, outcome.reason)
            self._rejected[f"announce_{outcome.reason}"] += 1
            return None, outcome.reason
        if not isinstance(outcome, Announced):  # Unchanged: already so
            return outcome.current, None
        entry = outcome.now
        where = f"{entry.site}" + (f" zone {entry.zone}" if entry.zone else "")
        log.warning("%s at %s by %s (%s)", entry.kind, where, entry.by, entry.origin)
        self._write(entry)
        detail = f"{entry.kind}" + (f" zone {entry.zone}" if entry.zone else "")
        self._trail.record(entry.by, "announced", entry.site, f"{detail} ({entry.origin})")
        frame = self.frame(entry.site)
        self._hub.broadcast(entry.site, Prepared(encode_frame(frame)))
        self._tell_devices(entry)
        self._changed(entry.site)
        try:
            self.on_announced(entry, outcome.previous)
        except Exception:  # the ARC's trouble must never stop an evacuation reaching screens
            log.exception("the ARC hook failed for %s at %s", entry.kind, entry.site)
        return (entry if entry.active else None), None

    # --- what screens and edges are told -------------------------------------------------

    def frame(self, site: str) -> AnnouncementFrame:
        """The site's state as a screen shows it (``all_clear`` when nothing is on)."""
        last = self.book.last(site)
        if last is None:
            return AnnouncementFrame(site=site, kind=AnnouncementKind.ALL_CLEAR)
        return self._frame(last)

    def _frame(self, last: Announcement) -> AnnouncementFrame:
        site = last.site
        return AnnouncementFrame(
            site=site,
            kind=last.kind,
            zone=last.zone,
            zone_name=self.zones.get(site, {}).get(last.zone) if last.zone else None,
            by=last.by,
            by_name=last.by_name,
            at=last.at,
            routine=self.routines.get(last.kind),
        )

    def snapshot(self, person: Person) -> tuple[AnnouncementFrame, ...]:
        """For a screen's ``snapshot``: the active announcement of each site of ``person``
        (by site). A site not in it has nothing on: a desk ends any window it shows for it."""
        return tuple(
            self._frame(entry) for entry in self.book.active() if person.covers(entry.site)
        )

    def _latest(self, site: str) -> Announcement:
        """The site's latest change; for a site never announced at, an all clear by central
        (a fixed id per site, stamped now)."""
        last = self.book.last(site)
        if last is not None:
            return last
        return Announcement(
            announcement_id=uuid5(NOTHING_ANNOUNCED, site),
            site=site,
            kind=AnnouncementKind.ALL_CLEAR,
            zone=None,
            by=CENTRAL,
            by_name="Central",
            origin=Origin.CONSOLE,
            at=self._clock(),
        )

    def _tell_devices(self, entry: Announcement) -> None:
        for device in self._registry.devices_at(entry.site):
            kind = entry.kind if self._in_zone(device, entry) else AnnouncementKind.ALL_CLEAR
            self._publish(
                AnnounceMessage(
                    site=entry.site,
                    device=device.id,
                    announcement_id=entry.announcement_id,
                    kind=kind,
                    zone=entry.zone,
                    by=entry.by,
                    at=entry.at,
                )
            )

    def _in_zone(self, device: DeviceSettings, entry: Announcement) -> bool:
        """Whether ``device`` is covered: a site-wide announcement covers every device; a
        zone's covers the devices of its rooms, and any device not on the floor plan (better
        one buzzer too many than one too few)."""
        if entry.zone is None:
            return True
        site = self.settings.site(entry.site)
        rooms = [r for r in (site.rooms if site else ()) if device.id in r.devices]
        return not rooms or any(r.zone == entry.zone for r in rooms)

    def history(self, person: Person, limit: int = 50) -> list[Announcement]:
        """Newest first, of ``person``'s sites."""
        return [a for a in self.book.history(limit=10_000) if person.covers(a.site)][:limit]

    def active(self, person: Person) -> list[Announcement]:
        return [a for a in self.book.active() if person.covers(a.site)]
