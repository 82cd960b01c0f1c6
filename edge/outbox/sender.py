"""Alarm delivery: publish first, keep on disk in parallel, resend until central confirms.

:class:`AlarmSender` applies the outbox policy (``edge.core.outbox_policy``) with the two real
parts it decides for: the link (anything that can :class:`Publish`; the agent hands it the MQTT
link, so this package needs nothing of ``edge.link``) and the durable outbox (``store``). The
network always goes first;
the disk write runs on the outbox's own thread at the same time, so neither waits for the
other (docs/architecture.md: "Notification does not wait for disk; disk does not wait for
notification").

An alarm central has acked stays known (and on disk, with what central said and the ack's
``rev`` and ``at``) until it is resolved: what is kept follows the LED's rule (edge.core.led: an
older ack changes nothing, a newer one is kept even when it goes back, "resolved" is final).
After a restart :meth:`AlarmSender.open` hands back every active alarm with what it shows and
when central said it, so the LED, its order and press counting come back; an alarm taken up
from central (:meth:`AlarmSender.adopt`) is kept the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from edge.core import OutboxPolicy
from edge.core.faults import Fault, FaultKind
from edge.core.led import held_for_ack, is_stale, later
from edge.errors import OutboxError
from edge.outbox.store import AsyncOutbox, OutboxRecord
from protocol import AckState, AlarmMessage, HeldState, ProtocolError, decode, encode

log = logging.getLogger(__name__)

KEEP_ACKED = timedelta(days=7)  # acked rows stay in the outbox file this long, as a record

Report = Callable[[str, str], None]  # (reason, detail)


class Publish(Protocol):
    """The link's side the sender needs: hand a message to the broker, False while down."""

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> bool: ...


class Restored(NamedTuple):
    """An active alarm of an earlier run: what it shows, and when central said so (None: not
    acked, or kept by an edge that did not store the time or the revision)."""

    message: AlarmMessage
    shows: HeldState
    said_at: datetime | None = None
    said_rev: int | None = None


class _Said(NamedTuple):
    state: str  # stored, received, acknowledged (a named responder counts), resolved
    at: datetime | None
    rev: int | None = None


class AlarmSender:
    def __init__(
        self,
        site: str,
        device: str,
        link: Publish,
        resend_interval: timedelta,
        reject: Report,
        fault: Callable[[Fault], None],
    ) -> None:
        self._site = site
        self._device = device
        self._link = link
        self._policy = OutboxPolicy(resend_interval)
        self._reject = reject
        self._fault = fault
        self._outbox: AsyncOutbox | None = None
        self._alarms: dict[UUID, AlarmMessage] = {}  # pending, or acked and still active
        self._said: dict[UUID, _Said] = {}  # what central last said, as written to disk
        self._writes: set[asyncio.Future[Any]] = set()

    @property
    def pending(self) -> int:
        return len(self._policy.pending)

    def message(self, alarm_id: UUID) -> AlarmMessage | None:
        return self._alarms.get(alarm_id)

    async def open(self, outbox: AsyncOutbox, now: datetime) -> list[Restored]:
        """Use ``outbox``; returns the active alarms of an earlier run, with what each shows:
        the unacked ones (sent on connect) and the acked ones central has not resolved."""
        self._outbox = outbox
        await outbox.prune_acked(now - KEEP_ACKED)
        restored = []
        for record in await outbox.active():
            pending = record.acked_state is None
            said = record.state or record.acked_state
            if said in (HeldState.STORED, HeldState.RECEIVED, HeldState.ACKNOWLEDGED):
                shows = HeldState(said)
            else:
                shows = HeldState.SENDING
            try:
                message = decode(record.topic, record.payload)
            except ProtocolError as exc:
                self._reject("outbox_unreadable", f"alarm {record.alarm_id}: {exc}")
                continue
            if not isinstance(message, AlarmMessage) or (message.site, message.device) != (
                self._site,
                self._device,
            ):
                self._reject("outbox_foreign", f"{record.topic} is not this device's alarm topic")
                continue
            if message.test and not pending:
                continue  # a test alarm central has: nothing shows it, nothing to send
            self._alarms[message.alarm_id] = message
            if said is not None:
                self._said[message.alarm_id] = _Said(said, record.state_at, record.state_rev)
            if pending:
                self._policy.restored(message.alarm_id, message.presses)
            restored.append(Restored(message, shows, record.state_at, record.state_rev))
            log.info(
                "outbox restored alarm_id=%s input=%s presses=%d pending=%s shows=%s",
                message.alarm_id,
                message.input,
                message.presses,
                pending,
                shows.value,
            )
        return restored

    async def flush(self) -> None:
        """Wait until every write handed to the disk thread so far is done."""
        await asyncio.gather(*self._writes, return_exceptions=True)

    async def close(self) -> None:
        """Let writes already handed to the disk thread finish, then close the outbox."""
        await asyncio.gather(*self._writes, return_exceptions=True)
        if self._outbox is not None:
            await self._outbox.close()
            self._outbox = None

    async def probe_outbox(self) -> str | None:
        """Can the outbox take a write now? None if so, else why not."""
        if self._outbox is None:
            return "outbox not open"
        try:
            await self._outbox.probe()
        except OutboxError as exc:
            return str(exc)
        return None

    def probe_writer(self, locked: Callable[[], None]) -> asyncio.Future[None] | None:
        """The outbox's writer thread calls ``locked`` once it reaches this probe and holds
        the database's write lock (the watchdog's beat); None while no outbox is open."""
        if self._outbox is None:
            return None
        return self._outbox.probe_writer(locked)

    def send(
        self, message: AlarmMessage, reason: str, now: datetime, next_id: UUID | None = None
    ) -> None:
        """A new alarm, or a re-press of one (same id, higher ``presses``). ``next_id``: the
        input's next pre-allocated id, written in the same transaction as the alarm."""
        self._alarms[message.alarm_id] = message
        topic, payload = encode(message)
        if self._policy.raised(message.alarm_id, now, message.presses):
            self._publish(message, topic, payload, reason)  # the network first ...
        else:
            log.warning(
                "alarm queued alarm_id=%s input=%s reason=%s (mqtt down; sent on reconnect)",
                message.alarm_id,
                message.input,
                reason,
            )
        if self._outbox is not None:  # ... the disk in parallel, on its own thread
            self._write(self._outbox.put(_record(message, topic, payload), now, next_id))

    def adopt(
        self,
        message: AlarmMessage,
        shows: HeldState,
        now: datetime,
        said_at: datetime | None = None,
        said_rev: int | None = None,
    ) -> None:
        """An active alarm central named (in an ack of revision ``said_rev``, sent at
        ``said_at``) that this device did not know: keep it (acked) so a re-press can be sent
        and a restart shows it again; nothing to send now."""
        self._alarms[message.alarm_id] = message
        self._said[message.alarm_id] = _Said(shows.value, said_at, said_rev)
        if self._outbox is not None:
            record = _record(message, *encode(message), shows, said_at, said_rev)
            self._write(self._outbox.put(record, now))

    def opened(self, input_name: str, now: datetime) -> None:
        """Remember on disk that the input's contact opened (it is not stuck)."""
        if self._outbox is not None:
            self._write(self._outbox.opened(input_name, now))

    def acked(
        self,
        alarm_id: UUID,
        state: AckState,
        presses: int | None,
        now: datetime,
        responders: int = 0,
        at: datetime | None = None,
        rev: int | None = None,
        shown: bool = True,
    ) -> None:
        """Central's ack (revision ``rev``, sent at ``at``) with the count it stored: one
        behind ours keeps the alarm pending. What central said is kept on disk too (by the
        LED's rule: an older ack changes nothing, "resolved" is final), so a restart shows it
        again."""
        if self._policy.acked(alarm_id, state, presses) and self._outbox is not None:
            # Marked only up to the count just settled (every pending alarm is kept in
            # ``_alarms``): the disk then agrees with the policy whatever it was told before.
            settled = self._alarms[alarm_id].presses
            self._write(self._outbox.mark_acked(alarm_id, state.value, now, settled))
        held = held_for_ack(state, responders, shown=shown)
        said = held.value if held is not None else AckState.RESOLVED.value
        if alarm_id in self._alarms and _supersedes(self._said.get(alarm_id), said, at, rev):
            last = self._said.get(alarm_id)
            keep_at = at if last is None else later(last.at, at)
            keep_rev = rev if last is None else later(last.rev, rev)
            self._said[alarm_id] = _Said(said, keep_at, keep_rev)  # the disk: the same rule
            if self._outbox is not None:
                self._write(self._outbox.mark_state(alarm_id, said, now, at, rev))
        if state is AckState.RESOLVED and not self._policy.is_pending(alarm_id):
            self._alarms.pop(alarm_id, None)  # over: a later press is a new alarm
            self._said.pop(alarm_id, None)

    def link_up(self, now: datetime) -> None:
        for alarm_id in self._policy.connect(now):
            self._resend(alarm_id, "reconnect")

    def link_down(self) -> None:
        self._policy.disconnect()

    def resend_due(self, now: datetime) -> None:
        for alarm_id in self._policy.due(now):
            self._resend(alarm_id, "resend")

    def _resend(self, alarm_id: UUID, reason: str) -> None:
        message = self._alarms[alarm_id]  # every pending alarm is kept until acked
        topic, payload = encode(message)
        self._publish(message, topic, payload, reason)

    def _publish(self, message: AlarmMessage, topic: str, payload: bytes, reason: str) -> None:
        if self._link.publish(topic, payload, qos=1):
            log.info(
                "publish alarm alarm_id=%s input=%s level=%s presses=%d reason=%s",
                message.alarm_id,
                message.input,
                message.level.value,
                message.presses,
                reason,
            )

    def _write(self, write: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(write)
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Future[Any]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._fault(Fault(FaultKind.OUTBOX_WRITE, detail=str(task.exception())))


def _supersedes(last: _Said | None, said: str, at: datetime | None, rev: int | None) -> bool:
    """Whether central's ``said`` (in an ack of revision ``rev`` sent at ``at``) changes what
    is kept: nothing after "resolved", nothing older than the kept word, not the same word
    again unless newer."""
    if last is None:
        return True
    resolved = AckState.RESOLVED.value
    final = said == resolved
    if last.state == resolved or is_stale(last.at, at, resolved=final, last_rev=last.rev, rev=rev):
        return False
    return said != last.state or later(last.at, at) != last.at or later(last.rev, rev) != last.rev


def _record(
    message: AlarmMessage,
    topic: str,
    payload: bytes,
    shows: HeldState | None = None,
    said_at: datetime | None = None,
    said_rev: int | None = None,
) -> OutboxRecord:
    """The outbox row of an alarm: sent by this device (``shows`` None: not yet acked), or
    taken up as central said it (``shows`` at ``said_at``, revision ``said_rev``)."""
    state = None if shows is None else shows.value
    return OutboxRecord(
        alarm_id=message.alarm_id,
        input=message.input,
        topic=topic,
        payload=payload,
        presses=message.presses,
        created_at=message.raised_at,
        acked_state=state,
        state=state,
        state_at=said_at,
        state_rev=said_rev,
    )
