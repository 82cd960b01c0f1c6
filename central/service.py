"""Central's composition: the pure alarm book wired to the store, the hub and the MQTT link.

Everything here runs on the event loop. The book decides; this module carries out its
actions: broadcasts go out at once, writes go to the store's writer thread, and when the store
reports a commit the book is told, which is when acks to the edge become due.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from sqlite_utils import Database

from central.announcing import Announcing
from central.arc.reporting import ArcReporting
from central.audit.trail import Trail
from central.auth.rules import socket_refusal
from central.config import OPEN_REGISTRY_NOTICE, CentralSettings, SiteSettings
from central.core import (
    DEFAULT_RETENTION,
    AckEdge,
    Action,
    AlarmBook,
    Broadcast,
    Directory,
    EventKind,
    Notice,
    Persist,
    Person,
    Refusal,
)
from central.core.alarms import reaches
from central.core.announcements import Origin
from central.core.drills import CONSOLE_INPUT, DrillMode
from central.core.flood import (
    DESK_BURST,
    DESK_RATE_PER_S,
    FloodAction,
    FloodGuard,
)
from central.core.floodcards import FloodCards, Source, flood_name
from central.core.rounds import TestRound
from central.core.strangers import FaultChange, UnknownDevices, describe
from central.core.supervision import (
    DeviceRecord,
    Fault,
    Supervisor,
)
from central.drilling import Drilling
from central.escalation import load_escalation
from central.escalator import Escalator, first_raised
from central.link import MqttLink
from central.metrics import Metrics
from central.push.hub import Hub, Screen
from central.push.liveness import Pulse
from central.push.wire import Prepared
from central.registry import Registry, flood_faults
from central.reports import Reports
from central.routines import load_alarm_response, load_self_tests
from central.selftests import SelfTesting
from central.standby import Standby
from central.store import Store
from central.store import floods as stored_floods
from central.store.backup import RunningLock
from central.store.drills import DrillInfo
from central.supervision import Watch
from central.visiting import Visiting
from protocol import (
    AlarmLevel,
    AlarmMessage,
    AlarmSource,
    HeartbeatMessage,
    Message,
    ProtocolError,
    StatusMessage,
)
from protocol.mobile import PhoneRaise
from protocol.screen import (
    AlarmUpdate,
    AlarmView,
    AnnounceRequest,
    Command,
    CommandKind,
    ErrorFrame,
    Hello,
    Position,
    RaiseRequest,
    RoundFrame,
    Snapshot,
    StandbyAnswer,
    decode_command,
    encode_frame,
)

log = logging.getLogger("central.alarms")
T = TypeVar("T")

_QUIET_EVENTS = (EventKind.DELIVERED, EventKind.SHOWN)  # one per screen: too many for INFO
TICK_S = 0.5  # how often time is looked at: heartbeats missed, deadlines, schedules
#: The ticker's steps, in the order of a pass (the label of trygg_tick_failures_total).
TICK_STEPS = (
    *("liveness", "due_writes", "announcing", "visiting", "standby", "drilling", "reports"),
    *("escalation", "supervision", "floods", "strangers", "desk_floods", "arc", "selftests"),
)
# A step that fails every pass: its traceback once a minute, not twice a second.
TICK_LOG_EVERY_S = 60.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def round_frame(found: TestRound) -> RoundFrame:
    return RoundFrame(
        site=found.site,
        round_id=found.round_id,
        tester=found.tester,
        open=found.open,
        expires_at=found.expires_at,
        expired=found.expired,
    )


class Central:
    """Create, ``await start()``, and ``await stop()``; the app's lifespan does this."""

    def __init__(
        self,
        settings: CentralSettings,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        # /metrics (central.metrics): counts what is committed; the app reads the rest live.
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.directory = Directory(settings.people())
        self.site_names = {s.id: s.name for s in settings.sites}
        self.rejected: Counter[str] = Counter()
        self.routines = load_alarm_response(settings.routines.alarm_response).for_screens()
        self.book = AlarmBook(site_names=self.site_names)
        # The alarm receiving centre of each site that has one (SIA DC-09, central.arc): told
        # of an alarm by an escalation stage, of its resolution, of evacuations and of device
        # trouble (central.arc.reports says which); its link state is a fault when down.
        self.arc = ArcReporting(settings)
        # Who else is told when nobody answers (routines/escalation.toml); a stage naming the
        # ARC is only taken at a site that has one, and told to it once stored.
        self.escalator = Escalator(
            load_escalation(settings.routines.escalation),
            {s.id: s.neighbours for s in settings.sites},
            self.arc.sites,
        )
        self.hub = Hub()
        # Pings every screen; one that stops answering is closed and no longer counts.
        self.pulse = Pulse(
            self.hub,
            lambda screen: self.watch.screens_changed(self._screen_sites(screen), self.clock()),
        )
        self.store = Store(settings.store.path, observe_commit=self.metrics.store_commit.observe)
        self.trail = Trail(self.store, clock)  # the audit trail (central.audit)
        self.link = MqttLink(
            settings.mqtt,
            self.on_alarm,
            self.rejected,
            clock,
            on_device=self.on_device,
            # Central's own broker link: while it is down no device is blamed (one broker fault).
            on_link=self._link_changed,
            on_announce=lambda message: self.announcing.from_device(message),
        )
        self.registry = Registry(settings.devices, trust_all=settings.registry.open)
        # Evacuate / lock down / all clear per site (central.announcing), told to the ARC too.
        self.announcing = Announcing(
            settings,
            self.store,
            self.trail,
            self.hub,
            self.registry,
            lambda message: self.link.publish_announce(message),
            self.rejected,
            lambda site: self._tell_listeners(site),
            clock,
        )
        self.announcing.on_announced = self.arc.announced
        # The lone-work visit timer (central.visiting): runs here, never only in the phone.
        self.visiting = Visiting(
            settings,
            self.store,
            self.hub,
            self.raise_from_phone,
            self.phone_position,
            self.trail.record,
            clock,
        )
        # Alarms from unregistered devices: one fault per (site, device), kept up to date.
        self.strangers = UnknownDevices()
        self.floods = FloodGuard()
        # A person's silent alarms from desks: per (site, user), tighter than a device's.
        self.desk_floods = FloodGuard(rate_per_s=DESK_RATE_PER_S, burst=DESK_BURST)
        # A flooding source's active alarms: one card on every screen, in snapshots and on the
        # board (room, highest level, count); stored, so that a restart keeps the one card.
        self.flood_cards = FloodCards()
        self.test_screens = {s.id: s.test_screen for s in settings.sites if s.test_screen}
        self.watch = Watch(
            Supervisor({s.id: s.hours() for s in settings.sites}, clock()),
            self.hub,
            self.store,
            lambda screen, site: self.test_screens.get(site) == screen.person.user_id,
        )
        self.testing = SelfTesting(
            settings,
            load_self_tests(settings.routines.self_tests),
            self.store,
            lambda: self.watch.supervisor,
            self.link.publish_run,
            self.close_test,
            clock,
        )
        self._close_when_stored: dict[UUID, str] = {}  # round ticks: central ends them
        # Standby for risky meetings (2.2): who stands by where, asked on their desks; an
        # alarm from such a meeting names them and reaches them first (central.standby).
        self.standby = Standby(
            settings, self.registry, self.store, self.hub, self.trail, self._tell_listeners
        )
        # Drills (4.1, 4.2): rooms in drill mode make a real press there a drill (central
        # decides, never the device); the plan, the drill log, training, routines read.
        self.drilling = Drilling(
            settings, self.store, self.trail, self._tell_listeners, clock, self.hub
        )
        self.drilling.on_ended = self._drill_mode_ended  # its drills still open end with it
        # Incident reports (2.4): a real alarm's raiser is asked to file one once it is
        # resolved; the site's leader and safety representative are told (central.reports).
        self.reports = Reports(
            settings, self.store, self.hub, self.trail, self.standby, clock, self.site_names
        )
        # Every screen of a site is told a test round is open there, and when it ends.
        self.testing.rounds.listeners.add(self._round_changed)
        # Called with the site whenever one of its alarms changes (the console's live board).
        self.alarm_listeners: set[Callable[[str, AlarmView | None], None]] = set()
        self._link_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        # Steps of the ticker that raised, by step (logged, and on /metrics); the watchdog's
        # beat for each full pass (central.watchdog: a hung pass stops the feed).
        self.tick_failures: Counter[str] = Counter(dict.fromkeys(TICK_STEPS, 0))
        self._tick_logged: dict[str, float] = {}
        self._pass_done: Callable[[], None] = lambda: None
        # Held while central runs: `trygg-central restore` refuses then (central.store.backup).
        self._running = RunningLock(settings.store.path)

    async def start(self) -> None:
        await self.hub.check_fanout()  # warns at start-up if screens would not get the direct path
        self._running.hold_running()  # refused while a restore replaces the databases
        await self.store.open()
        stored = await self.store.restorable(self.clock() - DEFAULT_RETENTION)
        self.book = AlarmBook.restore(stored, site_names=self.site_names)
        active = len(self.book.active())
        log.info("restored %d alarms from %s (%d active)", len(stored), self.store.path, active)
        # Escalation goes on from the stages on record: none is taken twice across a restart.
        raised = await self.store.read(first_raised(a.alarm_id for a in self.book.active()))
        self.escalator.restore(self.book.active(), raised)
        self.metrics.watch(self)  # /metrics reads the live parts from now on
        await self._restore_floods()
        await self.standby.start()
        await self.drilling.start()  # rooms still in drill mode
        await self.reports.start(self.book.kept())  # asks, the e-mail outbox, retention
        await self.announcing.start()
        await self.visiting.start()
        if self.registry.open:
            log.warning("%s", OPEN_REGISTRY_NOTICE)
        # What no ARC confirmed before a stop is sent, and what the record says went there is
        # offered again (the ARC's outbox sends nothing twice).
        latest = (self.announcing.book.history(site, limit=2) for site in self.site_names)
        told = [(pair[0], pair[1] if len(pair) > 1 else None) for pair in latest if pair]
        await self.arc.start(self.book.kept(), told, self.clock())
        self.watch.fault_listeners.append(self.arc.fault_changed)
        await self.testing.start()
        self.watch.screens_changed([s.id for s in self.settings.sites], self.clock())
        self._link_task = asyncio.create_task(self.link.run(), name="mqtt-link")
        self._ticker = asyncio.create_task(self._tick_forever(), name="central-ticker")

    async def _restore_floods(self) -> None:
        """The merged flood cards of before the restart, and their flood faults again."""
        merged = await self.store.read(stored_floods.merged)
        for source in self.flood_cards.restore(merged, self.book.active()):
            self._store_flood(stored_floods.ended(source))  # resolved meanwhile
        now = self.clock()
        for site, name, desk in self.flood_cards.merging():
            guard = self.desk_floods if desk else self.floods
            self._flood_faults(guard.resume(site, name, now), now, desk)
            log.info("flood card of %s at %s restored", name, site)

    async def stop(self) -> None:
        for task in (self._ticker, self._link_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.arc.stop()
        await self.reports.stop()
        await self.store.close()
        self._running.release()

    def beat_each_pass(self, beat: Callable[[], None]) -> None:
        """The watchdog's beat for the ticker (central.watchdog), called after each full pass."""
        self._pass_done = beat

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await self.tick_once(self.clock())
            self._pass_done()

    async def tick_once(self, now: datetime) -> None:
        """One pass over what time drives. Each step on its own: one that raises (a bug) is
        logged and counted, and the steps after it still run, so that no other job's bug can
        stop escalation or supervision for good. One that hangs holds up the pass: the
        watchdog names the ticker then (it beats only after a full pass)."""
        step = self._tick_step
        step("liveness", self.pulse.tick)  # first: screens' liveness never waits behind others
        # Failed writes (a full disk) are retried until stored; acks follow commits.
        step("due_writes", lambda: self._carry_out(self.book.due(now)))
        step("announcing", lambda: self.announcing.tick(now))
        step("visiting", lambda: self.visiting.tick(now))
        step("standby", lambda: self.standby.tick(now))  # reminders before meetings with standby
        step("drilling", lambda: self.drilling.tick(now))  # drill modes whose time ran out end
        step("reports", lambda: self.reports.tick(now))  # the reports' retention job, when due
        # Nobody answered: widen. A flood escalates once, by its leader (floodcards).
        step(
            "escalation",
            lambda: self._carry_out(self.escalator.tick(self.book, now, self.flood_cards.held())),
        )
        step("supervision", lambda: self.watch.tick(now))
        step("floods", lambda: self._flood_faults(self.floods.tick(now), now))
        step("strangers", lambda: self._stranger_faults(self.strangers.tick(now, self._registered)))
        step("desk_floods", lambda: self._flood_faults(self.desk_floods.tick(now), now, desk=True))
        step("arc", lambda: self.arc.tick(now, self.watch.supervisor, self.watch.carry_out))
        try:
            await self.testing.tick(now)
        except Exception:
            self._tick_failed("selftests")

    def _tick_step(self, name: str, run: Callable[[], object]) -> None:
        try:
            run()
        except Exception:  # a bug in one step must not stop the others
            self._tick_failed(name)

    def _tick_failed(self, name: str) -> None:
        """Counted each time; logged with its traceback at most once a minute per step."""
        self.tick_failures[name] += 1
        now = time.monotonic()
        last = self._tick_logged.get(name)
        if last is None or now - last >= TICK_LOG_EVERY_S:
            self._tick_logged[name] = now
            log.exception(
                "tick step %s failed (%d times since start); the other steps go on",
                name,
                self.tick_failures[name],
            )

    # --- inputs --------------------------------------------------------------------------

    def on_alarm(self, message: AlarmMessage) -> None:
        now = self.clock()
        placed = self.registry.place(message)  # room and floor from the registry
        if placed is None:  # unknown (site, device): a fault for facility managers, not lost
            where = f"{message.site}/{message.device}"
            log.warning("alarm from %s, not in the registry: %s", where, describe(message, now))
            self._stranger_faults(self.strangers.alarm(message, now))
            self.rejected["unregistered_device"] += 1
            return
        # Central decides what is a drill, never the device: the room in drill mode both when
        # the press was made (the device's clock) and now (central's); in doubt, real.
        drill = self.drilling.covering(
            placed.site, placed.device, placed.room, now, placed.raised_at
        )
        message = placed.model_copy(update={"drill": drill is not None})
        show = True
        test_for: frozenset[str] | None = None
        # Drills have a flood budget of their own: contained like any flood, never using up
        # the room's real budget (central.core.floodcards, DRILL_MARK).
        flooding = flood_name(message.device, message.drill)
        if self.book.get(message.alarm_id) is None:
            verdict = self.floods.alarm(message.site, flooding, now)
            show = verdict.show
            self._flood_faults(verdict.actions, now)
            test_for, close_when_stored = self.testing.test_audience(message, now)
            if close_when_stored:
                self._close_when_stored[message.alarm_id] = "button tested in a test round"
            if test_for is not None:
                log.info("alarm %s is a test alarm for %s", message.alarm_id, sorted(test_for))
        if not show:  # a flood: its alarms are merged into one card (this one too)
            self._merge((message.site, flooding, False), now)
        actions = self.standby.route(self.book, self.book.alarm(message, now, test_for), now)
        if not any(isinstance(a, Persist) and a.insert for a in actions):
            log.info(
                "alarm %s resent by %s/%s (presses=%d)",
                message.alarm_id,
                message.site,
                message.device,
                message.presses,
            )
        for refusal in self._carry_out(actions):
            self.rejected[refusal.reason] += 1

    def _merge(self, source: Source, now: datetime) -> None:
        """``source`` floods: its active alarms become one card on every screen (stored)."""
        if source in self.flood_cards.merging():
            return
        active = [a for a in self.book.active() if a.site == source[0]]
        for action in self.flood_cards.start(source, now, active):
            self._broadcast_frame(action)
        self._store_flood(stored_floods.started(source, now))

    def _store_flood(self, write: Callable[[Any], None]) -> None:
        def done(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error("flood card not stored: %s", future.exception())

        self.store.submit(write).add_done_callback(done)

    def _registered(self, site: str, device: str) -> bool:
        return self.registry.open or self.registry.device(site, device) is not None

    def _stranger_faults(self, changes: list[FaultChange]) -> None:
        supervisor = self.watch.supervisor
        for fault, cleared in changes:
            if cleared is None:
                self.watch.carry_out(supervisor.report(fault))
            else:
                self.watch.carry_out(supervisor.withdraw(fault, cleared))

    def _flood_faults(
        self, actions: Iterable[FloodAction], now: datetime, desk: bool = False
    ) -> None:
        supervisor = self.watch.supervisor
        for fault, cleared in flood_faults(actions, desk):
            if cleared is None:
                self.watch.carry_out(supervisor.report(fault))
            else:
                self.watch.carry_out(supervisor.withdraw(fault, now))
            self._tell_listeners(fault.site)  # the board's flood card

    def _desk_flood(self, person: Person, request: RaiseRequest, now: datetime) -> bool:
        """Whether a desk's new silent alarm floods (per-user rate limit): then the person's
        silent alarms are merged into one card, shown to every screen of the site."""
        if self.book.get(request.alarm_id) is not None or not person.covers(request.site):
            return False  # a resend, or refused by the book anyway
        if request.test:  # shown to its raiser only: nobody else's view to protect
            return False
        name = flood_name(person.user_id, request.drill)  # drills: a budget of their own
        verdict = self.desk_floods.alarm(request.site, name, now)
        self._flood_faults(verdict.actions, now, desk=True)
        return not verdict.show

    def on_device(self, message: Message) -> None:
        """A status, heartbeat, event or self-test result."""
        now = self.clock()
        self.watch.heard(message, now)
        self.testing.device_message(message, now)
        self._sync(message, now)

    def _sync(self, message: Message, now: datetime) -> None:
        """State sync: a device's held alarms against the record; differences are acked."""
        if isinstance(message, HeartbeatMessage):
            health = message.health
        elif isinstance(message, StatusMessage) and message.state == "online":
            if message.health is None:
                return  # a device that reports no health: nothing to compare with
            health = message.health
        else:
            return
        site, device = message.site, message.device

        def drill(pressed_on: AlarmView) -> bool:  # a press counted on ``pressed_on``
            return self.drilling.covering(site, device, None, now, pressed_on.raised_at) is not None

        actions = self.book.sync(site, device, health.alarms, now, drill)
        for refusal in self._carry_out(actions):
            self.rejected[refusal.reason] += 1

    def close_test(self, alarm_id: UUID, detail: str) -> None:
        """Central ends a test alarm (the test screen has it, or a round ticked it)."""
        self._carry_out(self.book.close_test(alarm_id, self.clock(), detail))

    def _drill_mode_ended(self, mode: DrillMode) -> None:
        """A room's drill mode ended (early or by itself): its drills still open are resolved
        by central ("drill mode ended"), so that a later press on their button is a new, real
        alarm instead of one more press on a drill (a press after a resolution is always a
        new alarm: docs/protocol.md, "State sync")."""
        now = self.clock()
        for view in self.book.active():
            if mode.holds(view):
                log.info("drill %s resolved: drill mode in %s ended", view.alarm_id, mode.room)
                self._carry_out(self.book.end_drill(view.alarm_id, now))

    def _screen_sites(self, screen: Screen) -> list[str]:
        return [s.id for s in self.settings.sites if screen.person.covers(s.id)]

    def screen_joined(self, screen: Screen) -> None:
        person = screen.person
        sites = tuple(sorted(person.sites))
        hello = Hello(
            user=person.user_id,
            name=person.name,
            sites=sites,
            site_names={s: n for s, n in self.site_names.items() if person.covers(s)},
            routines=self.routines,
            # Has this person confirmed the routines as they are now? The desk asks if not.
            routines_read=self.drilling.routines_status(person),
        )
        # A flood's alarms are one card here too (with its count): a screen that reconnects
        # during a flood gets a bounded snapshot that still shows every room.
        shown = self.flood_cards.listed(self.book.active_for(person))
        # Every active evacuation / lockdown of the person's sites: one not in it is over.
        snapshot = Snapshot(alarms=tuple(shown), announcements=self.announcing.snapshot(person))
        self.hub.join(screen, Prepared(encode_frame(hello)), Prepared(encode_frame(snapshot)))
        for open_round in self.testing.rounds.all():
            if open_round.open and person.covers(open_round.site):
                self.hub.send(screen, Prepared(encode_frame(round_frame(open_round))))
        log.info("screen of %s connected (%d screens)", person.user_id, len(self.hub))
        self.watch.greet(screen)
        self.standby.joined(screen, self.clock())  # open standby requests to this person
        self.reports.joined(screen)  # incident reports this person is asked to file
        self.watch.screens_changed(self._screen_sites(screen), self.clock())
        self.pulse.joined(screen)  # pinged from now on; one that stops answering is closed

    def _round_changed(self, changed: TestRound) -> None:
        self.hub.broadcast(changed.site, Prepared(encode_frame(round_frame(changed))))
        if changed.expired:  # started and closed by a person are recorded by the API
            self.trail.record("central", "round_expired", str(changed.round_id), changed.site)
        self._tell_listeners(changed.site)  # the console's board shows it too

    def screen_left(self, screen: Screen) -> None:
        self.pulse.left(screen)
        self.hub.leave(screen)
        log.info("screen of %s disconnected (%d screens)", screen.person.user_id, len(self.hub))
        self.watch.screens_changed(self._screen_sites(screen), self.clock())

    def screen_said(self, screen: Screen, text: str | bytes) -> None:
        """One frame from a screen: a pong (liveness only), a command, or an error frame back
        saying why not."""
        if self.pulse.answered(screen, text):
            return
        try:
            command = decode_command(text)
        except ProtocolError as exc:
            self.rejected[f"screen_{exc.reason}"] += 1
            log.warning("screen of %s sent a bad frame: %s", screen.person.user_id, exc.reason)
            self.hub.send(screen, Prepared(encode_frame(ErrorFrame(reason=exc.reason))))
            return
        if isinstance(command, AnnounceRequest):  # the desk's menu: evacuate, lock down, …
            self._screen_announce(screen, command)
            return
        if isinstance(command, StandbyAnswer):  # "I stand by" / "I can't" for a meeting
            self._screen_standby(screen, command)
            return
        # The same rule table as the console's routes (central.auth.rules): refused, nothing
        # changes; the desk gets the reason and the audit trail a row.
        refused = socket_refusal(screen.person, str(command.type))
        if refused is not None:
            self.rejected[f"screen_{refused}"] += 1
            user = screen.person.user_id
            log.warning("screen of %s may not send %s: refused", user, command.type)
            self.trail.record(user, "socket_refused", str(command.alarm_id), str(command.type))
            reason = f"{refused}: {command.type} {command.alarm_id}"
            self.hub.send(screen, Prepared(encode_frame(ErrorFrame(reason=reason))))
            return
        if isinstance(command, RaiseRequest):
            log.info("silent alarm %s from the desk of %s", command.alarm_id, screen.person.user_id)
            now = self.clock()
            # A drill if the desk's room is in drill mode and its raiser rehearses there
            # (central decides, never the desk); anyone else's silent alarm there is real.
            user = screen.person.user_id
            drill = self.drilling.covering_desk(
                user, command.site, command.room, now, command.raised_at
            )
            command = command.model_copy(update={"drill": drill is not None})
            if self._desk_flood(screen.person, command, now):  # drills: their own budget
                self._merge((command.site, flood_name(user, command.drill), True), now)
            actions = self.book.raise_from_screen(screen.person, command, now)
            actions = self.standby.route(self.book, actions, now)
        else:
            now = self.clock()
            actions = self._command(screen.person, command, now)
            if command.type is CommandKind.DELIVERED and self.testing.delivered(
                command.alarm_id, screen.person.user_id, now
            ):
                actions += self.book.close_test(command.alarm_id, now, "test screen has it")
        for refusal in self._carry_out(actions):
            log.info(
                "alarm %s: %s from %s refused: %s",
                refusal.alarm_id,
                command.type,
                screen.person.user_id,
                refusal.reason,
            )
            reason = f"{refusal.reason}: {command.type} {refusal.alarm_id}"
            self.hub.send(screen, Prepared(encode_frame(ErrorFrame(reason=reason))))

    def raise_from_phone(
        self,
        person: Person,
        alarm_id: UUID,
        request: PhoneRaise,
        note: str = "",
        *,
        not_in_record: bool = False,
    ) -> str | None:
        """A phone's alarm (central.api.mobile; the visit timer's, with its ``note``): carried
        out at once, the screens told while the disk writes; None, or the reason it was
        refused (nothing changed then)."""
        now = self.clock()
        if self.book.get(alarm_id) is None:
            log.info("phone alarm %s from %s at %s", alarm_id, person.user_id, request.site)
        actions = self.book.raise_from_phone(
            person, alarm_id, request, now, note, not_in_record=not_in_record
        )
        refused = self._carry_out(self.standby.route(self.book, actions, now))
        return refused[0].reason if refused else None

    def raise_drill(
        self,
        person: Person,
        site: str,
        room: str,
        floor: str | None,
        level: AlarmLevel,
        info: DrillInfo,
    ) -> tuple[UUID, str | None]:
        """A drill raised by a leader from the console for ``room``: an alarm like a desk's,
        raised by them and marked drill from the start, through the whole chain but the ARC.
        Its id, and None or the reason it was refused."""
        now = self.clock()
        alarm_id = uuid4()
        request = RaiseRequest(
            alarm_id=alarm_id,
            level=level,
            site=site,
            room=room,
            floor=floor,
            input=CONSOLE_INPUT,
            raised_at=now,
            drill=True,
        )
        log.info("drill %s raised from the console by %s in %s", alarm_id, person.user_id, room)
        self.drilling.expect(alarm_id, info)
        refused = self._carry_out(self.book.raise_from_screen(person, request, now))
        return alarm_id, refused[0].reason if refused else None

    def phone_position(self, person: Person, alarm_id: UUID, position: Position) -> str | None:
        """A newer position of a phone's alarm: stored and on screens; or why not."""
        refused = self._carry_out(self.book.position(person, alarm_id, position, self.clock()))
        return refused[0].reason if refused else None

    def phone_alarm(self, person: Person, alarm_id: UUID) -> tuple[AlarmView, bool, bool] | None:
        """``person``'s phone alarm as it stands, whether it is stored and whether a
        colleague's screen has it; None if it is not theirs (or unknown)."""
        view = self.book.get(alarm_id)
        if view is None or view.source is not AlarmSource.MOBILE:
            return None
        if view.raised_by != person.user_id:
            return None
        return view, self.book.stored(alarm_id), self.book.on_screen(alarm_id)

    def _screen_announce(self, screen: Screen, command: AnnounceRequest) -> None:
        """An announcement from a desk: refused (an error frame saying why) or carried out."""
        person = screen.person
        refused = socket_refusal(person, str(command.type))
        if refused is not None:
            self.rejected[f"screen_{refused}"] += 1
            self.trail.record(person.user_id, "socket_refused", command.site, "announce")
        else:
            _, refused = self.announcing.from_person(
                person, command.site, command.kind, command.zone, Origin.DESK
            )
        if refused is not None:
            reason = f"{refused}: announce {command.site}"
            self.hub.send(screen, Prepared(encode_frame(ErrorFrame(reason=reason))))

    def _screen_standby(self, screen: Screen, command: StandbyAnswer) -> None:
        """A desk's answer to a standby request: refused (an error frame saying why) or kept."""
        person = screen.person
        refused = socket_refusal(person, command.type)
        if refused is not None:
            self.rejected[f"screen_{refused}"] += 1
            meeting = str(command.meeting_id)
            self.trail.record(person.user_id, "socket_refused", meeting, command.type)
        else:
            now = self.clock()
            refused = self.standby.answer(person, command.meeting_id, command.confirm, now)
        if refused is not None:
            reason = f"{refused}: {command.type} {command.meeting_id}"
            self.hub.send(screen, Prepared(encode_frame(ErrorFrame(reason=reason))))

    def _link_changed(self, up: bool) -> None:
        """Central's broker link: supervision blames no device while it is down; once up,
        every device is told its site's announcement again (the broker may have lost it)."""
        self.watch.link_changed(up, self.clock())
        if up:
            self.announcing.link_up()

    def _tell_listeners(self, site: str, alarm: AlarmView | None = None) -> None:
        """The console's boards: ``site`` changed; ``alarm``, the alarm that changed (whose
        wider audience's boards must change too: ``reaches``), if it was one."""
        for listener in tuple(self.alarm_listeners):
            listener(site, alarm)

    def answer(self, person: Person, kind: CommandKind, alarm_id: UUID) -> list[str]:
        """A command from the console (I'm coming, resolve); the reasons it was refused."""
        actions = self._command(person, Command(type=kind, alarm_id=alarm_id), self.clock())
        refused = [r.reason for r in self._carry_out(actions)]
        for reason in refused:
            log.info(
                "alarm %s: %s from %s's console refused: %s", alarm_id, kind, person.user_id, reason
            )
        return refused

    def _command(self, person: Person, command: Command, now: datetime) -> list[Action]:
        """A person's command; on a flood card it is given on every alarm of its flood (each
        recorded on its own: a receipt, an answer, a resolution per alarm), the card's alarm
        last, by anyone the card reaches (it carries every member's wider audience)."""
        card = self.flood_cards.card(command.alarm_id)
        if card is None:
            return self.book.command(person, command, now)
        actions: list[Action] = []
        for alarm_id in self.flood_cards.members(command.alarm_id):
            each = Command(type=command.type, alarm_id=alarm_id)
            actions += self.book.command(person, each, now, via=card)
        return actions

    # --- outputs -------------------------------------------------------------------------

    def _carry_out(self, actions: list[Action]) -> list[Refusal]:
        refusals: list[Refusal] = []
        for action in actions:
            if isinstance(action, Broadcast):
                if isinstance(action.frame, AlarmUpdate):
                    # One loop turn later: an ack queued just before goes to the broker first,
                    # instead of after a fan-out to every screen.
                    asyncio.get_running_loop().call_soon(self._broadcast, action)
                else:
                    self._broadcast(action)
            elif isinstance(action, Persist):
                self._write(action)
            elif isinstance(action, AckEdge):
                self.link.publish_ack(action)
                log.debug("alarm %s: ack %s to %s", action.alarm_id, action.state, action.device)
            elif isinstance(action, Notice):
                # The screens of the person who asked: their change is not on screens yet.
                reason = f"{action.reason}: {action.what} {action.alarm_id}"
                frame = Prepared(encode_frame(ErrorFrame(reason=reason)))
                # Wherever they answered from: a neighbour or a guard an escalation reached
                # has no screen of the alarm's site.
                user = frozenset({action.user})
                self.hub.broadcast(action.site, frame, user, users=user)
            else:
                refusals.append(action)
        return refusals

    def _broadcast(self, action: Broadcast) -> None:
        # An alarm of a flooding source is told as an update of its source's one card (never
        # dropped: every change of every alarm of the flood reaches the screens).
        shown = self.flood_cards.changed(action.frame) if action.only is None else None
        if shown is None or shown.out is None:
            self._broadcast_frame(action)
            return
        for out in shown.out:
            self._broadcast_frame(out)
        if shown.joined is not None:  # screens show the card already: shown by the same people
            alarm_id = action.frame.alarm.alarm_id
            self._carry_out(self.book.shown_as(alarm_id, shown.joined, self.clock()))
        if shown.ended is not None:
            self._store_flood(stored_floods.ended(shown.ended))
        if shown.merged_away is not None:  # its card asks for the flood's one report
            self.reports.merged(shown.merged_away)

    def _broadcast_frame(self, action: Broadcast) -> None:
        alarm = action.frame.alarm  # an escalated alarm reaches its wider audience too
        frame = Prepared(encode_frame(action.frame))
        # A meeting's standby colleagues get it first, in this same fan-out (central.standby).
        standby = tuple(s.user for s in alarm.standby)
        self.hub.broadcast(
            action.site,
            frame,
            action.only,
            sites=alarm.escalated_sites,
            users=(*alarm.escalated_users, *standby),
            first=standby,
        )
        if action.only is None:  # test alarms are not on the board
            self._tell_listeners(action.site, alarm)

    def _write(self, persist: Persist) -> None:
        for event in persist.events:
            level = logging.DEBUG if event.kind in _QUIET_EVENTS else logging.INFO
            detail = f": {event.detail}" if event.detail else ""
            log.log(level, "alarm %s %s by %s%s", event.alarm_id, event.kind, event.actor, detail)
        self.escalator.wrote(persist, self._covered)
        future = self.store.submit(persist)
        future.add_done_callback(lambda f: self._written(persist, f))
        if persist.insert and persist.alarm is not None and persist.alarm.drill:
            self.drilling.recorded(persist.alarm, self.clock())  # the drill log's row

    def _covered(self, alarm: AlarmView) -> bool:
        """Whether a screen of the alarm's site other than its raiser's is connected now."""
        return any(s.person.user_id != alarm.raised_by for s in self.hub.screens(alarm.site))

    def _written(self, persist: Persist, future: asyncio.Future[None]) -> None:
        if future.cancelled():  # only at shutdown; the edge resends, the book retries
            return
        error = future.exception()
        if error is not None:
            log.error("alarm %s: write failed (%s); will retry", persist.alarm_id, error)
            # The people whose change it carried hear "not stored yet" (once per change).
            self._carry_out(self.book.commit_failed(persist, self.clock()))
            return
        now = self.clock()
        self._carry_out(self.book.committed(persist, now))
        self.metrics.committed(persist)  # raised, first "I'm coming", resolved: after the ack
        for escalated in self.escalator.stored(persist):  # stored: the ARC hears it once
            view = self.book.get(persist.alarm_id)
            if view is not None:
                self.arc.escalated(view, escalated)
        self.arc.stored(persist.alarm)  # a resolution of an alarm the ARC had: its restore
        if persist.alarm is not None:  # a real alarm's resolution stored: ask for a report
            # After the update's broadcast (queued one loop turn later by _carry_out): the
            # flood cards say there whether a merged alarm was resolved into its card.
            asyncio.get_running_loop().call_soon(self.reports.resolved, persist.alarm)
        if persist.insert:
            self.testing.stored(persist.alarm_id, now)
            detail = self._close_when_stored.pop(persist.alarm_id, None)
            if detail is not None:
                self._carry_out(self.book.close_test(persist.alarm_id, now, detail))

    # --- what routes and pages ask and do: explicit, so they never reach into the parts ----

    def sites_of(self, person: Person) -> list[SiteSettings]:
        return [s for s in self.settings.sites if person.covers(s.id)]

    @property
    def open_registry(self) -> bool:
        return self.registry.open

    @property
    def link_running(self) -> bool:
        """The MQTT link's task runs (connected or retrying); False once it has died. For
        the watchdog (central.watchdog), which must not restart central for a broker outage."""
        return self._link_task is not None and not self._link_task.done()

    async def read(self, query: Callable[[Database], T]) -> T:
        found: T = await self.store.read(query)
        return found

    async def write(self, change: Callable[[Database], None]) -> None:
        await self.store.submit(change)

    async def recent(
        self, limit: int, sites: frozenset[str] | None, include_tests: bool
    ) -> list[dict[str, Any]]:
        return await self.store.recent(limit, sites, include_tests)

    def record(self, actor: str, action: str, subject: str = "", detail: str = "") -> None:
        """A row in the audit trail (central.audit)."""
        self.trail.record(actor, action, subject, detail)

    def status(self) -> Status:
        return Status(
            link_up=self.link.connected,
            screens=len(self.hub),
            fanout=self.hub.fanout,
            rejected=dict(self.rejected),
            faults=len(self.watch.supervisor.faults()),
            open_tests=self.testing.open_runs,
        )

    def faults(self) -> list[Fault]:
        return list(self.watch.supervisor.faults())

    def device(self, site: str, device: str) -> DeviceRecord | None:
        return self.watch.supervisor.device(site, device)

    def screens_at(self, site: str) -> int:
        return self.watch.supervisor.screens(site)

    def known_devices(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """(site, device) → its inputs: every device central has heard of."""
        return dict(self.testing.known)

    def alarm(self, alarm_id: UUID) -> AlarmView | None:
        """The alarm as screens show it: a flood card as its card (with its flood's audience)."""
        return self.flood_cards.card(alarm_id) or self.book.get(alarm_id)

    def board(self, person: Person) -> list[AlarmView]:
        """The active alarms of ``person``'s sites as the board shows them (no test alarms; a
        flood's alarms as its one card)."""
        mine = [a for a in self.book.active() if reaches(person, a) and not a.test]
        return list(self.flood_cards.listed(mine))

    def listen(self, listener: Callable[[str, AlarmView | None], None]) -> Callable[[], None]:
        """``listener(site, alarm)`` on every change at ``site`` (``alarm``: the alarm that
        changed, which its wider audience's boards show too; None for a round, a flood fault,
        an announcement); returns the way out."""
        self.alarm_listeners.add(listener)
        return lambda: self.alarm_listeners.discard(listener)

    def open_rounds(self, person: Person) -> list[TestRound]:
        return [r for r in self.testing.rounds_at(person.covers) if r.open]


@dataclass(frozen=True, slots=True)
class Status:
    """What ``/healthz`` tells someone who may read the devices' state."""

    link_up: bool
    screens: int
    fanout: str
    rejected: dict[str, int]
    faults: int
    open_tests: int
