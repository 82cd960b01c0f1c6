"""The websocket client every desk front end shares: connect, stay connected, report events.

:class:`DeskClient` holds one connection to central at a time and reconnects with backoff when
it drops. Each frame goes through :class:`desktop.core.DeskCore`; the commands it decides on
(``delivered``, and ``coming`` under ``--ack-all``) are sent at once, and the events it yields
reach every listener registered with :meth:`DeskClient.on_event` and every iterator from
:meth:`DeskClient.events`. The headless front end prints them; a window will pop up.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from desktop.config import DeskSettings
from desktop.core import (
    AlarmEvent,
    AnnouncementEvent,
    Backoff,
    DeskCore,
    FaultEvent,
    Liveness,
    Outgoing,
    RaiseFailed,
    RaiseWatch,
    Reaction,
)
from desktop.core.reports import ReportEvent
from desktop.core.routines import RoutinesEvent
from desktop.core.standby import StandbyEvent
from protocol.screen import (
    AnnounceRequest,
    CommandKind,
    Hello,
    RaiseRequest,
    StandbyAnswer,
    VisitNotice,
    encode_frame,
)

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 10.0
# Central's own ``ping`` frames (every second) notice a frozen central or a dead link within
# 5 s (desktop.core.liveness); the websocket's pings remain for a central built before those.
PING_INTERVAL_S = 10.0
PING_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Connected:
    """Central accepted the token and greeted us."""

    hello: Hello


@dataclass(frozen=True, slots=True)
class NoLongerActive:
    """An alarm shown as active before a reconnect is missing from the new snapshot."""

    alarm_id: UUID


@dataclass(frozen=True, slots=True)
class Disconnected:
    """No connection (lost, or never made); the next attempt is in ``retry_in_s`` seconds.

    ``silent``: the socket was still open, but central had said nothing for seconds (frozen,
    or the network gone): no alarm has reached this desk for that long, so there is no grace."""

    reason: str
    retry_in_s: float
    silent: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    """Central refused the token (HTTP ``status``); retried slowly, in ``retry_in_s`` seconds."""

    status: int
    retry_in_s: float


@dataclass(frozen=True, slots=True)
class HelpComing:
    """A silent alarm raised here: ``responders`` colleagues are now coming (more than before)."""

    alarm_id: UUID
    responders: int


@dataclass(frozen=True, slots=True)
class HelpWithdrawn:
    """A silent alarm raised here, still active: the colleagues who were coming all withdrew
    ("Can't come"); nobody is coming now."""

    alarm_id: UUID


@dataclass(frozen=True, slots=True)
class AnnounceRefused:
    """An evacuation / lockdown / all clear sent from this desk was refused by central."""

    site: str
    reason: str  # forbidden, not_your_site, nothing_to_clear, unknown_zone, unknown_site


# RaiseFailed: a silent alarm raised here did not go (refused, unconfirmed, or no connection).
ClientEvent = (
    VisitNotice
    | Connected
    | AlarmEvent
    | NoLongerActive
    | Disconnected
    | Refused
    | HelpComing
    | HelpWithdrawn
    | FaultEvent
    | RaiseFailed
    | AnnouncementEvent
    | AnnounceRefused
    | StandbyEvent
    | ReportEvent
    | RoutinesEvent
)


class _EventStream:
    """One subscriber's queue. Registered when created, so no event between creation and the
    first ``await`` is lost; ends when the client stops."""

    def __init__(self, subscribers: list[asyncio.Queue[ClientEvent | None]]) -> None:
        self._queue: asyncio.Queue[ClientEvent | None] = asyncio.Queue()
        subscribers.append(self._queue)

    def __aiter__(self) -> _EventStream:
        return self

    async def __anext__(self) -> ClientEvent:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event


class DeskClient:
    def __init__(
        self,
        settings: DeskSettings,
        *,
        ack_all: bool = False,
        backoff: Backoff | None = None,
        jitter: Callable[[], float] = random.random,
        raise_watch: RaiseWatch | None = None,
    ) -> None:
        self.settings = settings
        self.core = DeskCore(ack_all=ack_all)
        self._backoff = backoff or Backoff()
        self._jitter = jitter
        self._listeners: list[Callable[[ClientEvent], None]] = []
        self._subscribers: list[asyncio.Queue[ClientEvent | None]] = []
        # The user's commands (and announcements from the menu), kept until sent.
        self._outbox: deque[Outgoing | AnnounceRequest | StandbyAnswer] = deque()
        self._outbox_ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._connection: ClientConnection | None = None
        self.liveness = Liveness()
        self._silent: str | None = None  # why this connection was given up as silent
        self.raises = raise_watch or RaiseWatch()
        self._raise_check: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def on_event(self, listener: Callable[[ClientEvent], None]) -> None:
        """Call ``listener`` for every event, synchronously, in order."""
        self._listeners.append(listener)

    def events(self) -> AsyncIterator[ClientEvent]:
        """Every event from now on, until the client stops."""
        return _EventStream(self._subscribers)

    def command(self, kind: CommandKind, alarm_id: UUID) -> None:
        """Send the user's ``kind`` for ``alarm_id`` now, or as soon as there is a connection."""
        self._outbox.append(self.core.user_command(kind, alarm_id))
        self._outbox_ready.set()

    def announce(self, request: AnnounceRequest) -> None:
        """Evacuate / lock down / all clear from this desk: sent now, or at the next connection.
        Central checks the permission; a refusal comes back as a logged error frame."""
        self._outbox.append(request)
        self._outbox_ready.set()

    def answer_standby(self, meeting_id: UUID, confirm: bool) -> None:
        """The user's answer to a standby request: sent now, or at the next connection."""
        self._outbox.append(self.core.standby.answer(meeting_id, confirm))
        self._outbox_ready.set()

    def raise_alarm(self, request: RaiseRequest) -> None:
        """Send a silent alarm; re-sent after each reconnect until central shows it stored.
        Call on the client's loop. If it does not go, a :class:`RaiseFailed` says so."""
        self._outbox.extend(self.core.raise_alarm(request))
        self._outbox_ready.set()
        loop = asyncio.get_running_loop()
        failed = self.raises.sent(request.alarm_id, loop.time(), self.connected)
        if failed is not None:
            log.warning("silent alarm %s NOT sent: no connection to central", request.alarm_id)
            self._emit(failed)
        self._schedule_raise_check()

    def _schedule_raise_check(self) -> None:
        if self._raise_check is not None:
            self._raise_check.cancel()
        deadline = self.raises.next_deadline()
        if deadline is not None:
            self._raise_check = asyncio.get_running_loop().call_at(deadline, self._check_raises)

    def _check_raises(self) -> None:
        self._raise_check = None
        for failed in self.raises.due(asyncio.get_running_loop().time()):
            log.warning("silent alarm %s NOT confirmed by central in time", failed.alarm_id)
            self._emit(failed)
        self._schedule_raise_check()

    async def run(self) -> None:
        """Stay connected until :meth:`close`. Never raises for network trouble."""
        try:
            while not self._stopping.is_set():
                delay = await self._connect_once()
                if delay is None:
                    break
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        finally:
            self._connection = None
            for queue in self._subscribers:
                queue.put_nowait(None)

    async def close(self) -> None:
        self._stopping.set()
        if self._connection is not None:
            await self._connection.close()

    async def _connect_once(self) -> float | None:
        """One connection, from handshake to close; the delay before the next, or None to stop."""
        token = self.settings.token.get_secret_value()
        self._silent = None
        try:
            async with connect(
                self.settings.server,
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=OPEN_TIMEOUT_S,
                ping_interval=PING_INTERVAL_S,
                ping_timeout=PING_TIMEOUT_S,
                close_timeout=2.0,
                user_agent_header="trygg-desk",
            ) as connection:
                reason = await self._serve(connection)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                delay = self._backoff.refused_delay(self._jitter())
                self._emit(Refused(status, delay))
                return delay
            reason = f"central answered HTTP {status} instead of opening the websocket"
        except ConnectionClosed as exc:
            reason = f"connection lost ({exc})"
        except InvalidHandshake as exc:
            reason = f"websocket handshake failed ({exc})"
        except TimeoutError:
            reason = f"central did not answer within {OPEN_TIMEOUT_S:g} s"
        except OSError as exc:
            reason = f"cannot reach central ({exc.strerror or exc})"
        if self._stopping.is_set():
            return None
        if self._silent is not None:
            reason = self._silent
        delay = self._backoff.next_delay(self._jitter())
        self._emit(Disconnected(reason, delay, silent=self._silent is not None))
        return delay

    async def _serve(self, connection: ClientConnection) -> str:
        self._connection = connection
        self.core.connection_opened()
        loop = asyncio.get_running_loop()
        self.liveness.opened(loop.time())
        sender = asyncio.create_task(self._send_outbox(connection))
        watchdog = asyncio.create_task(self._watch_silence(connection))
        try:
            async for message in connection:
                reaction = self.core.receive_text(message)
                self.liveness.heard(loop.time(), ping=reaction.pong is not None)
                await self._apply(connection, reaction)
        finally:
            self._connection = None
            self.core.connection_closed()
            self.liveness.closed()
            for task in (sender, watchdog):
                task.cancel()
            await asyncio.gather(sender, watchdog, return_exceptions=True)
        return f"central closed the connection (code {connection.close_code})"

    async def _watch_silence(self, connection: ClientConnection) -> None:
        """Cut the connection once central has been silent too long (it may be frozen, or the
        network gone while TCP still looks open); the reconnect then says why."""
        loop = asyncio.get_running_loop()
        while True:
            deadline = self.liveness.deadline()
            await asyncio.sleep(1.0 if deadline is None else max(0.0, deadline - loop.time()))
            reason = self.liveness.silent(loop.time())
            if reason is not None:
                log.warning("%s; reconnecting", reason)
                self._silent = reason
                connection.transport.abort()
                return

    async def _apply(self, connection: ClientConnection, reaction: Reaction) -> None:
        if reaction.hello is not None:
            # Reset only once central has greeted us: a server that accepts and then drops
            # every socket at once must still be retried with growing delays.
            self._backoff.reset()
            self._emit(Connected(reaction.hello))
        if reaction.problem is not None:
            log.warning("%s", reaction.problem)
        for alarm_id, why in reaction.raise_refused:
            self._emit(self.raises.refused(alarm_id, why))
        for alarm_id in self.raises.waiting - set(self.core.unconfirmed_raises):
            self.raises.confirmed(alarm_id)  # central has stored it
        for event in reaction.events:
            self._emit(event)
        for standby in reaction.standby:
            self._emit(standby)
        for alarm_id in reaction.gone:
            self._emit(NoLongerActive(alarm_id))
        for alarm_id, responders in reaction.help_coming:
            self._emit(HelpComing(alarm_id, responders))
        for alarm_id in reaction.help_withdrawn:
            self._emit(HelpWithdrawn(alarm_id))
        if reaction.faults is not None:
            self._emit(reaction.faults)
        self._announcements(reaction)
        if reaction.pong is not None:
            await connection.send(encode_frame(reaction.pong))
        for command in reaction.commands:
            await connection.send(encode_frame(command))
            log.debug("sent %s for %s", command.type, command.alarm_id)

    def _announcements(self, reaction: Reaction) -> None:
        """Evacuation / lockdown news, and central's "no" to one sent from here."""
        for event in reaction.announcements:
            self._emit(event)
        for visit in reaction.visits:  # a colleague overdue from a home visit: call them
            self._emit(visit)
        for report in reaction.reports:  # write an incident report; a new one was filed
            self._emit(report)
        if reaction.routines is not None:  # read and confirm the routines; or confirmed
            self._emit(reaction.routines)
        if reaction.announce_refused is not None:
            self._emit(AnnounceRefused(*reaction.announce_refused))

    async def _send_outbox(self, connection: ClientConnection) -> None:
        while True:
            while self._outbox:
                command = self._outbox[0]
                await connection.send(encode_frame(command))
                # Dropped only once handed to the socket: a command typed while the link is
                # down (or that failed to send) goes out on the next connection.
                self._outbox.popleft()
                what = (
                    command.site
                    if isinstance(command, AnnounceRequest)
                    else command.meeting_id
                    if isinstance(command, StandbyAnswer)
                    else command.alarm_id
                )
                log.info("sent %s for %s", command.type, what)
            self._outbox_ready.clear()
            await self._outbox_ready.wait()

    def _emit(self, event: ClientEvent) -> None:
        for listener in self._listeners:
            listener(event)
        for queue in self._subscribers:
            queue.put_nowait(event)
