"""``trygg-sim fleet``: thousands of lightweight edges in one asyncio process, for load tests.

Each simulated device has its own MQTT connection and speaks the wire contract (protocol/):
a retained ``status`` online with a retained offline last will, a QoS 0 ``heartbeat`` every
``--heartbeat-s``, QoS 1 ``alarm`` messages at ``--alarms-per-s`` across the fleet (each from a
random device), and it counts central's ``ack`` for them. Alarms are flagged ``test`` unless
``--visible-alarms`` (central stores and acks test alarms but shows them on no screen). No GPIO,
outbox or LED logic: only what the broker and central see. At the end it prints one JSON
object with what the process sustained (connections, heartbeats/s, how late heartbeats left,
alarms sent/acked, ack latency).

The password comes from ``--password-file`` or ``TRYGG_SIM_FLEET_PASSWORD`` (never from the
command line, where ``ps`` shows it). By default each device logs in as itself (username =
device id, as the ACL expects); ``--user`` makes every device use one account instead, e.g. a
test broker's account that may publish anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import resource
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from protocol import codec
from protocol.messages import (
    AckMessage,
    AlarmLevel,
    AlarmMessage,
    AlarmSource,
    Health,
    HeartbeatMessage,
    StatusMessage,
    utcnow,
)
from protocol.topics import Topic, TopicKind, valid_id

log = logging.getLogger(__name__)
PASSWORD_ENV = "TRYGG_SIM_FLEET_PASSWORD"
CONNECT_TIMEOUT_S = 15.0
LAG_SAMPLES = 200_000  # enough for percentiles; bounded so that a long run does not grow


def add_fleet_parser(sub: Any) -> None:
    fleet = sub.add_parser(
        "fleet",
        help="many lightweight simulated edges against a broker (load test)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fleet.add_argument("--broker", required=True, help="host:port of the MQTT broker")
    fleet.add_argument("--devices", type=int, default=100)
    fleet.add_argument("--site", default="fleet", help="site id of every device (default fleet)")
    fleet.add_argument("--prefix", default="sim-", help="device ids are <prefix><n>")
    fleet.add_argument("--heartbeat-s", type=float, default=10.0, help="per device (default 10)")
    fleet.add_argument("--alarms-per-s", type=float, default=0.0, help="across the fleet")
    fleet.add_argument("--duration-s", type=float, default=30.0, help="0 = until Ctrl-C")
    fleet.add_argument("--user", help="one account for all devices (default: each its own id)")
    fleet.add_argument("--password-file", type=Path, help=f"else ${PASSWORD_ENV}")
    fleet.add_argument("--connect-concurrency", type=int, default=64)
    fleet.add_argument(
        "--visible-alarms",
        action="store_true",
        help="send real alarms (default: test alarms, which central stores and shows nobody)",
    )


@dataclass
class Stats:
    connected: int = 0
    peak_connected: int = 0
    connect_failures: int = 0
    heartbeats: int = 0
    heartbeat_lag_s: list[float] = field(default_factory=list)
    alarms_sent: int = 0
    alarms_acked: int = 0
    ack_latency_s: list[float] = field(default_factory=list)
    pending: dict[uuid.UUID, float] = field(default_factory=dict)

    def sample(self, samples: list[float], value: float) -> None:
        if len(samples) < LAG_SAMPLES:
            samples.append(value)
        else:
            samples[random.randrange(LAG_SAMPLES)] = value


@dataclass(frozen=True)
class FleetConfig:
    host: str
    port: int
    site: str
    devices: list[str]
    heartbeat_s: float
    alarms_per_s: float
    duration_s: float
    password: str
    user: str | None
    connect_concurrency: int
    visible_alarms: bool = False


class Device:
    def __init__(self, config: FleetConfig, device: str, stats: Stats) -> None:
        self.config = config
        self.id = device
        self.stats = stats
        self.client: aiomqtt.Client | None = None
        self.started = time.monotonic()

    def _topic(self, kind: TopicKind) -> str:
        return str(Topic(self.config.site, self.id, kind))

    async def run(self, stop: asyncio.Event, gate: asyncio.Semaphore) -> None:
        offline = StatusMessage(site=self.config.site, device=self.id, state="offline")
        _, offline_payload = codec.encode(offline)
        backoff = 1.0
        while not stop.is_set():
            client = aiomqtt.Client(
                self.config.host,
                self.config.port,
                identifier=self.id,
                username=self.config.user or self.id,
                password=self.config.password,
                keepalive=30,
                will=aiomqtt.Will(self._topic(TopicKind.STATUS), offline_payload, 1, True),
            )
            try:
                async with gate:
                    # aiomqtt waits for CONNACK without a limit; a lost one must not hang us.
                    await asyncio.wait_for(client.__aenter__(), CONNECT_TIMEOUT_S)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                self.stats.connect_failures += 1
                log.debug("%s: connect failed: %r", self.id, exc)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.__aexit__(None, None, None), 1)
                await _sleep_or_stop(stop, backoff + random.random())
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            try:
                await self._connected(client, stop)
            except aiomqtt.MqttError as exc:
                log.debug("%s: connection lost: %s", self.id, exc)
            finally:
                self.client = None
                self.stats.connected -= 1
                if stop.is_set():  # a clean shutdown says so itself; the will is for crashes
                    with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                        topic = self._topic(TopicKind.STATUS)
                        await asyncio.wait_for(client.publish(topic, offline_payload, 1, True), 5)
                with contextlib.suppress(aiomqtt.MqttError, RuntimeError, TimeoutError):
                    await asyncio.wait_for(client.__aexit__(None, None, None), 5)

    async def _connected(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        self.stats.connected += 1
        self.stats.peak_connected = max(self.stats.peak_connected, self.stats.connected)
        await client.subscribe(self._topic(TopicKind.ACK), qos=1)
        online = StatusMessage(site=self.config.site, device=self.id, state="online", at=utcnow())
        _, payload = codec.encode(online)
        await client.publish(self._topic(TopicKind.STATUS), payload, 1, True)
        self.client = client
        tasks = [
            asyncio.create_task(self._heartbeats(client)),
            asyncio.create_task(self._acks(client)),
        ]
        stopped = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopped:
                    task.result()  # a lost connection: raise it
        finally:
            for task in [*tasks, stopped]:
                task.cancel()
            # Collect them, so that a task that failed as the connection went is not reported
            # as "exception never retrieved".
            await asyncio.gather(*tasks, stopped, return_exceptions=True)

    async def _heartbeats(self, client: aiomqtt.Client) -> None:
        interval = self.config.heartbeat_s
        due = time.monotonic() + random.uniform(0, interval)  # spread, as real edges are
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            late = time.monotonic() - due
            self.stats.sample(self.stats.heartbeat_lag_s, late)
            beat = HeartbeatMessage(
                site=self.config.site,
                device=self.id,
                at=utcnow(),
                interval_s=interval,
                health=Health(uptime_s=time.monotonic() - self.started),
            )
            topic, payload = codec.encode(beat)
            await client.publish(topic, payload, 0)
            self.stats.heartbeats += 1
            due += interval
            if late > interval:  # fell a whole beat behind: do not burst to catch up
                due = time.monotonic() + interval

    async def _acks(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                ack = codec.decode(str(message.topic), bytes(message.payload))
            except Exception as exc:
                log.warning("%s: bad ack: %s", self.id, exc)
                continue
            if isinstance(ack, AckMessage) and ack.alarm_id in self.stats.pending:
                sent = self.stats.pending.pop(ack.alarm_id)
                self.stats.alarms_acked += 1
                self.stats.sample(self.stats.ack_latency_s, time.monotonic() - sent)

    async def raise_alarm(self) -> None:
        client = self.client
        if client is None:
            return
        alarm = AlarmMessage(
            site=self.config.site,
            device=self.id,
            alarm_id=uuid.uuid4(),
            level=AlarmLevel.ASSIST,
            room=f"Fleet room {self.id}",
            source=AlarmSource.BUTTON,
            input="desk",
            raised_at=utcnow(),
            test=not self.config.visible_alarms,
        )
        topic, payload = codec.encode(alarm)
        self.stats.pending[alarm.alarm_id] = time.monotonic()
        self.stats.alarms_sent += 1
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(topic, payload, 1)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _alarms(devices: list[Device], rate: float, stop: asyncio.Event) -> None:
    if rate <= 0:
        return
    sending: set[asyncio.Task[None]] = set()
    due = time.monotonic()
    while not stop.is_set():
        due += 1.0 / rate
        await _sleep_or_stop(stop, max(0.0, due - time.monotonic()))
        task = asyncio.create_task(random.choice(devices).raise_alarm())
        sending.add(task)
        task.add_done_callback(sending.discard)


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


async def fleet(config: FleetConfig, stop: asyncio.Event | None = None) -> dict[str, Any]:
    """Run the fleet for ``config.duration_s`` (or until ``stop``); return the report."""
    stop = stop or asyncio.Event()
    stats = Stats()
    gate = asyncio.Semaphore(config.connect_concurrency)
    devices = [Device(config, name, stats) for name in config.devices]
    cpu_before = time.process_time()
    began = time.monotonic()
    runners = [asyncio.create_task(d.run(stop, gate)) for d in devices]
    # Ramp-up: until every device is connected (or two minutes, or a stop).
    while stats.connected < len(devices) and time.monotonic() - began < 120:
        if stop.is_set():
            break
        await asyncio.sleep(0.05)
    connect_s = time.monotonic() - began
    steady = time.monotonic()
    heartbeats_before = stats.heartbeats
    stats.heartbeat_lag_s.clear()  # the ramp-up's lateness is not the steady state's
    alarms = asyncio.create_task(_alarms(devices, config.alarms_per_s, stop))
    if config.duration_s > 0:
        await _sleep_or_stop(stop, config.duration_s)
    else:
        await stop.wait()
    window = time.monotonic() - steady
    heartbeats = stats.heartbeats - heartbeats_before
    alarms.cancel()
    # Time for acks still on their way (central acks after its commit); then whatever is
    # still unanswered is reported as such.
    drain_until = time.monotonic() + 10
    while stats.pending and time.monotonic() < drain_until:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    stop.set()
    _, stuck = await asyncio.wait([alarms, *runners], timeout=30)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)
    return {
        "devices": len(devices),
        "connected_peak": stats.peak_connected,
        "connect_failures": stats.connect_failures,
        "connect_s": round(connect_s, 2),
        "window_s": round(window, 2),
        "heartbeats": heartbeats,
        "heartbeats_per_s": round(heartbeats / window, 1) if window else 0.0,
        "heartbeat_lag_ms": _percentiles(stats.heartbeat_lag_s),
        "alarms_sent": stats.alarms_sent,
        "alarms_acked": stats.alarms_acked,
        "alarms_unacked": len(stats.pending),
        "ack_latency_ms": _percentiles(stats.ack_latency_s),
        "cpu_s": round(time.process_time() - cpu_before, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _config(args: argparse.Namespace) -> FleetConfig:
    from firmware_sim.errors import SimError

    host, _, port = str(args.broker).rpartition(":")
    if not host or not port.isdigit():
        raise SimError(f"--broker must be host:port, not {args.broker!r}")
    if args.password_file:
        try:
            password = args.password_file.read_text().strip()
        except OSError as exc:
            raise SimError(f"cannot read {args.password_file}: {exc.strerror}") from None
    else:
        password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise SimError(f"no password: use --password-file or set {PASSWORD_ENV}")
    if args.devices < 1 or args.heartbeat_s <= 0:
        raise SimError("--devices must be at least 1 and --heartbeat-s above 0")
    width = len(str(args.devices))
    names = [f"{args.prefix}{n:0{width}d}" for n in range(1, args.devices + 1)]
    bad = [n for n in (args.site, names[0], names[-1]) if not valid_id(n)]
    if bad:
        raise SimError(f"not a valid site/device id: {bad[0]!r}")
    return FleetConfig(
        host=host,
        port=int(port),
        site=args.site,
        devices=names,
        heartbeat_s=args.heartbeat_s,
        alarms_per_s=args.alarms_per_s,
        duration_s=args.duration_s,
        password=password,
        user=args.user,
        connect_concurrency=args.connect_concurrency,
        visible_alarms=args.visible_alarms,
    )


async def _until_signal(config: FleetConfig) -> dict[str, Any]:
    """The fleet; Ctrl-C or SIGTERM end it early and still print the report."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return await fleet(config, stop)


def run_fleet(args: argparse.Namespace) -> int:
    config = _config(args)
    # Every connection is a file descriptor: take what the hard limit allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    report = asyncio.run(_until_signal(config))
    print(json.dumps(report), flush=True)
    return 0 if report["connected_peak"] == len(config.devices) else 1
