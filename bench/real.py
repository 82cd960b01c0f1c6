"""The real path: a button on an edge agent (gpiozero mock pins) → Mosquitto → ``trygg-central``
→ the screens.

The edge runs in the bench's event loop (it is the bench's job to press its buttons); broker and
central are real processes. One control screen (not counted) resolves each alarm after it has
reached every measured screen, so that the next press raises a new alarm rather than counting as
a re-press. Presses go round the buttons, so no button is pressed again while its previous alarm
might still be active on the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from gpiozero.pins.mock import MockFactory
from pool import ReceiverPool
from sample import Sample
from websockets.asyncio.client import ClientConnection, connect

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from protocol.errors import ProtocolError
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    Command,
    CommandKind,
    Ping,
    Pong,
    decode_server_frame,
    encode_frame,
)
from tests.support.agent_waits import wait_connected, wait_for, wait_ready
from tests.support.broker import (
    CENTRAL_PASSWORD,
    CENTRAL_USER,
    TESTER_PASSWORD,
    TESTER_USER,
    Broker,
)
from tests.support.net import free_port

CENTRAL = Path(sys.executable).with_name("trygg-central")
SITE = "bench"
DEVICE = "bench-edge"
# (button pin, LED pin): eight buttons, each with the LED a real installation has.
BUTTONS = [(4, 19), (5, 20), (6, 21), (12, 22), (13, 23), (16, 24), (17, 25), (18, 26)]
BUZZER_PIN = 27
_ORDER = [AlarmState.RAISED, AlarmState.RECEIVED, AlarmState.ACKNOWLEDGED, AlarmState.RESOLVED]


def central_toml(broker: Broker, http_port: int, store: Path, token: str) -> str:
    return f"""
[mqtt]
host = "{broker.host}"
port = {broker.port}
username = "{CENTRAL_USER}"
password = "{CENTRAL_PASSWORD}"
client_id = "trygg-central-bench"

[http]
host = "127.0.0.1"
port = {http_port}

[store]
path = "{store}"

[[sites]]
id = "{SITE}"
name = "Bench office"

[[devices]]
site = "{SITE}"
id = "{DEVICE}"
room = "Bench room"

[[users]]
id = "bench-screens"
name = "Bench Screens"
token = "{token}"
sites = ["{SITE}"]
"""


def edge_toml(broker: Broker, password: str, outbox: Path) -> str:
    buttons = "".join(
        f"""
[[buttons]]
input = "button-{i}"
pin = {pin}
level = "acute"
pull_up = true
bounce_ms = 30
led_pin = {led}
{f"buzzer_pin = {BUZZER_PIN}" if i == 0 else ""}
"""
        for i, (pin, led) in enumerate(BUTTONS)
    )
    return f"""
site = "{SITE}"
device = "{DEVICE}"
room = "Møterom 101"
heartbeat_interval_s = 10.0
resend_interval_s = 5.0

[mqtt]
host = "{broker.host}"
port = {broker.port}
password = "{password}"

[outbox]
path = "{outbox}"
{buttons}"""


class MqttSpy:
    """mosquitto_sub (C, its own process) stamping the alarm and its ack as they pass the broker.

    Not on the measured path; it splits the real path's time into edge → broker → central.
    """

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.seen: dict[tuple[str, str], int] = {}  # (kind, alarm_id) -> time.time_ns()
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "mosquitto_sub",
            "-h",
            self.broker.host,
            "-p",
            str(self.broker.port),
            "-u",
            TESTER_USER,
            "-P",
            TESTER_PASSWORD,
            "-q",
            "0",
            "-t",
            f"trygg/v1/{SITE}/{DEVICE}/alarm",
            "-t",
            f"trygg/v1/{SITE}/{DEVICE}/ack",
            "-F",
            "%U %t %p",
            stdout=asyncio.subprocess.PIPE,
        )
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc
        assert self.proc.stdout
        while line := await self.proc.stdout.readline():
            stamp, topic, payload = line.decode().split(" ", 2)
            with contextlib.suppress(ValueError, KeyError):
                message = json.loads(payload)
                kind = topic.rsplit("/", 1)[1]
                if kind == "ack":
                    kind = f"ack:{message['state']}"
                # The first copy counts: resends and re-sent acks come later.
                key = (kind, message["alarm_id"])
                seconds, _, nanos = stamp.partition(".")
                self.seen.setdefault(key, int(seconds) * 1_000_000_000 + int(nanos.ljust(9, "0")))

    def since(self, kind: str, alarm_id: str, pressed_ns: int) -> float | None:
        stamp = self.seen.pop((kind, alarm_id), None)
        return None if stamp is None else (stamp - pressed_ns) / 1e6

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        if self.task:
            self.task.cancel()


class ControlScreen:
    """One extra screen, not measured: it sees every state and sends ``resolve``.

    It answers central's liveness ``ping`` like a desk does (protocol.screen.Ping): central
    closes a screen that answers none for a few seconds, and the bench then waited in vain for
    the next alarm's "received". Frames it does not know are skipped, not fatal, so a frame
    type added to the screen contract later cannot end its reader; if the connection ends
    anyway, :meth:`wait_state` says so at once instead of timing out in silence.
    """

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.states: dict[str, AlarmState] = {}
        self.changed = asyncio.Event()
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            compression=None,
            max_size=2**20,
        )
        self.task = asyncio.create_task(self._read(self.ws))

    def local_port(self) -> int:
        assert self.ws is not None
        return int(self.ws.local_address[1])

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        if self.ws:
            await self.ws.close()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                try:
                    frame = decode_server_frame(text)
                except ProtocolError:
                    continue  # a frame this bench does not know; not one it waits for
                if isinstance(frame, Ping):
                    await ws.send(encode_frame(Pong(seq=frame.seq)))
                elif isinstance(frame, AlarmNew | AlarmUpdate):
                    self.states[str(frame.alarm.alarm_id)] = frame.alarm.state
                    self.changed.set()
        finally:
            self.changed.set()  # wake a waiter: the connection is over

    async def wait_state(self, alarm_id: str, state: AlarmState, timeout: float) -> None:
        """Until the alarm has reached ``state`` (or a later one)."""
        wanted = _ORDER.index(state)
        async with asyncio.timeout(timeout):
            while _ORDER.index(self.states.get(alarm_id, AlarmState.RAISED)) < wanted:
                if self.task is not None and self.task.done():
                    code = self.ws.close_code if self.ws is not None else None
                    raise RuntimeError(
                        f"the control screen's connection ended (close code {code}) while "
                        f"alarm {alarm_id} was not yet {state}"
                    )
                self.changed.clear()
                await self.changed.wait()

    async def resolve(self, alarm_id: str, timeout: float) -> None:
        assert self.ws is not None
        command = Command(type=CommandKind.RESOLVE, alarm_id=uuid.UUID(alarm_id))
        await self.ws.send(encode_frame(command))
        await self.wait_state(alarm_id, AlarmState.RESOLVED, timeout)


class RealPath:
    name = "real"
    group = "central"

    def __init__(self, broker: Broker, workdir: Path) -> None:
        self.broker = broker
        self.workdir = workdir
        self.token = secrets.token_urlsafe(32)
        self.http_port = free_port()
        self.edge_password = secrets.token_urlsafe(24)
        broker.add_user(DEVICE, self.edge_password)
        self.central: asyncio.subprocess.Process | None = None
        self.central_log = workdir / "central.log"
        self.factory = MockFactory()
        self.agent: EdgeAgent | None = None
        self.agent_task: asyncio.Task[None] | None = None
        self.control = ControlScreen(f"ws://127.0.0.1:{self.http_port}/ws", self.token)
        self.spy = MqttSpy(broker)
        self.turn = 0

    async def start(self) -> None:
        await self.spy.start()
        config = self.workdir / "central.toml"
        config.write_text(
            central_toml(self.broker, self.http_port, self.workdir / "central.db", self.token)
        )
        with self.central_log.open("ab") as log:
            self.central = await asyncio.create_subprocess_exec(
                str(CENTRAL), "--config", str(config), stdout=log, stderr=log
            )
        await self._wait_central_ready()
        edge_config = self.workdir / "edge.toml"
        edge_config.write_text(
            edge_toml(self.broker, self.edge_password, self.workdir / "edge-outbox.db")
        )
        # The edge's INFO lines (one per publish and LED change) would go to this terminal.
        logging.basicConfig(level=logging.WARNING)
        self.agent = EdgeAgent(load_settings(EdgeSettings, edge_config), pin_factory=self.factory)
        self.agent_task = asyncio.create_task(self.agent.run())
        await wait_ready(self.agent, 10)
        await wait_connected(self.agent, 10)
        await self.control.open()

    async def _wait_central_ready(self) -> None:
        url = f"http://127.0.0.1:{self.http_port}/healthz"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.central and self.central.returncode is not None:
                break
            with contextlib.suppress(OSError, ValueError):
                body = await asyncio.to_thread(_get, url)
                if json.loads(body).get("mqtt") == "connected":
                    return
            await asyncio.sleep(0.1)
        log_tail = self.central_log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"central did not become ready; its log ends:\n{log_tail}")

    async def stop(self) -> None:
        """Stop whatever :meth:`start` got to, in reverse order."""
        await self.control.close()
        if self.agent and self.agent_task:
            self.agent.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.agent_task, 10)
        if self.central and self.central.returncode is None:
            self.central.terminate()
            try:
                await asyncio.wait_for(self.central.wait(), 10)
            except TimeoutError:
                self.central.kill()
                await self.central.wait()
        self.factory.close()
        await self.spy.stop()

    async def open_screens(self, pool: ReceiverPool, count: int) -> int:
        await pool.ignore(self.http_port, self.control.local_port())
        headers = {"Authorization": f"Bearer {self.token}"}
        return await pool.connect(self.group, "127.0.0.1", self.http_port, "/ws", headers, count)

    async def press(self, pool: ReceiverPool, timeout: float) -> Sample:
        assert self.agent is not None
        agent = self.agent
        pin, _led = BUTTONS[self.turn % len(BUTTONS)]
        name = f"button-{self.turn % len(BUTTONS)}"
        self.turn += 1
        # Its last alarm must be over on the edge too, or this press would count on that one.
        await wait_for(agent, lambda: agent.active_alarm(name) is None, 10, f"{name} idle")
        pool.drain(self.group)
        button = self.factory.pin(pin)
        pressed = time.time_ns()
        button.drive_low()  # contact to ground: pressed
        try:
            delivery = await pool.next_delivery(self.group, timeout)
        finally:
            button.drive_high()
        expected = agent.active_alarm(name)
        if expected is not None and str(expected) != delivery.alarm_id:
            raise RuntimeError(f"screens got alarm {delivery.alarm_id}, the edge raised {expected}")
        # "received" means central committed it and acked the edge; wait for it, then resolve.
        await self.control.wait_state(delivery.alarm_id, AlarmState.RECEIVED, timeout)
        await self.control.resolve(delivery.alarm_id, timeout)
        return Sample.of(pressed, delivery)

    def annotate(self, samples: list[Sample]) -> list[Sample]:
        """Add the spy's split (press → broker, press → "received" ack) to each sample."""
        return [
            dataclasses.replace(
                s,
                broker_ms=self.spy.since("alarm", s.alarm_id, s.pressed_ns),
                ack_ms=self.spy.since("ack:received", s.alarm_id, s.pressed_ns),
            )
            for s in samples
        ]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bytes(response.read())
