"""A small, real websocket server that speaks central's side of the screen contract.

It is not central: it keeps alarms in a dict that outlives the server (so a "restart" keeps
them, as central's database would), checks Bearer tokens before accepting (403 otherwise),
greets with Hello (with the repo's routines and site names) + Snapshot, and answers commands
the way central does: ``coming``, ``cant_come`` and ``resolve`` change the alarm and are
broadcast as AlarmUpdate; a ``raise`` becomes an alarm (once per alarm_id) broadcast to all.
Like central to a facility manager, it pushes ``fault`` frames and re-sends the open ones after
every snapshot.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from uuid import UUID, uuid4

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from protocol.errors import ProtocolError
from protocol.messages import AlarmLevel, AlarmSource, Responder
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    AlarmView,
    AnnounceRequest,
    Command,
    CommandKind,
    ErrorFrame,
    FaultFrame,
    Hello,
    RaiseRequest,
    RoutineText,
    Snapshot,
    StandbyAnswer,
    decode_command,
    encode_frame,
)
from tests.support.net import free_port

ROUTINES_FILE = Path(__file__).parents[2] / "routines" / "alarm-response.toml"
SITE_NAMES = {"oslo-sentrum": "NAV Oslo sentrum"}


def load_routines() -> dict[AlarmLevel, RoutineText]:
    table = tomllib.loads(ROUTINES_FILE.read_text(encoding="utf-8"))
    return {AlarmLevel(level): RoutineText.model_validate(text) for level, text in table.items()}


def make_fault(**changes: object) -> FaultFrame:
    fields: dict[str, object] = {
        "site": "oslo-sentrum",
        "device": "rom-101",
        "kind": "offline",
        "reason": "three heartbeats missed",
        "at": datetime(2024, 5, 2, 9, 20, tzinfo=UTC),
    }
    fields.update(changes)
    return FaultFrame.model_validate(fields)


def make_alarm(**changes: object) -> AlarmView:
    fields: dict[str, object] = {
        "alarm_id": uuid4(),
        "site": "oslo-sentrum",
        "device": "rom-101",
        "room": "Møterom 101",
        "level": AlarmLevel.ACUTE,
        "source": AlarmSource.BUTTON,
        "input": "desk",
        "raised_at": datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
        "state": AlarmState.RECEIVED,
    }
    fields.update(changes)
    return AlarmView.model_validate(fields)


class FakeCentral:
    def __init__(self, users: dict[str, str], alarms: Sequence[AlarmView] = ()) -> None:
        self.users = users  # token -> user id
        self.alarms: dict[UUID, AlarmView] = {a.alarm_id: a for a in alarms}
        self.faults: dict[tuple[str, str, str], FaultFrame] = {}  # open, by (site, device, kind)
        self.port = free_port()
        self.commands: list[tuple[str, Command]] = []
        self.raises: list[tuple[str, RaiseRequest]] = []
        self.standby_answers: list[tuple[str, StandbyAnswer]] = []  # meetings' standby
        # Set to a reason to refuse every raise the way central does ("<reason>: raise <id>").
        self.refuse_raises: str | None = None
        self.routines = load_routines()
        self.refused = 0
        self.refuse_with = HTTPStatus.FORBIDDEN  # the answer to a bad token
        self.accepted = 0
        self.connections: set[ServerConnection] = set()
        self._server: Server | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def received(self, kind: CommandKind, alarm_id: UUID | None = None) -> list[Command]:
        return [
            c
            for _, c in self.commands
            if c.type is kind and (alarm_id is None or c.alarm_id == alarm_id)
        ]

    async def start(self) -> None:
        self._server = await serve(
            self._handle, "127.0.0.1", self.port, process_request=self._check_token
        )

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def raise_alarm(self, alarm: AlarmView) -> None:
        self.alarms[alarm.alarm_id] = alarm
        await self._broadcast(encode_frame(AlarmNew(alarm=alarm)))

    async def update(self, alarm: AlarmView) -> None:
        self.alarms[alarm.alarm_id] = alarm
        await self._broadcast(encode_frame(AlarmUpdate(alarm=alarm)))

    async def fault(self, frame: FaultFrame) -> None:
        """Raise or clear a fault, pushed to every screen at once."""
        key = (frame.site, frame.device, frame.kind)
        if frame.cleared:
            self.faults.pop(key, None)
        else:
            self.faults[key] = frame
        await self._broadcast(encode_frame(frame))

    async def send_raw(self, text: str) -> None:
        await self._broadcast(text)

    def _user_of(self, headers: Headers) -> str | None:
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        return self.users.get(token or "")

    def _check_token(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._user_of(request.headers) is None:
            self.refused += 1
            return connection.respond(self.refuse_with, "invalid token\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        user = self._user_of(connection.request.headers)
        assert user is not None
        self.accepted += 1
        hello = Hello(
            user=user,
            name=user.title(),
            sites=("oslo-sentrum",),
            site_names=SITE_NAMES,
            routines=self.routines,
        )
        await connection.send(encode_frame(hello))
        active = tuple(a for a in self.alarms.values() if a.state is not AlarmState.RESOLVED)
        await connection.send(encode_frame(Snapshot(alarms=active)))
        for fault in list(self.faults.values()):
            await connection.send(encode_frame(fault))
        self.connections.add(connection)
        try:
            async for message in connection:
                await self._command(user, message, connection)
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(connection)

    async def _command(self, user: str, message: str | bytes, connection: ServerConnection) -> None:
        try:
            command = decode_command(message)
        except ProtocolError as exc:
            await connection.send(encode_frame(ErrorFrame(reason=exc.reason)))
            return
        if isinstance(command, RaiseRequest):
            if self.refuse_raises is not None:
                self.raises.append((user, command))
                reason = f"{self.refuse_raises}: raise {command.alarm_id}"
                await connection.send(encode_frame(ErrorFrame(reason=reason)))
                return
            await self._raise(user, command)
            return
        if isinstance(command, AnnounceRequest):  # evacuation: not this fake's business
            return
        if isinstance(command, StandbyAnswer):  # recorded; the test sends central's copy
            self.standby_answers.append((user, command))
            return
        self.commands.append((user, command))
        alarm = self.alarms.get(command.alarm_id)
        if alarm is None or command.type in (CommandKind.DELIVERED, CommandKind.SHOWN):
            return
        me = Responder(user=user, name=user.title(), at=datetime.now(UTC))
        if command.type is CommandKind.COMING:
            changed = alarm.model_copy(
                update={"state": AlarmState.ACKNOWLEDGED, "responders": (*alarm.responders, me)}
            )
        elif command.type is CommandKind.CANT_COME:
            changed = alarm.model_copy(update={"declined": (*alarm.declined, me)})
        else:
            changed = alarm.model_copy(
                update={
                    "state": AlarmState.RESOLVED,
                    "resolved_at": datetime.now(UTC),
                    "resolved_by": user,
                }
            )
        await self.update(changed)

    async def _raise(self, user: str, request: RaiseRequest) -> None:
        self.raises.append((user, request))
        if request.alarm_id in self.alarms:
            return  # a re-send after a reconnect: central de-duplicates by alarm_id
        alarm = make_alarm(
            alarm_id=request.alarm_id,
            site=request.site,
            site_name=SITE_NAMES.get(request.site),
            device="desktop",
            room=request.room,
            floor=request.floor,
            level=request.level,
            source=AlarmSource.DESKTOP,
            input=request.input,
            raised_at=request.raised_at,
            raised_by=user,
            raised_by_name=user.title(),
        )
        await self.raise_alarm(alarm)

    async def _broadcast(self, text: str) -> None:
        for connection in list(self.connections):
            try:
                await connection.send(text)
            except ConnectionClosed:
                self.connections.discard(connection)


async def eventually(predicate: Callable[[], object], what: str, within_s: float = 15.0) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``within_s`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)
