"""MQTT ingest and acks (aiomqtt, MQTT 5).

Central connects with a fixed client id, ``clean_start=False`` and a long session expiry, so
the broker keeps its subscriptions and queues QoS 1 alarms while central is down (restart,
upgrade, crash); they arrive when it is back. Every payload is decoded by ``protocol.decode``;
what fails is logged in one line and counted by reason, and never stops the link.

Acks and runs are delivered at least once: one that was not confirmed by the broker (the link
went down before its PUBACK, or the publish failed) goes back to the head of the queue, in its
order, and out again on the next connection. A device's ``announce`` is a state, not an event:
only the latest per device is kept (never dropped, however long the outage; the bounded queue
of acks and runs may drop its oldest), and an older one not confirmed never replaces a newer.
Reconnecting is retried at most a second apart:
a local broker that refuses connections costs nothing to ask again, and every second of
absence is a second an alarm waits.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central.config import MqttSettings
from central.core import AckEdge
from central.link.devices import Devices
from protocol import (
    AckMessage,
    AlarmMessage,
    AnnounceMessage,
    AnnounceRequestMessage,
    Message,
    ProtocolError,
    SelftestRunMessage,
    TopicKind,
    decode,
    encode,
)
from protocol.topics import subscription

log = logging.getLogger(__name__)

INGEST_KINDS = (
    TopicKind.ALARM,
    TopicKind.STATUS,
    TopicKind.HEARTBEAT,
    TopicKind.EVENT,
    TopicKind.SELFTEST_RESULT,
    TopicKind.ANNOUNCE_REQUEST,
)
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 1.0
MAX_PENDING_ACKS = 10_000  # while disconnected; an edge whose ack is dropped resends anyway


Outgoing = AckEdge | SelftestRunMessage | AnnounceMessage


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MqttLink:
    """Run :meth:`run` as a task; cancel it to stop. ``on_alarm`` is called on the loop."""

    def __init__(
        self,
        settings: MqttSettings,
        on_alarm: Callable[[AlarmMessage], None],
        rejected: Counter[str],
        clock: Callable[[], datetime] = _utcnow,
        on_device: Callable[[Message], None] | None = None,
        on_link: Callable[[bool], None] | None = None,
        on_announce: Callable[[AnnounceRequestMessage], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_alarm = on_alarm
        self._on_device = on_device
        self._on_announce = on_announce  # a device's announce/request (central.announcing)
        # Told True once subscribed, False when the link drops or a connect fails (may repeat):
        # supervision blames the broker link then, not the devices it cannot hear.
        self._on_link = on_link
        self.rejected = rejected
        self._clock = clock
        self.devices = Devices()
        self.connected = False
        self.connects = 0  # links established (subscribed) since start: reconnects = this - 1
        self.received = 0
        # (sequence number, item): the number keeps the order when unsent items are requeued.
        self._acks: deque[tuple[int, Outgoing]] = deque(maxlen=MAX_PENDING_ACKS)
        # Each device's latest announce to send, by (site, device): bounded by the registry.
        self._announces: dict[tuple[str, str], tuple[int, AnnounceMessage]] = {}
        self._sequence = 0
        self._unconfirmed: dict[int, Outgoing] = {}  # handed to the client, no PUBACK yet
        self._acks_waiting = asyncio.Event()
        self._publishing: set[asyncio.Task[None]] = set()

    # --- acks ----------------------------------------------------------------------------

    def publish_ack(self, ack: AckEdge) -> None:
        """Queue an ack (never blocks); it goes out now, or as soon as the link is back."""
        self._queue(ack)

    def publish_run(self, run: SelftestRunMessage) -> None:
        """Queue a ``selftest/run`` for a device (QoS 1); no answer by its deadline = failed."""
        self._queue(run)

    def publish_announce(self, message: AnnounceMessage) -> None:
        """Queue a device's ``announce`` (QoS 1, retained: a reconnecting edge gets it); it
        replaces one for the same device still waiting to go."""
        self._sequence += 1
        key = (message.site, message.device)
        self._announces.pop(key, None)  # to the end: the dict's order is the sending order
        self._announces[key] = (self._sequence, message)
        self._acks_waiting.set()

    @property
    def pending(self) -> int:
        """Acks, runs and announces not yet confirmed by the broker (queued or in flight)."""
        return len(self._acks) + len(self._announces) + len(self._unconfirmed)

    def _queue(self, item: Outgoing) -> None:
        self._sequence += 1
        self._acks.append((self._sequence, item))
        self._acks_waiting.set()

    def _take(self) -> tuple[int, Outgoing] | None:
        """The next item to publish: acks and runs first (an alarm's ack waits for nothing),
        then the announces."""
        if self._acks:
            return self._acks.popleft()
        if self._announces:
            key = next(iter(self._announces))
            return self._announces.pop(key)
        return None

    async def _publish_acks(self, client: aiomqtt.Client) -> None:
        while True:
            await self._acks_waiting.wait()
            while (taken := self._take()) is not None:
                number, item = taken
                self._unconfirmed[number] = item
                task = asyncio.create_task(self._publish(client, number, item))
                self._publishing.add(task)
                task.add_done_callback(self._publishing.discard)
            self._acks_waiting.clear()

    def _requeue_unconfirmed(self) -> None:
        """The link is down: what the broker did not confirm goes first on the next link."""
        for task in tuple(self._publishing):
            task.cancel()
        if self._unconfirmed:
            log.info("mqtt: %d acks/runs not confirmed; requeued", len(self._unconfirmed))
            unsent = sorted(self._unconfirmed.items(), reverse=True)
            self._acks.extendleft((n, i) for n, i in unsent if not isinstance(i, AnnounceMessage))
            for number, item in reversed(unsent):  # oldest first: a newer one wins
                if isinstance(item, AnnounceMessage):
                    key = (item.site, item.device)
                    queued = self._announces.get(key)
                    if queued is None or queued[0] < number:
                        self._announces[key] = (number, item)
            self._unconfirmed.clear()

    async def _publish(self, client: aiomqtt.Client, number: int, item: Outgoing) -> None:
        retain = False
        if isinstance(item, SelftestRunMessage):
            topic, payload = encode(item)
            what = f"selftest run {item.run_id}"
        elif isinstance(item, AnnounceMessage):
            topic, payload = encode(item)
            what, retain = f"announce {item.kind}", True
        else:
            message = AckMessage(
                site=item.site,
                device=item.device,
                alarm_id=item.alarm_id,
                state=item.state,
                responders=item.responders,
                at=item.at,
                presses=item.presses,
                input=item.input,
                rev=item.rev,
                shown=item.shown,
                drill=item.drill,
            )
            topic, payload = encode(message)
            what = f"ack {item.alarm_id} {item.state}"
        try:
            await client.publish(topic, payload, qos=1, retain=retain)
        except aiomqtt.MqttError as exc:
            # Kept as unconfirmed: requeued, in order, when this link is found down.
            log.warning("mqtt: %s to %s not sent yet (%s); will resend", what, topic, exc)
            return
        self._unconfirmed.pop(number, None)

    # --- the connection ------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._settings.session_expiry_s
        return aiomqtt.Client(
            self._settings.host,
            self._settings.port,
            username=self._settings.username,
            password=self._settings.password,
            # Brokers configured as deploy/ bind the client id to the account
            # (use_username_as_clientid): central's session is then kept under its username.
            identifier=self._settings.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            # The broker's certificate is always checked against the office CA.
            tls_params=(
                aiomqtt.TLSParameters(
                    ca_certs=str(self._settings.tls_ca),
                    certfile=str(self._settings.tls_cert) if self._settings.tls_cert else None,
                    keyfile=str(self._settings.tls_key) if self._settings.tls_key else None,
                )
                if self._settings.tls_ca
                else None
            ),
            clean_start=False,
            properties=properties,
            keepalive=self._settings.keepalive_s,
            timeout=10,
            # Acks are small packets: send each at once, not after Nagle's ~40 ms delay.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    async def run(self) -> None:
        backoff = BACKOFF_FIRST_S
        where = f"{self._settings.host}:{self._settings.port}"
        while True:
            publisher: asyncio.Task[None] | None = None
            try:
                async with self._client() as client:
                    await client.subscribe([(subscription(kind), 1) for kind in INGEST_KINDS])
                    self.connected = True
                    self.connects += 1
                    self._link_changed(True)
                    backoff = BACKOFF_FIRST_S
                    log.info("mqtt: connected to %s as %s", where, self._settings.client_id)
                    publisher = asyncio.create_task(self._publish_acks(client))
                    if self._acks or self._announces:
                        self._acks_waiting.set()
                    async for message in client.messages:
                        self.handle(message.topic.value, message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("mqtt: link to %s down: %s; retrying in %.1f s", where, exc, backoff)
            finally:
                self.connected = False
                self._link_changed(False)
                if publisher is not None:
                    publisher.cancel()
                self._requeue_unconfirmed()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _link_changed(self, up: bool) -> None:
        if self._on_link is None:
            return
        try:
            self._on_link(up)
        except Exception:  # supervision's bug must not take the alarm link down with it
            log.exception("mqtt: link state not told to supervision")

    # --- ingest --------------------------------------------------------------------------

    def handle(self, topic: str, payload: object) -> Message | None:
        """Decode and route one message; bad input is logged, counted and dropped."""
        self.received += 1
        try:
            if not isinstance(payload, bytes | bytearray | str):
                payload = b"" if payload is None else str(payload)
            message = decode(topic, payload)
        except ProtocolError as exc:
            self.rejected[exc.reason] += 1
            log.warning("mqtt: rejected %s: %s (%s)", topic[:200], exc.reason, str(exc)[:300])
            return None
        if isinstance(message, AlarmMessage):
            self._on_alarm(message)
        elif isinstance(message, AnnounceRequestMessage):
            if self._on_announce is not None:
                self._on_announce(message)
        elif isinstance(message, AckMessage | SelftestRunMessage | AnnounceMessage):
            # Central's own kinds, which it does not subscribe to: someone published oddly.
            self.rejected["unexpected_kind"] += 1
            log.warning("mqtt: rejected %s: unexpected_kind", topic)
            return None
        else:
            self.devices.heard(message, self._clock())
            if self._on_device is not None:
                self._on_device(message)
        return message
