"""The edge's MQTT link: connect, birth and will, ack subscription, heartbeats, reconnect.

One connection at a time, MQTT 5. On every (re)connect it subscribes to the device's ack topic
first (so no ack can slip past), then publishes the retained "online" status, then tells the
agent (``link_up``), which sends every unacked alarm again. A clean session is enough: the
durable outbox, not the broker, is what keeps alarms until central confirms them.

Everything the broker sends is decoded with :func:`protocol.decode`; what fails is reported to
the agent with the error's reason (counted and logged there) and never ends the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiomqtt

from protocol import (
    AckMessage,
    AnnounceMessage,
    ProtocolError,
    SelftestRunMessage,
    Topic,
    TopicKind,
    decode,
)

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
GOODBYE_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 5.0


class LinkEvents(Protocol):
    """What the link tells the agent. All called on the event loop."""

    def link_up(self) -> None: ...
    def link_down(self) -> None: ...
    def ack_received(self, ack: AckMessage) -> None: ...
    def selftest_requested(self, run: SelftestRunMessage) -> None: ...
    def announce_received(self, message: AnnounceMessage) -> None: ...
    def rejected(self, reason: str, detail: str) -> None: ...
    def birth_payload(self) -> bytes: ...
    def heartbeat_payload(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str
    port: int
    username: str
    password: str | None  # None: the client certificate is the credential
    client_id: str
    keepalive_s: int
    site: str
    device: str
    heartbeat_interval_s: float
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 1.0
    # TLS: the office CA and this device's certificate/key (None: plain MQTT on loopback).
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def topic(self, kind: TopicKind) -> str:
        return str(Topic(self.site, self.device, kind))


class MqttLink:
    def __init__(
        self,
        settings: LinkSettings,
        events: LinkEvents,
        offline_payload: Callable[[], bytes],
    ) -> None:
        self._settings = settings
        self._events = events
        self._offline_payload = offline_payload
        self._client: aiomqtt.Client | None = None
        self._publishes: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.ack_topic = settings.topic(TopicKind.ACK)
        self.selftest_topic = settings.topic(TopicKind.SELFTEST_RUN)
        self.result_topic = settings.topic(TopicKind.SELFTEST_RESULT)
        self.status_topic = settings.topic(TopicKind.STATUS)
        self.heartbeat_topic = settings.topic(TopicKind.HEARTBEAT)
        self.announce_topic = settings.topic(TopicKind.ANNOUNCE)  # retained: the site's state
        self.announce_request_topic = settings.topic(TopicKind.ANNOUNCE_REQUEST)

    @property
    def _address(self) -> tuple[str, int]:
        return self._settings.host, self._settings.port

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def running(self) -> bool:
        """The connection loop's task runs: connected, or retrying (the watchdog's beat)."""
        return self._task is not None and not self._task.done()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Start publishing now, without waiting for the PUBACK. False when not connected.

        A publish that fails is only logged: anything that must arrive is in the outbox and
        goes out again on the next connect or resend.
        """
        client = self._client
        if client is None:
            return False
        task = asyncio.create_task(self._publish(client, topic, payload, qos, retain))
        self._publishes.add(task)
        task.add_done_callback(self._publishes.discard)
        return True

    async def round_trip(self, topic: str, payload: bytes, timeout: float = 2.0) -> float | None:
        """Publish at QoS 1 and wait for the broker's PUBACK: seconds taken, or None."""
        client = self._client
        if client is None:
            return None
        started = time.monotonic()
        try:
            await client.publish(topic, payload, qos=1, timeout=timeout)
        except aiomqtt.MqttError as exc:
            log.warning("round trip to the broker failed: %s", exc)
            return None
        return time.monotonic() - started

    async def _publish(
        self, client: aiomqtt.Client, topic: str, payload: bytes, qos: int, retain: bool
    ) -> None:
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=PUBLISH_TIMEOUT_S)
        except aiomqtt.MqttError as exc:
            log.warning("publish failed topic=%s error=%s (outbox keeps alarms)", topic, exc)
        else:
            log.debug("published topic=%s qos=%d bytes=%d", topic, qos, len(payload))

    def start(self) -> None:
        """Start the connection loop as a task; :meth:`close` ends it."""
        if self._task is None:
            self._closing.clear()
            self._task = asyncio.create_task(self._run(), name="edge-mqtt-link")

    async def close(self, grace_s: float = CLOSE_TIMEOUT_S) -> None:
        """Say "offline" (retained), disconnect cleanly (so the will is not sent), stop.

        The loop is asked to stop rather than cancelled: cancelling aiomqtt while it connects
        can leave a half-made connection behind (its connect runs on an executor thread). Only
        a loop that does not stop within ``grace_s`` is cancelled, repeatedly until it ends.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._closing.set()
        await asyncio.wait({task}, timeout=grace_s)
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        if not task.cancelled() and task.exception() is not None:
            log.error("mqtt link ended with %r", task.exception())

    async def _run(self) -> None:
        """Stay connected until closed, reconnecting with doubling waits."""
        delay = self._settings.reconnect_min_s
        while not self._closing.is_set():
            try:
                async with self._new_client() as client:
                    delay = self._settings.reconnect_min_s
                    if not self._closing.is_set():
                        await self._session(client)
            except aiomqtt.MqttError as exc:
                log.warning(
                    "mqtt link down host=%s port=%d error=%s retry_in=%.1fs",
                    self._settings.host,
                    self._settings.port,
                    exc,
                    delay,
                )
            finally:
                self._went_down()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
            delay = min(delay * 2, self._settings.reconnect_max_s)

    def _new_client(self) -> aiomqtt.Client:
        s = self._settings
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            # The broker's certificate is always checked against the CA (and its host name).
            tls_params=(
                aiomqtt.TLSParameters(ca_certs=s.tls_ca, certfile=s.tls_cert, keyfile=s.tls_key)
                if s.tls_ca
                else None
            ),
            keepalive=s.keepalive_s,
            timeout=PUBLISH_TIMEOUT_S,
            # An alarm is one small packet: send it now, not after Nagle's ~40 ms wait for the
            # previous packet's TCP ack (measured in bench/alarm_latency.py).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            will=aiomqtt.Will(self.status_topic, self._offline_payload(), qos=1, retain=True),
        )

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(self.ack_topic, qos=1)
        await client.subscribe(self.selftest_topic, qos=1)
        await client.subscribe(self.announce_topic, qos=1)
        await client.publish(self.status_topic, self._events.birth_payload(), qos=1, retain=True)
        self._client = client
        log.info(
            "mqtt connected host=%s port=%d client_id=%s",
            self._settings.host,
            self._settings.port,
            self._settings.client_id,
        )
        self._events.link_up()
        heartbeats = asyncio.create_task(self._heartbeats(client))
        receiving = asyncio.create_task(self._receive_all(client))
        closing = asyncio.create_task(self._closing.wait())
        try:
            await asyncio.wait({receiving, closing}, return_when=asyncio.FIRST_COMPLETED)
            if receiving.done():
                receiving.result()  # the MqttError that ended the connection
            else:
                await self._goodbye(client)
        finally:
            for task in (heartbeats, receiving, closing):
                task.cancel()
            await asyncio.gather(heartbeats, receiving, closing, return_exceptions=True)

    async def _receive_all(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._receive(str(message.topic), message.payload)

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        """A clean shutdown says "offline" itself; the will only covers crashes."""
        try:
            await client.publish(
                self.status_topic,
                self._offline_payload(),
                qos=1,
                retain=True,
                timeout=GOODBYE_TIMEOUT_S,
            )
        except aiomqtt.MqttError as exc:
            log.warning("status offline not published: %s", exc)
        else:
            log.info("status offline published (clean shutdown)")

    def _receive(self, topic: str, payload: object) -> None:
        if topic not in (self.ack_topic, self.selftest_topic, self.announce_topic):
            self._events.rejected("unexpected_topic", f"message on {topic}")
            return
        if not isinstance(payload, bytes | bytearray):
            self._events.rejected("bad_json", f"payload of type {type(payload).__name__}")
            return
        try:
            message = decode(topic, payload)
        except ProtocolError as exc:
            self._events.rejected(exc.reason, str(exc))
            return
        if isinstance(message, SelftestRunMessage):
            self._events.selftest_requested(message)
            return
        if isinstance(message, AnnounceMessage):
            self._events.announce_received(message)
            return
        if not isinstance(message, AckMessage):  # pragma: no cover - decode maps ack → AckMessage
            self._events.rejected("invalid_message", f"{type(message).__name__} on ack topic")
            return
        self._events.ack_received(message)

    async def _heartbeats(self, client: aiomqtt.Client) -> None:
        interval = self._settings.heartbeat_interval_s
        while True:
            try:
                await client.publish(self.heartbeat_topic, self._events.heartbeat_payload(), qos=0)
            except aiomqtt.MqttError as exc:
                # The receive loop sees the same disconnect and reconnects.
                log.warning("heartbeat publish failed: %s", exc)
            await asyncio.sleep(interval)

    def _went_down(self) -> None:
        was_up = self._client is not None
        self._client = None
        for task in list(self._publishes):
            task.cancel()
        if was_up:
            level = logging.INFO if self._closing.is_set() else logging.WARNING
            log.log(level, "mqtt disconnected host=%s port=%d", *self._address)
            self._events.link_down()
