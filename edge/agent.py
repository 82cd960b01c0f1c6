"""The edge agent: composition root wiring buttons, press policy, outbox and MQTT link.

All decisions are made by the pure cores (``edge.core``); this module only carries events in
and actions out, on one asyncio loop. The alarm path on a press is: policy → publish (network
first) → outbox write on the disk thread (in parallel) → LED.

Start-up order matters for an alarm system that may have lost power mid-press: the outbox's
active alarms come back first (LEDs, press counts), then the contacts are read and the press
policy decides what a closed one is (the alarm it was, a restored alarm, or stuck); the ids and
flags that decision needs are on disk before any press is taken (``ready``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pydantic import SecretStr

from edge.config import EdgeSettings
from edge.core import (
    Action,
    AdoptAlarm,
    ButtonSpec,
    NextId,
    PressPolicy,
    RaiseAlarm,
    Republish,
    SetLed,
    StuckAtStart,
    Word,
)
from edge.core.selftest import Limits, StuckInputs, stuck_fault
from edge.hw import ButtonInputs, Indicators
from edge.link import AlarmSender, LinkSettings, MqttLink
from edge.link.drain import Restored
from edge.outbox import AsyncOutbox
from edge.selftest import Probes, SelfTester
from edge.sensing import RoomSensors
from protocol import (
    AckMessage,
    AlarmLevel,
    AlarmMessage,
    AlarmSource,
    Health,
    HeartbeatMessage,
    HeldAlarm,
    SelftestRunMessage,
    StatusMessage,
    encode,
)
from protocol.messages import MAX_HELD_ALARMS

log = logging.getLogger(__name__)

TICK_S = 0.1  # how often time-based decisions (resends, "resolved" → off) are looked at


def utcnow() -> datetime:
    return datetime.now(UTC)


class EdgeAgent:
    """One Raspberry Pi's agent. ``await run()`` until cancelled or :meth:`stop`."""

    def __init__(
        self,
        settings: EdgeSettings,
        pin_factory: Any = None,
        id_factory: Callable[[], UUID] = uuid4,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self._pin_factory = pin_factory
        self._clock = clock
        self._policy = PressPolicy(
            [ButtonSpec(b.input, b.level, b.bounce) for b in settings.buttons], id_factory
        )
        self._counters: Counter[str] = Counter()
        self._faults: list[str] = []
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ready = False
        self._started = time.monotonic()
        self._indicators: Indicators | None = None
        self._link = MqttLink(
            LinkSettings(
                host=settings.mqtt.host,
                port=settings.mqtt.port,
                username=settings.mqtt_username,
                password=_secret(settings.mqtt.password),
                client_id=f"trygg-edge-{settings.site}-{settings.device}",
                keepalive_s=settings.mqtt.keepalive_s,
                site=settings.site,
                device=settings.device,
                heartbeat_interval_s=settings.heartbeat_interval_s,
                reconnect_min_s=settings.mqtt.reconnect_min_s,
                reconnect_max_s=settings.mqtt.reconnect_max_s,
                tls_ca=_path(settings.mqtt.tls_ca),
                tls_cert=_path(settings.mqtt.tls_cert),
                tls_key=_path(settings.mqtt.tls_key),
            ),
            events=self,
            offline_payload=self._offline_payload,
        )
        self._sender = AlarmSender(
            settings.site,
            settings.device,
            self._link,
            timedelta(seconds=settings.resend_interval_s),
            reject=self._reject,
            fault=self._fault,
        )
        limits = Limits(
            stuck_after=timedelta(seconds=settings.selftest.stuck_after_s),
            max_clock_offset=timedelta(seconds=settings.selftest.max_clock_offset_s),
            min_free_bytes=settings.selftest.min_free_mb * 1024 * 1024,
        )
        self._stuck = StuckInputs(limits.stuck_after)
        self._stuck_faults: tuple[str, ...] = ()
        self._closed_at_start: set[str] = set()  # closed when this run started, not opened yet
        self._buttons: ButtonInputs | None = None
        self._test_acks: dict[UUID, asyncio.Future[str]] = {}
        self._selftests: set[asyncio.Task[None]] = set()
        self._selftester = SelfTester(
            Probes(
                read_inputs=lambda: self._buttons.read() if self._buttons else {},
                stuck=self._stuck.stuck,
                read_outputs=self._read_outputs,
                board_configured=settings.sensor_board is not None,
                ping_board=self._ping_board,
                probe_outbox=self._sender.probe_outbox,
                outbox_dir=settings.outbox.path.parent,
                broker_round_trip=self._broker_round_trip,
                raise_test_alarm=self._raise_test_alarm,
            ),
            limits,
            clock,
        )
        self._sensors: RoomSensors | None = None
        if settings.sensor_board is not None:
            self._sensors = RoomSensors(
                settings.sensor_board,
                site=settings.site,
                device=settings.device,
                room=settings.room,
                link=self._link,
                id_factory=id_factory,
                clock=clock,
                apply=self._apply,
                faults_changed=self._publish_status,
                notify=self._notify,
            )

    # -- public view (tests, health, CLI) ------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._link.connected

    @property
    def ready(self) -> bool:
        """Pins are set up and the outbox is restored: presses are now seen."""
        return self._ready

    @property
    def counters(self) -> dict[str, int]:
        """Rejected input by reason (``bad_json``, ``invalid_message``, ``serial_<reason>``)."""
        counters = dict(self._counters)
        if self._sensors is not None:
            counters.update(self._sensors.counters)
        return counters

    @property
    def faults(self) -> tuple[str, ...]:
        board = self._sensors.faults if self._sensors is not None else ()
        # A contact stuck across starts and then held past ``stuck_after`` is one fault.
        return tuple(dict.fromkeys((*self._faults, *self._stuck_faults, *board)))

    @property
    def sensors(self) -> RoomSensors | None:
        """The room's sensor board (None when the room has none): state, ``ping``."""
        return self._sensors

    def led_state(self, input_name: str) -> str:
        return self._policy.led_state(input_name).value

    def outbox_pending(self) -> int:
        return self._sender.pending

    def active_alarm(self, input_name: str) -> UUID | None:
        return self._policy.active_alarm(input_name)

    def presses(self, alarm_id: UUID) -> int | None:
        return self._policy.presses(alarm_id)

    def health(self) -> Health:
        return Health(
            uptime_s=round(time.monotonic() - self._started, 3),
            outbox_pending=self.outbox_pending(),
            faults=self.faults,
            counters=self.counters,
            outputs={name: self._policy.led_state(name).value for name in self._policy.inputs},
            inputs=tuple(b.input for b in self.settings.buttons),
            alarms=self.held_alarms()[:MAX_HELD_ALARMS],
        )

    def held_alarms(self) -> tuple[HeldAlarm, ...]:
        """Every alarm this device holds as active, buttons first (state sync with central)."""
        board = self._sensors.policy.held() if self._sensors is not None else ()
        return (*self._policy.held(), *board)

    # The wait_* helpers take ``timeout`` (ruff ASYNC109) on purpose: every wait is bounded.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds; it is re-checked after every change of state."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    if predicate():
                        return
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"edge agent: {what} not reached within {timeout} s") from None

    async def wait_led(self, input_name: str, state: str, timeout: float = 5.0) -> None:
        await self.wait_for(
            lambda: self.led_state(input_name) == state,
            timeout,
            f"LED {input_name}={state} (now {self.led_state(input_name)})",
        )

    async def wait_ready(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: self._ready, timeout, "ready")

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.connected, timeout, "connected")

    async def wait_pending(self, count: int, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self.outbox_pending() == count, timeout, f"{count} pending")

    def stop(self) -> None:
        """Ask :meth:`run` to finish (publishing "offline" first if connected)."""
        self._stopping.set()

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = time.monotonic()
        outbox = await AsyncOutbox.open(self.settings.outbox.path)
        buttons: ButtonInputs | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            for restored in await self._sender.open(outbox, self._clock()):
                self._restore(restored)
            next_ids, closed_before = await outbox.inputs()
            self._indicators = Indicators(self.settings.buttons, self._pin_factory)
            for name in self._policy.inputs:
                self._indicators.show(name, self._policy.led_state(name))
            buttons = ButtonInputs(
                self.settings.buttons, self._on_contact, self._clock, loop, self._pin_factory
            )
            self._buttons = buttons
            await self._start_inputs(outbox, buttons.closed_now(), closed_before, next_ids)
            self._link.start()
            if self._sensors is not None:
                self._sensors.start(loop)
            tasks = [asyncio.create_task(self._ticker(), name="edge-ticker")]
            self._ready = True
            self._notify()
            log.info(
                "edge agent running site=%s device=%s inputs=%s",
                self.settings.site,
                self.settings.device,
                ",".join(self._policy.inputs),
            )
            await self._stopping.wait()
        finally:
            await self._shutdown(buttons, tasks)

    async def _start_inputs(
        self,
        outbox: AsyncOutbox,
        closed: list[str],
        closed_before: set[str],
        next_ids: dict[str, UUID],
    ) -> None:
        """Contacts closed now: alarms (``held_at_start``), restored alarms, or stuck. Fresh
        pre-allocated ids and the closed flags are on disk before the first press is taken."""
        now = self._clock()
        fresh: dict[str, UUID] = {}
        actions = self._policy.start(closed, closed_before, next_ids, now)
        for action in actions:
            match action:
                case NextId():
                    fresh[action.input] = action.alarm_id
                case StuckAtStart():
                    self._fault(f"{stuck_fault(action.input)} (closed at the last start too)")
        for name in closed:
            self._stuck.closed(name, now)
        self._closed_at_start = set(closed)
        self._apply([a for a in actions if not isinstance(a, NextId | StuckAtStart)])
        await outbox.started(fresh, set(closed), list(self._policy.inputs), now)
        await self._sender.flush()

    async def _shutdown(
        self, buttons: ButtonInputs | None, tasks: list[asyncio.Task[None]]
    ) -> None:
        self._ready = False
        for selftest in self._selftests:
            selftest.cancel()
        await asyncio.gather(*self._selftests, return_exceptions=True)
        self._buttons = None
        if buttons is not None:
            buttons.close()
        if self._sensors is not None:
            await self._sensors.close()
        await self._link.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._sender.close()
        if self._indicators is not None:
            self._indicators.close()
            self._indicators = None
        self._notify()
        log.info("edge agent stopped")

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self._clock()
            self._apply(self._policy.tick(now))
            stuck = self._stuck.faults(now)
            if stuck != self._stuck_faults:
                self._stuck_faults = stuck
                for fault in stuck:
                    log.error("fault: %s", fault)
                self._publish_status()
            if self._sensors is not None:
                self._sensors.tick(now)
            self._sender.resend_due(now)

    # -- events in -----------------------------------------------------------------------

    def _on_contact(self, input_name: str, closed: bool, at: datetime) -> None:
        if not self._ready:
            return  # an edge delivered after shutdown began
        if closed:
            self._stuck.closed(input_name, at)
            self._apply(self._policy.contact_closed(input_name, at))
        else:
            self._stuck.opened(input_name)
            if input_name in self._closed_at_start:
                self._closed_at_start.discard(input_name)
                self._sender.opened(input_name, at)  # not stuck: the next start may raise
            released = f"{stuck_fault(input_name)} (closed at the last start too)"
            if released in self._faults:
                self._faults.remove(released)
                self._publish_status()
            self._apply(self._policy.contact_opened(input_name, at))

    # LinkEvents, called by the link on the loop.

    def link_up(self) -> None:
        self._sender.link_up(self._clock())
        self._notify()

    def link_down(self) -> None:
        self._sender.link_down()
        self._notify()

    def ack_received(self, ack: AckMessage) -> None:
        log.info(
            "ack alarm_id=%s state=%s presses=%s responders=%d input=%s",
            ack.alarm_id,
            ack.state.value,
            ack.presses,
            len(ack.responders),
            ack.input or "-",
        )
        now = self._clock()
        waiting = self._test_acks.pop(ack.alarm_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(ack.state.value)
        sent = self._sender.message(ack.alarm_id)
        self._sender.acked(ack.alarm_id, ack.state, ack.presses, now, len(ack.responders), ack.at)
        if (sent is not None and sent.test) or waiting is not None:
            self._notify()  # a synthetic test press: settled, and no LED ever shows it
            return
        word = Word.of(ack)
        self._apply(self._policy.ack(word, now))
        if self._sensors is not None:
            self._sensors.ack(word)
        self._notify()

    def rejected(self, reason: str, detail: str) -> None:
        self._reject(reason, detail)

    def selftest_requested(self, run: SelftestRunMessage) -> None:
        log.info("self-test %s requested: %s", run.run_id, ",".join(run.checks) or "all")
        task = asyncio.create_task(self._selftest(run), name=f"selftest-{run.run_id}")
        self._selftests.add(task)
        task.add_done_callback(self._selftests.discard)

    async def _selftest(self, run: SelftestRunMessage) -> None:
        result = await self._selftester.run(run)
        if not self._link.publish(self._link.result_topic, encode(result)[1], qos=1):
            log.warning("self-test %s: result not sent (mqtt down)", run.run_id)

    # -- self-test probes ----------------------------------------------------------------

    def _read_outputs(self) -> dict[str, tuple[bool | None, bool | None]]:
        if self._indicators is None:
            return {}
        states = {name: self._policy.led_state(name) for name in self._policy.inputs}
        return self._indicators.readback(states)

    async def _ping_board(self, timeout: float) -> float | None:
        if self._sensors is None:
            return None
        return await self._sensors.ping(f"st{uuid4().hex[:8]}", timeout)

    async def _broker_round_trip(self, timeout: float) -> float | None:
        return await self._link.round_trip(
            self._link.heartbeat_topic, self.heartbeat_payload(), timeout
        )

    def _raise_test_alarm(self, alarm_id: UUID) -> asyncio.Future[str] | None:
        """The synthetic test press: a real alarm message flagged ``test``, on the first
        button, sent and kept like any alarm; the LED is left alone (nobody pressed it)."""
        if not self.settings.buttons:
            return None
        now = self._clock()
        button = self.settings.buttons[0]
        message = self._message(
            alarm_id, button.input, button.level, AlarmSource.BUTTON, now, test=True
        )
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._test_acks[alarm_id] = future
        self._sender.send(message, "test", now)
        return future

    def birth_payload(self) -> bytes:
        status = StatusMessage(
            site=self.settings.site,
            device=self.settings.device,
            state="online",
            at=self._clock(),
            health=self.health(),
        )
        return encode(status)[1]

    def heartbeat_payload(self) -> bytes:
        beat = HeartbeatMessage(
            site=self.settings.site,
            device=self.settings.device,
            at=self._clock(),
            interval_s=self.settings.heartbeat_interval_s,
            health=self.health(),
        )
        return encode(beat)[1]

    def _offline_payload(self) -> bytes:
        status = StatusMessage(
            site=self.settings.site, device=self.settings.device, state="offline"
        )
        return encode(status)[1]

    # -- actions out ---------------------------------------------------------------------

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case RaiseAlarm():
                    self._raise(action)
                case Republish():
                    self._republish(action)
                case SetLed():
                    self._set_led(action)
                case AdoptAlarm():
                    self._adopt(action)
                case NextId() | StuckAtStart():  # pragma: no cover - only from start()
                    pass
        if actions:
            self._notify()

    def _raise(self, action: RaiseAlarm) -> None:
        message = self._message(
            action.alarm_id,
            action.input,
            action.level,
            action.source,
            action.raised_at,
            held_at_start=action.held_at_start,
        )
        reason = "held_at_start" if action.held_at_start else "new"
        self._sender.send(message, reason, action.raised_at, action.next_id)

    def _adopt(self, action: AdoptAlarm) -> None:
        """Take up an alarm central named: built from this device's config, kept as acked."""
        log.info(
            "adopt alarm_id=%s input=%s presses=%d state=%s",
            action.alarm_id,
            action.input,
            action.presses,
            action.state.value,
        )
        message = self._message(
            action.alarm_id,
            action.input,
            action.level,
            action.source,
            action.at,
            presses=action.presses,
        )
        self._sender.adopt(message, action.state, action.at, action.said_at)

    def _message(
        self,
        alarm_id: UUID,
        input_name: str,
        level: AlarmLevel,
        source: AlarmSource,
        raised_at: datetime,
        *,
        presses: int = 1,
        held_at_start: bool = False,
        test: bool = False,
    ) -> AlarmMessage:
        """An alarm of this device's room (site, device and room from its settings)."""
        return AlarmMessage(
            site=self.settings.site,
            device=self.settings.device,
            alarm_id=alarm_id,
            level=level,
            room=self.settings.room,
            source=source,
            input=input_name,
            raised_at=raised_at,
            presses=presses,
            held_at_start=held_at_start,
            test=test,
        )

    def _republish(self, action: Republish) -> None:
        previous = self._sender.message(action.alarm_id)
        if previous is None:  # pragma: no cover - the policy only repeats alarms we raised
            log.error("re-press of unknown alarm_id=%s", action.alarm_id)
            return
        message = previous.model_copy(update={"presses": action.presses})
        self._sender.send(message, "repress", self._clock())

    def _set_led(self, action: SetLed) -> None:
        log.info(
            "led input=%s state=%s alarm_id=%s",
            action.input,
            action.state.value,
            action.alarm_id or "-",
        )
        if self._indicators is not None:
            self._indicators.show(action.input, action.state)

    def _restore(self, restored: Restored) -> None:
        """An active alarm of an earlier run: its input tracks it again (LED and the order of
        central's acks, re-presses)."""
        message, shows, said_at = restored
        if message.test:
            return  # a test alarm of an earlier run: resent, but no LED shows it
        args = (message.alarm_id, message.input, message.presses, shows, said_at)
        if message.source is AlarmSource.SENSOR and self._sensors is not None:
            self._sensors.restore(*args)
        else:
            self._apply(self._policy.restore(*args))

    def _publish_status(self) -> None:
        """Faults changed: say so in the retained status now, not only in the next heartbeat."""
        self._link.publish(self._link.status_topic, self.birth_payload(), qos=1, retain=True)
        self._notify()

    # -- helpers -------------------------------------------------------------------------

    def _reject(self, reason: str, detail: str) -> None:
        self._counters[reason] += 1
        log.warning("rejected reason=%s detail=%s", reason, detail)
        self._notify()

    def _fault(self, text: str) -> None:
        log.error("fault: %s", text)
        text = text[:120]  # Health.faults items are short texts
        if text not in self._faults:
            self._faults.append(text)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


__all__ = ["EdgeAgent"]


def _path(path: object) -> str | None:
    return None if path is None else str(path)


def _secret(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
