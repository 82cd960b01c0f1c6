"""Central's composition: the pure alarm book wired to the store, the hub and the MQTT link.

Everything here runs on the event loop. The book decides; this module carries out its
actions: broadcasts go out at once, writes go to the store's writer thread, and when the store
reports a commit the book is told, which is when acks to the edge become due.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from central.config import CentralSettings
from central.core import (
    DEFAULT_RETENTION,
    AckEdge,
    Action,
    AlarmBook,
    Broadcast,
    Directory,
    EventKind,
    Persist,
    Person,
    Refusal,
)
from central.core.supervision import Supervisor
from central.link import MqttLink
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from central.routines import load_alarm_response, load_self_tests
from central.selftest import SelfTesting
from central.store import Store
from central.supervise import Watch
from protocol import AlarmMessage, Message, ProtocolError
from protocol.screen import (
    AlarmUpdate,
    Command,
    CommandKind,
    ErrorFrame,
    Hello,
    RaiseRequest,
    Snapshot,
    decode_command,
    encode_frame,
)

log = logging.getLogger("central.alarms")

_QUIET_EVENTS = (EventKind.DELIVERED, EventKind.SHOWN)  # one per screen: too many for INFO
TICK_S = 0.5  # how often time is looked at: heartbeats missed, deadlines, schedules


def utcnow() -> datetime:
    return datetime.now(UTC)


class Central:
    """Create, ``await start()``, and ``await stop()``; the app's lifespan does this."""

    def __init__(self, settings: CentralSettings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.directory = Directory(settings.people())
        self.site_names = {s.id: s.name for s in settings.sites}
        self.rejected: Counter[str] = Counter()
        self.routines = load_alarm_response(settings.routines.alarm_response).for_screens()
        self.book = AlarmBook(site_names=self.site_names)
        self.hub = Hub()
        self.store = Store(settings.store.path)
        self.link = MqttLink(
            settings.mqtt, self.on_alarm, self.rejected, clock, on_device=self.on_device
        )
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
        # Called with the site whenever one of its alarms changes (the console's live board).
        self.alarm_listeners: set[Callable[[str], None]] = set()
        self._link_task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.open()
        stored = await self.store.restorable(self.clock() - DEFAULT_RETENTION)
        self.book = AlarmBook.restore(stored, site_names=self.site_names)
        active = len(self.book.active())
        log.info("restored %d alarms from %s (%d active)", len(stored), self.store.path, active)
        await self.testing.start()
        self.watch.screens_changed([s.id for s in self.settings.sites], self.clock())
        self._link_task = asyncio.create_task(self.link.run(), name="mqtt-link")
        self._ticker = asyncio.create_task(self._tick_forever(), name="central-ticker")

    async def stop(self) -> None:
        for task in (self._ticker, self._link_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.store.close()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock()
            try:
                self.watch.tick(now)
                await self.testing.tick(now)
            except Exception:  # a bug here must not stop supervision for good
                log.exception("tick failed")

    # --- inputs --------------------------------------------------------------------------

    def on_alarm(self, message: AlarmMessage) -> None:
        now = self.clock()
        test_for: frozenset[str] | None = None
        if self.book.get(message.alarm_id) is None:
            test_for, close_when_stored = self.testing.test_audience(message, now)
            if close_when_stored:
                self._close_when_stored[message.alarm_id] = "button tested in a test round"
            if test_for is not None:
                log.info("alarm %s is a test alarm for %s", message.alarm_id, sorted(test_for))
        actions = self.book.alarm(message, now, test_for)
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

    def on_device(self, message: Message) -> None:
        """A status, heartbeat, event or self-test result."""
        now = self.clock()
        self.watch.heard(message, now)
        self.testing.device_message(message, now)

    def close_test(self, alarm_id: UUID, detail: str) -> None:
        """Central ends a test alarm (the test screen has it, or a round ticked it)."""
        self._carry_out(self.book.close_test(alarm_id, self.clock(), detail))

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
        )
        snapshot = Snapshot(alarms=self.book.active_for(person))
        self.hub.join(screen, Prepared(encode_frame(hello)), Prepared(encode_frame(snapshot)))
        log.info("screen of %s connected (%d screens)", person.user_id, len(self.hub))
        self.watch.greet(screen)
        self.watch.screens_changed(self._screen_sites(screen), self.clock())

    def screen_left(self, screen: Screen) -> None:
        self.hub.leave(screen)
        log.info("screen of %s disconnected (%d screens)", screen.person.user_id, len(self.hub))
        self.watch.screens_changed(self._screen_sites(screen), self.clock())

    def screen_said(self, screen: Screen, text: str | bytes) -> None:
        """One frame from a screen: a command, or an error frame back saying why not."""
        try:
            command = decode_command(text)
        except ProtocolError as exc:
            self.rejected[f"screen_{exc.reason}"] += 1
            log.warning("screen of %s sent a bad frame: %s", screen.person.user_id, exc.reason)
            self.hub.send(screen, Prepared(encode_frame(ErrorFrame(reason=exc.reason))))
            return
        if isinstance(command, RaiseRequest):
            log.info("silent alarm %s from the desk of %s", command.alarm_id, screen.person.user_id)
            actions = self.book.raise_from_screen(screen.person, command, self.clock())
        else:
            now = self.clock()
            actions = self.book.command(screen.person, command, now)
            if command.type is CommandKind.DELIVERED and self.testing.runner.delivered(
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

    def answer(self, person: Person, kind: CommandKind, alarm_id: UUID) -> list[str]:
        """A command from the console (I'm coming, resolve); the reasons it was refused."""
        actions = self.book.command(person, Command(type=kind, alarm_id=alarm_id), self.clock())
        refused = [r.reason for r in self._carry_out(actions)]
        for reason in refused:
            log.info(
                "alarm %s: %s from %s's console refused: %s", alarm_id, kind, person.user_id, reason
            )
        return refused

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
            else:
                refusals.append(action)
        return refusals

    def _broadcast(self, action: Broadcast) -> None:
        self.hub.broadcast(action.site, Prepared(encode_frame(action.frame)), action.only)
        if action.only is None:  # test alarms are not on the board
            for listener in tuple(self.alarm_listeners):
                listener(action.site)

    def _write(self, persist: Persist) -> None:
        for event in persist.events:
            level = logging.DEBUG if event.kind in _QUIET_EVENTS else logging.INFO
            detail = f": {event.detail}" if event.detail else ""
            log.log(level, "alarm %s %s by %s%s", event.alarm_id, event.kind, event.actor, detail)
        future = self.store.submit(persist)
        future.add_done_callback(lambda f: self._written(persist, f))

    def _written(self, persist: Persist, future: asyncio.Future[None]) -> None:
        if future.cancelled():  # only at shutdown; the edge resends, the book retries
            return
        error = future.exception()
        if error is not None:
            log.error("alarm %s: write failed (%s); will retry", persist.alarm_id, error)
            self.book.commit_failed(persist)
            return
        now = self.clock()
        self._carry_out(self.book.committed(persist, now))
        if persist.insert:
            self.testing.runner.stored(persist.alarm_id, now)
            detail = self._close_when_stored.pop(persist.alarm_id, None)
            if detail is not None:
                self._carry_out(self.book.close_test(persist.alarm_id, now, detail))
