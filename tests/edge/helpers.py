"""Test helpers for the edge agent: settings, a running agent, an MQTT observer, central acks."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import aiomqtt
from gpiozero.pins.mock import MockPin

from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from protocol import (
    AckMessage,
    AckState,
    AlarmMessage,
    HeartbeatMessage,
    Message,
    StatusMessage,
    decode,
    encode,
)
from protocol.messages import Responder
from tests.support.agent_waits import wait_ready
from tests.support.broker import CENTRAL_USER, TESTER_PASSWORD, TESTER_USER, Broker

SITE = "oslo-sentrum"
DEVICE = "rom-101"
DEVICE_PASSWORD = "rom-101-test-password"
ROOM = "Møterom 101"
DESK_PIN, DESK_LED, DESK_BUZZER = 17, 27, 22
DOOR_PIN, DOOR_LED = 23, 24
ACK_TOPIC = f"trygg/v1/{SITE}/{DEVICE}/ack"


def edge_settings(broker: Broker, outbox: Path, **top: Any) -> EdgeSettings:
    """A device on ``broker`` with two buttons; short intervals so tests stay quick."""
    broker.add_user(DEVICE, DEVICE_PASSWORD)
    data: dict[str, Any] = {
        "site": SITE,
        "device": DEVICE,
        "room": ROOM,
        "heartbeat_interval_s": 0.5,
        "resend_interval_s": 0.5,
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "password": DEVICE_PASSWORD,
            "keepalive_s": 5,
            "reconnect_min_s": 0.05,
            "reconnect_max_s": 0.3,
        },
        "outbox": {"path": str(outbox)},
        "buttons": [
            {
                "input": "desk",
                "pin": DESK_PIN,
                "level": "acute",
                "led_pin": DESK_LED,
                "buzzer_pin": DESK_BUZZER,
            },
            {"input": "door", "pin": f"GPIO{DOOR_PIN}", "level": "assist", "led_pin": DOOR_LED},
        ],
    }
    data.update(top)
    return EdgeSettings.model_validate(data)


def alarm_ids(start: int = 1) -> Callable[[], UUID]:
    """Deterministic alarm ids: UUID(int=start), UUID(int=start + 1), ..."""
    counter = itertools.count(start)
    return lambda: UUID(int=next(counter))


@dataclass
class ManualClock:
    """A clock that moves only when the test says so (contact bounce without wall-clock luck)."""

    now: datetime = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@asynccontextmanager
async def running(agent: EdgeAgent) -> AsyncIterator[EdgeAgent]:
    """Run ``agent`` as a task; stop it cleanly at the end and surface its errors."""
    task = asyncio.create_task(agent.run())
    ready = asyncio.create_task(wait_ready(agent, 10))
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        ready.cancel()
        task.result()  # raises what stopped the agent
        raise AssertionError("agent stopped before it was ready")
    ready.result()
    try:
        yield agent
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)


async def poll(predicate: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    """Bounded polling for state that has no change notification (mock pin states)."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 - gpiozero's mock pins offer no event to await
            await asyncio.sleep(0.01)
    assert predicate(), what


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool

    def decoded(self) -> Message:
        return decode(self.topic, self.payload)


class Observer:
    """Subscribes to everything under trygg/ as the "tester" user; reconnects if the broker dies."""

    def __init__(self, broker: Broker, name: str = "observer") -> None:
        self.broker = broker
        self.name = name
        self.seen: list[Seen] = []
        self.subscribed = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Observer:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.subscribed.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self.broker.host,
                    self.broker.port,
                    username=TESTER_USER,
                    password=TESTER_PASSWORD,
                    identifier=f"{self.name}-{id(self)}",
                    protocol=aiomqtt.ProtocolVersion.V5,
                ) as client:
                    await client.subscribe("trygg/#", qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        payload = message.payload
                        assert isinstance(payload, bytes | bytearray)
                        self.seen.append(Seen(str(message.topic), bytes(payload), message.retain))
                        self._changed.set()
                        self._changed = asyncio.Event()
            except aiomqtt.MqttError:
                self.subscribed.clear()
                await asyncio.sleep(0.05)

    async def wait_for(
        self, predicate: Callable[[], bool], within: float = 10.0, what: str = "message"
    ) -> None:
        try:
            async with asyncio.timeout(within):
                while True:
                    changed = self._changed
                    if predicate():
                        return
                    await changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"observer: no {what} within {within} s; saw {self.seen}"
            ) from None

    def of_kind(self, kind: type[Message]) -> Iterator[tuple[Seen, Message]]:
        for seen in self.seen:
            if seen.topic.endswith("/ack"):
                continue
            message = seen.decoded()
            if isinstance(message, kind):
                yield seen, message

    def alarms(self) -> list[AlarmMessage]:
        return [m for _, m in self.of_kind(AlarmMessage) if isinstance(m, AlarmMessage)]

    def statuses(self) -> list[tuple[bool, StatusMessage]]:
        return [
            (s.retain, m) for s, m in self.of_kind(StatusMessage) if isinstance(m, StatusMessage)
        ]

    def heartbeats(self) -> list[HeartbeatMessage]:
        return [m for _, m in self.of_kind(HeartbeatMessage) if isinstance(m, HeartbeatMessage)]

    async def wait_alarm(
        self, predicate: Callable[[AlarmMessage], bool], within: float = 10.0
    ) -> AlarmMessage:
        await self.wait_for(lambda: any(predicate(a) for a in self.alarms()), within, "alarm")
        return next(a for a in self.alarms() if predicate(a))


async def central_ack(
    broker: Broker,
    alarm_id: UUID,
    state: AckState,
    responders: tuple[str, ...] = (),
    presses: int | None = None,
    input_name: str | None = None,
    at: datetime | None = None,
    rev: int | None = None,
    shown: bool = True,
) -> None:
    """Publish an ack the way central does (user "central", QoS 1), with mosquitto_pub.

    ``presses``: the count central has stored; None, as from a central that predates it.
    ``input_name``: the alarm's input, as central's state sync names it.
    ``at``: when central sent the state (default: now); an older one makes a stale ack.
    ``rev``: the revision of central's record (None: an older central); ``shown``: false for
    an alarm stored but on nobody's screen yet.
    """
    now = at or datetime.now(UTC)
    ack = AckMessage(
        site=SITE,
        device=DEVICE,
        alarm_id=alarm_id,
        state=state,
        responders=tuple(Responder(user=r, name=r.title(), at=now) for r in responders),
        at=now,
        presses=presses,
        input=input_name,
        rev=rev,
        shown=shown,
    )
    topic, payload = encode(ack)
    await asyncio.to_thread(broker.pub, topic, payload, CENTRAL_USER)


async def raw_to_ack_topic(broker: Broker, payload: bytes) -> None:
    """A buggy or hostile client writes straight to the device's ack topic."""
    await asyncio.to_thread(broker.pub, ACK_TOPIC, payload)


class HoldablePin(MockPin):  # type: ignore[misc]
    """A mock input whose contact can be closed before the edge opens it: a button still held
    when the edge starts. gpiozero sets the pull (and so the level) when a Button opens the
    pin; a held pin is closed again right after. Use as ``MockFactory(pin_class=HoldablePin)``.
    """

    held = False

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        if self.held:
            self.drive_low() if value == "up" else self.drive_high()
