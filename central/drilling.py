"""Drills, training and routines read, wired: the pure parts (central.core.drills,
central.core.routines_read) to the store, the audit trail and the boards.

What it tells the alarm path is one question, asked in the same loop turn as the alarm itself:
is a press from this device (or a desk in this room) *now* a drill (:meth:`Drilling.covering`)?
Central's answer goes on the alarm before its first broadcast and its first write, so every
screen, the record and the device's ack say DRILL from the start, and the escalation never
sends it to the alarm receiving centre. Nothing here waits, and nothing here can stop an
alarm: at worst a press is recorded as the real alarm it might be.
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
from central.store import Store
from central.store import accounts as account_rows
from central.store import drills as stored
from central.store.drills import DrillInfo
from protocol.screen import AlarmView

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
    ) -> None:
        self.settings = settings
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

    async def start(self) -> None:
        restored = await self.store.read(stored.open_modes)
        self.modes = DrillModes(restored)
        keys = [(site, "") for site in self.plans]
        keys += [(site, s.id) for site, plan in self.plans.items() for s in plan.scenarios]
        await self.store.submit(stored.plan_seen(keys, self.clock()))
        if restored:
            log.info("%d room(s) still in drill mode after the restart", len(restored))

    def tick(self, now: datetime) -> None:
        """Drill modes whose time ran out end: recorded, and the boards told."""
        for mode in self.modes.expired(now):
            self.store.submit(stored.mode_saved(mode))
            self.trail.record("central", "drill_mode_ended", mode.room, mode.site)
            log.info("drill mode in %s at %s ended", mode.room, mode.site)
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

    def covering(self, site: str, device: str, room: str | None, now: datetime) -> DrillMode | None:
        """The drill mode that makes a new alarm from ``device`` (in ``room``) a drill now."""
        return self.modes.covering(site, device, room, now)

    def expect(self, alarm_id: UUID, info: DrillInfo) -> None:
        """A console drill is about to be raised: its record, written with its alarm."""
        self._expected[alarm_id] = info

    def recorded(self, alarm: AlarmView, now: datetime) -> None:
        """A drill alarm's first write went to the store: its drill row goes too (once)."""
        info = self._expected.get(alarm.alarm_id)  # kept until its row is stored
        if info is None:
            mode = self.modes.covering(alarm.site, alarm.device, alarm.room, now)
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
        refused = self.modes.start(mode, now)
        if refused is not None:
            return refused
        await self.store.submit(stored.mode_saved(mode))
        until = mode.until.isoformat(timespec="seconds")
        self.trail.record(person.user_id, "drill_mode_started", room.name, f"{room.site} {until}")
        log.info("drill mode in %s at %s until %s by %s", room.name, room.site, until, person)
        self.changed(room.site)
        return mode

    async def end_mode(self, person: Person, mode_id: UUID) -> str | None:
        now = self.clock()
        mode = self.modes.get(mode_id)
        if mode is None or not person.covers(mode.site):
            return "unknown_mode"
        ended = self.modes.end(mode_id, person.user_id, now)
        if isinstance(ended, str):
            return ended
        await self.store.submit(stored.mode_saved(ended))
        self.trail.record(person.user_id, "drill_mode_ended", ended.room, ended.site)
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
        not disabled), by name: the people the training register and the readers list name."""
        found: dict[str, Person] = {p.user_id: p for p in self.settings.people()}
        for account in await self.store.read(account_rows.accounts):
            if account.disabled:
                found.pop(account.user_id, None)
            else:
                found[account.user_id] = account.person()
        sites = [s.id for s in self.settings.sites]
        return sorted(
            (p for p in found.values() if any(p.covers(s) and covers(s) for s in sites)),
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
        self.trail.record(person.user_id, "routines_confirmed", version)
        return None


def _report(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("drill record not stored: %s", future.exception())
