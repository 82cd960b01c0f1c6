"""The lower-bound path: aiomqtt publish → Mosquitto → bench/bound_server.py → the screens.

The payload is a real AlarmNew frame of the same size central sends, so the screens, the broker
and the sockets do exactly the work they do on the real path; only central's logic is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
from pool import ReceiverPool
from sample import Sample
from sockets import set_nodelay

from protocol.messages import AlarmLevel, AlarmSource
from protocol.screen import AlarmNew, AlarmState, AlarmView, encode_frame
from tests.support.broker import Broker
from tests.support.net import free_port, wait_for_port

BOUND_SERVER = Path(__file__).with_name("bound_server.py")
BENCH_USER = "bench"  # the publisher
# The subscriber: its own account, since the broker binds a client id to its username (as
# deploy/ does), so two clients of one account would throw each other off.
BENCH_SUB_USER = "bench-sub"
TOPIC = "bench/bound/alarm"  # outside trygg/#: central must not see (or reject) these


def alarm_frame(alarm_id: uuid.UUID) -> bytes:
    view = AlarmView(
        alarm_id=alarm_id,
        site="bench",
        device="bench-edge",
        room="Møterom 101",
        level=AlarmLevel.ACUTE,
        source=AlarmSource.BUTTON,
        input="desk",
        raised_at=datetime.now(UTC),
        state=AlarmState.RAISED,
    )
    return encode_frame(AlarmNew(alarm=view)).encode()


def allow_bench_user(broker: Broker, password: str) -> None:
    """A broker user for the bound path, on its own topic tree (call before ``start``)."""
    for user in (BENCH_USER, BENCH_SUB_USER):
        broker.add_user(user, password)
        broker.acl.write_text(broker.acl.read_text() + f"\nuser {user}\ntopic readwrite bench/#\n")


class BoundPath:
    name = "bound"
    group = "bound"

    def __init__(self, broker: Broker, password: str) -> None:
        self.broker = broker
        self.password = password
        self.ws_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.stack = contextlib.AsyncExitStack()
        self.client: aiomqtt.Client | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BOUND_SERVER),
            "--mqtt-host",
            self.broker.host,
            "--mqtt-port",
            str(self.broker.port),
            "--user",
            BENCH_SUB_USER,
            f"--password={self.password}",  # a token may start with "-"
            "--topic",
            TOPIC,
            "--ws-port",
            str(self.ws_port),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line.startswith(b"ready"):
            raise RuntimeError(f"bound server did not start: {line!r}")
        await asyncio.to_thread(wait_for_port, self.ws_port)
        self.client = await self.stack.enter_async_context(
            aiomqtt.Client(
                self.broker.host,
                self.broker.port,
                username=BENCH_USER,
                password=self.password,
                identifier="trygg-bench-publisher",
            )
        )
        set_nodelay(self.client)

    async def stop(self) -> None:
        await self.stack.aclose()
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    async def open_screens(self, pool: ReceiverPool, count: int) -> int:
        return await pool.connect(self.group, "127.0.0.1", self.ws_port, "/", {}, count)

    async def press(self, pool: ReceiverPool, timeout: float) -> Sample:
        assert self.client is not None
        pool.drain(self.group)
        alarm_id = uuid.uuid4()
        payload = alarm_frame(alarm_id)
        pressed = time.time_ns()
        await self.client.publish(TOPIC, payload, qos=1)
        while True:
            delivery = await pool.next_delivery(self.group, timeout)
            if delivery.alarm_id == str(alarm_id):
                return Sample.of(pressed, delivery)

    def annotate(self, samples: list[Sample]) -> list[Sample]:
        return samples
