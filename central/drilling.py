"""Drills, training and routines read, wired: the pure parts (central.core.drills,
central.core.routines_read) to the store, the audit trail and the boards.

What it tells the alarm path is one question, asked in the same loop turn as the alarm itself:
is a press from this device (or a desk in this room) *now* a drill (:meth:`Drilling.covering`)?
Central's answer goes on the alarm before its first broadcast and its first write, so every
screen, the record and the device's ack say DRILL from the start, and the escalation never
sends it to the alarm receiving centre. Nothing here waits, and nothing here can stop an
alarm: at worst a press is recorded as the real alarm it might be.

A drill mode is on disk before it is in force, and ends on disk before it is out of force (a
mode the store did not take is no drill mode: after a restart it would be gone, and presses
meanwhile would be drills on no record). When one ends, early or by itself, the shell is told
(:attr:`Drilling.on_ended`) and resolves the drills of the room still open, so that no later
press there counts on one.

Each desk is told whether its person has confirmed the routines they are shown now (in its
``hello``, and by a ``routines`` frame when they confirm in the console), so the desk asks them
until they have (STANDARD 1.1, 3.6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from central.audit.trail import Trail
from central.config import CentralSettings
from central.core import Person
from central.core.alarms import DESK_DEVICE
from central.core.drills import (
    DrillMode,
    DrillModes,
    Overdue,
    SitePlan,
    Someone,
    Standing,
    overdue,
    standing,
)
from central.core.routines_read import routines_version
from central.drillplan import check_drill_plan, site_rooms
from central.errors import StoreError
from central.people import everyone
from central.push.hub import Hub
from central.push.wire import Prepared
from central.store import Store
from central.store import drills as stored
from central.store.drills import DrillInfo
from protocol.screen import AlarmView, RoutinesStatus, encode_frame

log = logging.getLogger("central.drills")


@dataclass(frozen=True, slots=True)
class Room:
    """A room a drill can be held in: its name (as alarms say it) and its devices."""

    site: str
    id: str
    name: str
    devices: frozenset[str]


class Drilling:
    """Create with central's parts; ``await start()`` after the store is open."""

    def __init__(
        self,
        settings: CentralSettings,
        store: Store,
        trail: Trail,
        changed: Callable[[str], None],
        clock: Callable[[], datetime],
        hub: Hub | None = None,
    ) -> None:
        self.settings = settings
        self.hub = hub  # the desks, told whether their person has read the routines
        self.store = store
        self.trail = trail
        self.changed = changed  # the site's boards
        self.clock = clock
        self.plans: dict[str, SitePlan] = check_drill_plan(settings)
        self.modes = DrillModes()
        self._expected: dict[UUID, DrillInfo] = {}  # console drills not yet written
        self._files = tuple(
            (name, path.read_bytes())
            for name, path in (
                ("alarm_response", settings.routines.alarm_response),
                ("self_tests", settings.routines.self_tests),
                ("escalation", settings.routines.escalation),
                ("evacuation", settings.routines.evacuation),
                ("drills", settings.routines.drills),
            )
        )
        self._versions: dict[frozenset[str], str] = {}
        # Who confirmed which versions of the routines (user → versions): loaded at start and
        # kept as people confirm, so a desk connecting is told without a read of the store.
        self._read: dict[str, set[str]] = {}
        # One start or end at a time: each is checked, stored, then put in force.
        self._changing = asyncio.Lock()
        # Told of each mode that ended (early or by itself): the shell resolves its drills.
        self.on_ended: Callable[[DrillMode], None] = lambda _: None

    async def start(self) -> None:
        restored = await self.store.read(stored.open_modes)
        self.modes = DrillModes(restored)
        reads = await self.store.read(stored.reads)
        self._read = {user: set(versions) for user, versions in reads.items()}
        keys = [(site, "") for site in self.plans]
        keys += [(site, s.id) for site, plan in self.plans.items() for s in plan.scenarios]
        await self.store.submit(stored.plan_seen(keys, self.clock()))
        if restored:
            log.info("%d room(s) still in drill mode after the restart", len(restored))

    def tick(self, now: datetime) -> None:
        """Drill modes whose time ran out end: recorded, and the boards told."""
        for mode in self.modes.expired(now):  # out of force by the clock already
            self.store.submit(stored.mode_saved(mode)).add_done_callback(_report)
            self.trail.record("central", "drill_mode_ended", mode.room, mode.site)
            log.info("drill mode in %s at %s ended", mode.room, mode.site)
            self.on_ended(mode)
            self.changed(mode.site)

    # --- rooms ----------------------------------------------------------------------------

    def rooms(self, site: str) -> list[Room]:
        """The rooms of ``site`` a drill can be held in (floor plan and registry)."""
        plan = self.settings.site(site)
        plan_devices = {r.id: set(r.devices) for r in plan.rooms} if plan else {}
        found = []
        for room_id, name in site_rooms(self.settings, site).items():
            devices = set(plan_devices.get(room_id, ()))
            devices |= {d.id for d in self.settings.devices if d.site == site and d.room == name}
            found.append(Room(site, room_id, name, frozenset(devices)))
        return found

    def room(self, site: str, room_id: str) -> Room | None:
        return next((r for r in self.rooms(site) if r.id == room_id), None)

    # --- the alarm path -------------------------------------------------------------------

    def covering(
        self, site: str, device: str, room: str | None, now: datetime, raised_at: datetime
    ) -> DrillMode | None:
        """The drill mode that makes a press from ``device`` (in ``room``) a drill: made at
        ``raised_at`` by the device's clock and reaching central ``now``, both within it."""
        return self.modes.covering(site, device, room, now, raised_at)

    def covering_desk(
        self, user: str, site: str, room: str, now: datetime, raised_at: datetime
    ) -> DrillMode | None:
        """The drill mode that makes ``user``'s silent alarm from a desk in ``room`` a drill:
        only someone who rehearses there (named in the room, or its leader); anyone else's
        silent alarm from that room is real."""
        return self.modes.covering(site, DESK_DEVICE, room, now, raised_at, by=user)

    def expect(self, alarm_id: UUID, info: DrillInfo) -> None:
        """A console drill is about to be raised: its record, written with its alarm."""
        self._expected[alarm_id] = info

    def recorded(self, alarm: AlarmView, now: datetime) -> None:
        """A drill alarm's first write went to the store: its drill row goes too (once)."""
        info = self._expected.get(alarm.alarm_id)  # kept until its row is stored
        if info is None:
            by = alarm.raised_by if alarm.device == DESK_DEVICE else None
            mode = self.modes.covering(
                alarm.site, alarm.device, alarm.room, now, alarm.raised_at, by=by
            )
            info = DrillInfo(
                kind="mode",
                scenario=mode.scenario if mode else "",
                started_by=mode.started_by if mode else ("central", "central"),
                in_room=mode.in_room if mode else (),
                mode_id=mode.mode_id if mode else None,
            )
        future = self.store.submit(stored.drill_recorded(alarm, info, now))

        def done(written: asyncio.Future[None]) -> None:
            _report(written)
            if not written.cancelled() and written.exception() is None:
                self._expected.pop(alarm.alarm_id, None)

        future.add_done_callback(done)

    # --- what leaders do ------------------------------------------------------------------

    async def start_mode(
        self,
        person: Person,
        room: Room,
        minutes: float,
        scenario: str,
        in_room: Iterable[Someone] = (),
    ) -> DrillMode | str:
        """``room`` in drill mode for ``minutes``; the mode, or why not (nothing changed)."""
        now = self.clock()
        if not person.covers(room.site):
            return "not_your_site"
        plan = self.plans.get(room.site)
        if scenario and (plan is None or plan.scenario(scenario) is None):
            return "unknown_scenario"
        mode = DrillMode(
            mode_id=uuid4(),
            site=room.site,
            room=room.name,
            devices=room.devices,
            scenario=scenario,
            started_by=(person.user_id, person.name),
            started_at=now,
            until=now + timedelta(minutes=minutes),
            in_room=tuple(in_room),
        )
        async with self._changing:
            refused = self.modes.refusal(mode, now)
            if refused is not None:
                return refused
            try:  # on disk first: a mode the store did not take is no drill mode
                await self.store.submit(stored.mode_saved(mode))
            except StoreError as exc:
                log.error(
                    "drill mode in %s at %s not stored (%s): not started", room.name, room.site, exc
                )
                return "not_stored"
            refused = self.modes.start(mode, now)  # checked above, under the same lock
            if refused is not None:  # cannot happen; never a mode in force without its row
                raise RuntimeError(f"drill mode {mode.mode_id} refused after its check")
        until = mode.until.isoformat(timespec="seconds")
        self.trail.record(person.user_id, "drill_mode_started", room.name, f"{room.site} {until}")
        log.info("drill mode in %s at %s until %s by %s", room.name, room.site, until, person)
        self.changed(room.site)
        return mode

    async def end_mode(self, person: Person, mode_id: UUID) -> str | None:
        async with self._changing:
            now = self.clock()
            mode = self.modes.get(mode_id)
            if mode is None or not person.covers(mode.site):
                return "unknown_mode"
            ended = self.modes.ending(mode_id, person.user_id, now)
            if isinstance(ended, str):
                return ended
            try:  # ended on disk first: a restart must not bring it back
                await self.store.submit(stored.mode_saved(ended))
            except StoreError as exc:
                log.error(
                    "the end of drill mode in %s at %s not stored (%s): it goes on",
                    ended.room,
                    ended.site,
                    exc,
                )
                return "not_stored"
            if isinstance(self.modes.end(mode_id, person.user_id, now), str):
                return None  # ran out meanwhile: :meth:`tick` ended it and told the shell
        self.trail.record(person.user_id, "drill_mode_ended", ended.room, ended.site)
        log.info("drill mode in %s at %s ended by %s", ended.room, ended.site, person.user_id)
        self.on_ended(ended)
        self.changed(ended.site)
        return None

    async def evaluate(self, person: Person, alarm_id: UUID, note: str) -> str | None:
        """The leader's evaluation note on a drill of one of their sites; or why not."""
        site = await self.store.read(lambda db: stored.drill_site(db, str(alarm_id)))
        if site is None or not person.covers(site):
            return "unknown_drill"
        now = self.clock()
        await self.store.submit(
            stored.evaluated(alarm_id, note, (person.user_id, person.name), now)
        )
        self.trail.record(person.user_id, "drill_evaluated", str(alarm_id), site)
        return None

    # --- the plan -------------------------------------------------------------------------

    async def overdue(self, covers: Callable[[str], bool], now: datetime) -> list[Overdue]:
        held = await self.store.read(stored.held)
        seen = await self.store.read(stored.first_seen)
        plans = [p for site, p in self.plans.items() if covers(site)]
        return overdue(plans, held, now, seen)

    async def standings(self, covers: Callable[[str], bool], now: datetime) -> list[Standing]:
        held = await self.store.read(stored.held)
        seen = await self.store.read(stored.first_seen)
        return [
            standing(plan, held, now, seen.get((site, ""), now))
            for site, plan in self.plans.items()
            if covers(site)
        ]

    # --- people and the routines they read ------------------------------------------------

    async def people(self, covers: Callable[[str], bool]) -> list[Person]:
        """Everyone of the sites ``covers`` accepts (central's users and the accounts that are
        not disabled; one rule with the reports' e-mail: central.people), by name: the people
        the training register and the readers list name."""
        found = await everyone(self.settings, self.store)
        sites = [s.id for s in self.settings.sites]
        return sorted(
            (p for p in found if any(p.covers(s) and covers(s) for s in sites)),
            key=lambda p: (p.name, p.user_id),
        )

    def version(self, person: Person) -> str:
        """The version of the routines and measures ``person`` is shown: the routine files and
        the rooms and measures of their own sites (central.core.routines_read)."""
        sites = frozenset(s.id for s in self.settings.sites if person.covers(s.id))
        found = self._versions.get(sites)
        if found is None:
            shown: list[Any] = []
            for site in self.settings.sites:
                if site.id in sites:
                    rooms = [[r.id, r.name, list(r.measures), list(r.devices)] for r in site.rooms]
                    shown.append([site.id, site.name, rooms])
            found = self._versions[sites] = routines_version(self._files, shown)
        return found

    async def confirm_read(self, person: Person, version: str) -> str | None:
        """``person`` read the routines: refused (``routines_changed``) if ``version`` is not
        the one they are shown now (they read an older page)."""
        if version != self.version(person):
            return "routines_changed"
        now = self.clock()
        await self.store.submit(stored.routines_read((person.user_id, person.name), version, now))
        self._read.setdefault(person.user_id, set()).add(version)
        self.trail.record(person.user_id, "routines_confirmed", version)
        if self.hub is not None:  # the person's open desks drop their ask
            for screen in self.hub.all_screens():
                if screen.person.user_id == person.user_id:
                    frame = encode_frame(self.routines_status(screen.person))
                    self.hub.send(screen, Prepared(frame))
        return None

    def routines_status(self, person: Person) -> RoutinesStatus:
        """Whether ``person`` has confirmed the routines they are shown now: for their desk's
        ``hello`` when it connects (the routine files are read once, at start: a changed
        routine is a restart, which every desk connects to again), and pushed when they
        confirm."""
        version = self.version(person)
        confirmed = self._read.get(person.user_id, set())
        read = version in confirmed
        changed = not read and bool(confirmed)  # they had confirmed an earlier version
        return RoutinesStatus(version=version, read=read, changed=changed)


def _report(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("drill record not stored: %s", future.exception())
