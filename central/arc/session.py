"""One site's link to its alarm receiving centre, without I/O: what to send, where, and when.

Feed it events offered, the receiver's answers (or their absence) and ``now``; it answers with
actions (:class:`Transmit` a frame to receiver *i*, :class:`Delivered`, :class:`Refused`,
:class:`LinkChanged`). The shell does the TCP exchange and its timeout, and reports back with
:meth:`ArcSession.answered` or :meth:`ArcSession.failed`. The rules (docs/arc.md):

* Events go in the order offered, one message in flight; an event is done only on ACK (or a
  DUH: the receiver says it cannot take that code, and a resend cannot change that).
* A retransmission keeps its sequence number (DC-09: the receiver recognises the repeat) and
  is sent ``retry_delay`` after a failure. After ``attempts`` failures on one receiver the next
  (fallback) receiver is tried; after the last, the link is *down* and the whole round starts
  again at the primary after ``pause`` — nothing is ever dropped.
* A NAK carrying the receiver's time means our clock is off: the offset is kept and the
  message resent at once with the receiver's time (the resync); it still counts as an attempt,
  so a receiver that NAKs everything cannot hold the link in a loop.
* Idle for ``link_test``, a NULL message tests the path (EN 50136-style supervision). While on
  a fallback, that test first tries the primary once, and an ACK there moves back to it.
* The link is ``unknown`` until the first answer, ``up`` after an ACK (or DUH: the receiver
  answered), ``down`` once every receiver failed; each change is reported with since-when.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from central.arc.events import ArcEvent, cid_data, sia_data
from central.arc.frames import Format, Frame, Reply, next_sequence


class Status(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class LinkState:
    status: Status
    since: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    """How this site is known at its ARC."""

    account: str  # 3-16 hex digits
    format: Format = "ADM-CID"  # or "SIA-DCS"
    line: str = "0"  # the line prefix (hex)
    receiver: str | None = None  # the receiver number (hex), if the ARC uses one
    area: int = 1  # the partition / area number


@dataclass(frozen=True, slots=True)
class Policy:
    receivers: int = 1  # primary, then fallbacks
    attempts: int = 3  # tries per receiver
    retry_delay: timedelta = timedelta(seconds=2)
    pause: timedelta = timedelta(seconds=30)  # after every receiver failed
    link_test: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Transmit:
    site: str
    receiver: int  # index into the site's receivers (0: primary)
    frame: Frame
    event: ArcEvent | None  # None: a NULL link test


@dataclass(frozen=True, slots=True)
class Delivered:
    site: str
    event: ArcEvent


@dataclass(frozen=True, slots=True)
class Refused:
    """The receiver answered DUH: it cannot take this event. Not resent; logged loudly."""

    site: str
    event: ArcEvent


@dataclass(frozen=True, slots=True)
class LinkChanged:
    site: str
    state: LinkState


@dataclass(frozen=True, slots=True)
class Resynced:
    site: str
    offset: timedelta  # the receiver's clock minus ours


Action = Transmit | Delivered | Refused | LinkChanged | Resynced


@dataclass(slots=True)
class _Flight:
    event: ArcEvent | None
    frame: Frame
    receiver: int
    attempt: int = 0  # failures on this receiver so far
    sent: bool = False  # a Transmit is out and not yet answered
    probe: bool = False  # a link test of the primary while on a fallback


class ArcSession:
    def __init__(self, site: str, account: Account, policy: Policy, now: datetime) -> None:
        self.site = site
        self.account = account
        self.policy = policy
        self.state = LinkState(Status.UNKNOWN, now, "not tested yet")
        self.offset = timedelta(0)  # the receiver's clock minus ours
        self.receiver = 0  # the receiver in use
        self._seq = 0
        self._queue: deque[ArcEvent] = deque()
        self._flight: _Flight | None = None
        self._hold = now  # nothing new is sent before this
        self._next_test = now  # a link test at once: the state is known early

    # --- inputs ------------------------------------------------------------------------------

    def offer(self, event: ArcEvent, now: datetime) -> list[Action]:
        """Queue an event (the same ``unique`` twice is queued once)."""
        flying = self._flight.event if self._flight else None
        if any(e.unique == event.unique for e in (*self._queue, flying) if e is not None):
            return []
        self._queue.append(event)
        if self.state.status == Status.DOWN:
            self._hold = now  # news is worth a new round at once
        return self.due(now)

    def answered(self, reply: Reply, now: datetime) -> list[Action]:
        """The receiver's (trustworthy: CRC checked) answer to the message in flight."""
        flight = self._flight
        if flight is None or not flight.sent:
            return []
        if reply.kind != "NAK" and reply.seq != flight.frame.seq:  # a NAK's is 0000
            return self.failed(f"{reply.kind} for sequence {reply.seq}", now)
        if reply.kind in ("ACK", "RSP"):
            return self._done(flight, now, refused=False)
        if reply.kind == "DUH":
            return self._done(flight, now, refused=True)
        if reply.at is None:
            return self.failed("NAK", now)
        offset = reply.at - now
        actions: list[Action] = [Resynced(self.site, offset)]
        self.offset = offset
        flight.attempt += 1
        if flight.attempt >= self.policy.attempts:
            return actions + self._next_receiver(flight, "NAK after resync", now)
        flight.frame = replace(flight.frame, at=now + offset)
        return [*actions, self._transmit(flight)]

    def failed(self, reason: str, now: datetime) -> list[Action]:
        """No usable answer: refused or closed connection, timeout, wrong CRC, plain NAK."""
        flight = self._flight
        if flight is None or not flight.sent:
            return []
        flight.sent = False
        if flight.probe:  # the primary is still out: test the fallback in use instead
            self._flight = self._message(None, self.receiver, now)
            return [self._transmit(self._flight)]
        flight.attempt += 1
        if flight.attempt < self.policy.attempts:
            self._hold = now + self.policy.retry_delay
            return []
        return self._next_receiver(flight, reason, now)

    def due(self, now: datetime) -> list[Action]:
        """Whatever is due now: a retransmission, the next event, a link test."""
        if now < self._hold:
            return []
        flight = self._flight
        if flight is not None:
            if flight.sent:
                return []
            flight.frame = replace(flight.frame, at=now + self.offset)
            return [self._transmit(flight)]
        if self._queue:
            self._flight = self._message(self._queue[0], self.receiver, now)
            return [self._transmit(self._flight)]
        if now >= self._next_test:
            probe = self.receiver != 0 and self.state.status == Status.UP
            self._flight = self._message(None, 0 if probe else self.receiver, now)
            self._flight.probe = probe
            return [self._transmit(self._flight)]
        return []

    # --- queries -----------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """When :meth:`due` next has something to do (None: only after an answer)."""
        if self._flight is not None:
            return None if self._flight.sent else self._hold
        return self._hold if self._queue else max(self._hold, self._next_test)

    @property
    def pending(self) -> int:
        return len(self._queue)

    # --- steps -------------------------------------------------------------------------------

    def _message(self, event: ArcEvent | None, receiver: int, now: datetime) -> _Flight:
        self._seq = next_sequence(self._seq)
        account = self.account
        if event is None:
            form: Format = "NULL"
            data = ""
        else:
            form = account.format
            data = (cid_data if form == "ADM-CID" else sia_data)(event, account.area)
        frame = Frame(
            form,
            self._seq,
            account.account,
            account.line,
            account.receiver,
            data,
            now + self.offset,
        )
        return _Flight(event, frame, receiver)

    def _transmit(self, flight: _Flight) -> Transmit:
        flight.sent = True
        return Transmit(self.site, flight.receiver, flight.frame, flight.event)

    def _done(self, flight: _Flight, now: datetime, *, refused: bool) -> list[Action]:
        actions: list[Action] = []
        if flight.event is not None:
            self._queue.popleft()
            done = Refused if refused else Delivered
            actions.append(done(self.site, flight.event))
        self._flight = None
        self.receiver = flight.receiver
        self._next_test = now + self.policy.link_test
        actions += self._change(Status.UP, now, "")
        return actions + self.due(now)

    def _next_receiver(self, flight: _Flight, reason: str, now: datetime) -> list[Action]:
        flight.sent = False
        flight.attempt = 0
        flight.receiver += 1
        if flight.receiver < self.policy.receivers:
            self.receiver = flight.receiver
            self._hold = now
            return self.due(now)
        flight.receiver = self.receiver = 0
        self._hold = now + self.policy.pause
        if flight.event is None:  # a link test is not retried: the next one is due then
            self._flight = None
            self._next_test = self._hold
        return self._change(Status.DOWN, now, f"no receiver answered: {reason}")

    def _change(self, status: Status, now: datetime, reason: str) -> list[Action]:
        if self.state.status == status:
            return []
        self.state = LinkState(status, now, reason)
        return [LinkChanged(self.site, self.state)]
