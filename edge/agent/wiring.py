"""The edge agent's composition root: wiring and lifecycle, on one asyncio loop.

All decisions are made by the pure cores (``edge.core``); the agent builds the parts, starts
and stops them in order, and routes events between them: contacts and the link's events in,
the alarm path (``alarm_path``) and the device's health (``health``) out. The alarm path on a
press is: policy → publish (network first) → outbox write on the disk thread (in parallel) → LED.

Start-up order matters for an alarm system that may have lost power mid-press: the outbox's
active alarms come back first (LEDs, press counts), then the contacts are read and the press
policy decides what a closed one is (the alarm it was, a restored alarm, or stuck); the ids and
flags that decision needs are on disk before any press is taken (``ready``). A contact edge
that comes in meanwhile (the pins are open, the start is still being written) waits for that
and is then taken in order; dropping it lost a press made as the edge came up (the chaos rig's
edge-powercut, on a loaded machine).

:attr:`EdgeAgent.changed` is the one change hook: an event set (and replaced) at every change
of state, so a caller can wait for any condition on the public view without polling (the
tests' waits are built on it, in ``tests/support/agent_waits.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pydantic import SecretStr

from edge.agent.alarm_path import AlarmPath
from edge.agent.announcing import Announcer
from edge.agent.health import DeviceHealth
from edge.config import EdgeSettings
from edge.core import ButtonSpec, NextId, PressPolicy, StuckAtStart
from edge.core.faults import stuck_at_start
from edge.core.selftest import Limits, StuckInputs
from edge.hw import ButtonInputs, Indicators
from edge.link import LinkSettings, MqttLink
from edge.link.mqtt import PUBLISH_TIMEOUT_S
from edge.outbox import AlarmSender, AsyncOutbox
from edge.selftest import Probes, SelfTester
from edge.sensing import RoomSensors
from protocol import AckMessage, AnnounceMessage, Health, HeldAlarm, SelftestRunMessage, encode

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
        self._changed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ready = False
        self._early: list[tuple[str, bool, datetime]] | None = None  # edges before ``ready``
        self._link = MqttLink(
            _link_settings(settings),
            events=self,
            offline_payload=lambda: self._health.offline_payload(),
        )
        sender = AlarmSender(
            settings.site,
            settings.device,
            self._link,
            timedelta(seconds=settings.resend_interval_s),
            reject=lambda reason, detail: self._health.reject(reason, detail),
            fault=lambda fault: self._health.fault(fault),
        )
        policy = PressPolicy(
            [ButtonSpec(b.input, b.level, b.bounce) for b in settings.buttons], id_factory
        )
        self._alarms = AlarmPath(settings, policy, sender, clock, self._notify)
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
                apply=self._alarms.apply,
                faults_changed=self._publish_status,
                notify=self._notify,
            )
        self._alarms.sensors = self._sensors
        self._health = DeviceHealth(settings, self._alarms, self._sensors, clock, self._notify)
        self._health.publish_status = self._publish_status
        limits = Limits(
            stuck_after=timedelta(seconds=settings.selftest.stuck_after_s),
            max_clock_offset=timedelta(seconds=settings.selftest.max_clock_offset_s),
            min_free_bytes=settings.selftest.min_free_mb * 1024 * 1024,
        )
        self._stuck = StuckInputs(limits.stuck_after)
        self._closed_at_start: set[str] = set()  # closed when this run started, not opened yet
        # Evacuation / lockdown: the site's state on the buzzers, announcing inputs to central.
        self._announcer = Announcer(
            settings,
            self._publish_confirmed,
            self._link.announce_request_topic,
            lambda: self._link.connected,
            clock,
            self._notify,
            id_factory,
        )
        self._buttons: ButtonInputs | None = None
        self._selftests: set[asyncio.Task[None]] = set()
        self._selftester = SelfTester(
            Probes(
                read_inputs=lambda: self._buttons.read() if self._buttons else {},
                stuck=self._stuck.stuck,
                read_outputs=self._read_outputs,
                board_configured=settings.sensor_board is not None,
                ping_board=self._ping_board,
                probe_outbox=sender.probe_outbox,
                outbox_dir=settings.outbox.path.parent,
                broker_round_trip=self._broker_round_trip,
                raise_test_alarm=self._alarms.raise_test_alarm,
            ),
            limits,
            clock,
        )

    # -- public view (health, CLI, tests) ------------------------------------------------

    @property
    def changed(self) -> asyncio.Event:
        """Set at the next change of state (then replaced): take it, check, then wait on it."""
        return self._changed

    @property
    def connected(self) -> bool:
        return self._link.connected

    @property
    def link_running(self) -> bool:
        """The MQTT link's task runs (connected or retrying): the watchdog's beat."""
        return self._link.running

    def probe_outbox_writer(self, locked: Callable[[], None]) -> asyncio.Future[None] | None:
        """The outbox's writer thread calls ``locked`` when it reaches this probe and holds
        the database's write lock (the watchdog's beat); None while the outbox is closed."""
        return self._alarms.sender.probe_writer(locked)

    @property
    def ready(self) -> bool:
        """Pins are set up and the outbox is restored: presses are now seen."""
        return self._ready

    @property
    def counters(self) -> dict[str, int]:
        """Rejected input by reason (``bad_json``, ``invalid_message``, ``serial_<reason>``)."""
        return self._health.counters

    @property
    def faults(self) -> tuple[str, ...]:
        """The faults as the wire says them (``Health.faults``)."""
        return self._health.faults

    @property
    def sensors(self) -> RoomSensors | None:
        """The room's sensor board (None when the room has none): state, ``ping``."""
        return self._sensors

    @property
    def announcement(self) -> str:
        """What central says the site is told now: evacuate, lockdown or all_clear."""
        return self._announcer.core.kind.value

    def led_state(self, input_name: str) -> str:
        return self._alarms.policy.led_state(input_name).value

    def led_pattern(self, input_name: str) -> str:
        """What the input's LED is driven to show (edge.hw.outputs): ``received``, or
        ``drill:received`` in a drill's pattern; ``none`` while no outputs are open."""
        indicators = self._alarms.indicators
        return indicators.pattern(input_name) if indicators is not None else "none"

    def outbox_pending(self) -> int:
        return self._alarms.sender.pending

    def active_alarm(self, input_name: str) -> UUID | None:
        return self._alarms.policy.active_alarm(input_name)

    def presses(self, alarm_id: UUID) -> int | None:
        return self._alarms.policy.presses(alarm_id)

    def health(self) -> Health:
        return self._health.health()

    def held_alarms(self) -> tuple[HeldAlarm, ...]:
        """Every alarm this device holds as active, buttons first (state sync with central)."""
        return self._alarms.held()

    def stop(self) -> None:
        """Ask :meth:`run` to finish (publishing "offline" first if connected)."""
        self._stopping.set()

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._health.started()
        outbox = await AsyncOutbox.open(self.settings.outbox.path)
        buttons: ButtonInputs | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            for restored in await self._alarms.sender.open(outbox, self._clock()):
                self._alarms.restore(restored)
            next_ids, closed_before = await outbox.inputs()
            self._alarms.show_all(Indicators(self.settings.buttons, self._pin_factory))
            self._announcer.indicators = self._alarms.indicators
            self._announcer.start(loop, self._pin_factory)
            self._early = []  # from here on a contact edge is kept until the start is on disk
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
            early, self._early = self._early or [], None
            for input_name, closed, at in early:  # pressed while the start was being written
                self._on_contact(input_name, closed, at)
            self._notify()
            log.info(
                "edge agent running site=%s device=%s inputs=%s",
                self.settings.site,
                self.settings.device,
                ",".join(self._alarms.policy.inputs),
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
        policy = self._alarms.policy
        actions = policy.start(closed, closed_before, next_ids, now)
        for action in actions:
            match action:
                case NextId():
                    fresh[action.input] = action.alarm_id
                case StuckAtStart():
                    self._health.fault(stuck_at_start(action.input))
        for name in closed:
            self._stuck.closed(name, now)
        self._closed_at_start = set(closed)
        self._alarms.apply([a for a in actions if not isinstance(a, NextId | StuckAtStart)])
        await outbox.started(fresh, set(closed), list(policy.inputs), now)
        await self._alarms.sender.flush()

    async def _shutdown(
        self, buttons: ButtonInputs | None, tasks: list[asyncio.Task[None]]
    ) -> None:
        self._ready = False
        self._early = None
        for selftest in self._selftests:
            selftest.cancel()
        await asyncio.gather(*self._selftests, return_exceptions=True)
        self._buttons = None
        if buttons is not None:
            buttons.close()
        self._announcer.close()
        self._announcer.indicators = None
        if self._sensors is not None:
            await self._sensors.close()
        await self._link.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._alarms.sender.close()
        if self._alarms.indicators is not None:
            self._alarms.indicators.close()
            self._alarms.indicators = None
        self._notify()
        log.info("edge agent stopped")

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self._clock()
            self._alarms.apply(self._alarms.policy.tick(now))
            self._health.measured(self._stuck.faults(now))
            if self._sensors is not None:
                self._sensors.tick(now)
            self._alarms.sender.resend_due(now)

    # -- events in -----------------------------------------------------------------------

    def _on_contact(self, input_name: str, closed: bool, at: datetime) -> None:
        if not self._ready:
            if self._early is not None:
                self._early.append((input_name, closed, at))  # taken once ready
            return  # otherwise an edge delivered after shutdown began
        policy = self._alarms.policy
        if closed:
            self._stuck.closed(input_name, at)
            self._alarms.apply(policy.contact_closed(input_name, at))
        else:
            self._stuck.opened(input_name)
            if input_name in self._closed_at_start:
                self._closed_at_start.discard(input_name)
                self._alarms.sender.opened(input_name, at)  # not stuck: the next start may raise
            self._health.cleared(stuck_at_start(input_name))
            self._alarms.apply(policy.contact_opened(input_name, at))

    # LinkEvents, called by the link on the loop.

    def link_up(self) -> None:
        self._alarms.sender.link_up(self._clock())
        self._announcer.link_up()
        self._notify()

    def link_down(self) -> None:
        self._alarms.sender.link_down()
        self._notify()

    def ack_received(self, ack: AckMessage) -> None:
        self._alarms.ack(ack)

    async def _publish_confirmed(self, topic: str, payload: bytes) -> bool:
        """Publish at QoS 1; True once the broker confirmed it (PUBACK)."""
        return await self._link.round_trip(topic, payload, timeout=PUBLISH_TIMEOUT_S) is not None

    def announce_received(self, message: AnnounceMessage) -> None:
        self._announcer.received(message)

    def rejected(self, reason: str, detail: str) -> None:
        self._health.reject(reason, detail)

    def selftest_requested(self, run: SelftestRunMessage) -> None:
        log.info("self-test %s requested: %s", run.run_id, ",".join(run.checks) or "all")
        task = asyncio.create_task(self._selftest(run), name=f"selftest-{run.run_id}")
        self._selftests.add(task)
        task.add_done_callback(self._selftests.discard)

    def birth_payload(self) -> bytes:
        return self._health.birth_payload()

    def heartbeat_payload(self) -> bytes:
        return self._health.heartbeat_payload()

    async def _selftest(self, run: SelftestRunMessage) -> None:
        result = await self._selftester.run(run)
        if not self._link.publish(self._link.result_topic, encode(result)[1], qos=1):
            log.warning("self-test %s: result not sent (mqtt down)", run.run_id)

    # -- self-test probes ----------------------------------------------------------------

    def _read_outputs(self) -> dict[str, tuple[bool | None, bool | None]]:
        indicators = self._alarms.indicators
        if indicators is None:
            return {}
        policy = self._alarms.policy
        return indicators.readback({name: policy.led_state(name) for name in policy.inputs})

    async def _ping_board(self, timeout: float) -> float | None:
        if self._sensors is None:
            return None
        return await self._sensors.ping(f"st{uuid4().hex[:8]}", timeout)

    async def _broker_round_trip(self, timeout: float) -> float | None:
        return await self._link.round_trip(
            self._link.heartbeat_topic, self._health.heartbeat_payload(), timeout
        )

    # -- helpers -------------------------------------------------------------------------

    def _publish_status(self) -> None:
        """Faults changed: say so in the retained status now, not only in the next heartbeat."""
        self._link.publish(self._link.status_topic, self.birth_payload(), qos=1, retain=True)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


def _link_settings(settings: EdgeSettings) -> LinkSettings:
    return LinkSettings(
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
    )


def _path(path: object) -> str | None:
    return None if path is None else str(path)


def _secret(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


__all__ = ["EdgeAgent"]
