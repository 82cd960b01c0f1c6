"""The screen contract: JSON text frames between central's websocket hub and colleagues' screens.

A screen connects to ``/ws`` with ``Authorization: Bearer <token>``; a socket without a valid
token is refused before it is accepted. Central then sends ``hello`` and a ``snapshot`` of the
alarms still active for the user's sites, and from then on ``alarm`` (new) and ``update``
(anything changed). The screen answers with commands naming an ``alarm_id``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from protocol.errors import BadJson, InvalidMessage, PayloadTooLarge
from protocol.messages import AlarmLevel, AlarmSource, Responder

MAX_FRAME_BYTES = 4096


class AlarmState(StrEnum):
    RAISED = "raised"  # seen by central, not yet stored
    RECEIVED = "received"  # stored; the edge has been told
    ACKNOWLEDGED = "acknowledged"  # at least one colleague is coming
    RESOLVED = "resolved"


class AlarmView(BaseModel):
    """An alarm as a screen shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    alarm_id: UUID
    site: str
    device: str
    room: str
    level: AlarmLevel
    source: AlarmSource
    input: str
    raised_at: AwareDatetime
    test: bool = False
    drill: bool = False
    presses: int = 1
    state: AlarmState
    responders: tuple[Responder, ...] = ()
    declined: tuple[Responder, ...] = ()
    resolved_at: datetime | None = None
    resolved_by: str | None = None


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Hello(_Frame):
    type: Literal["hello"] = "hello"
    user: str
    name: str
    sites: tuple[str, ...]


class Snapshot(_Frame):
    type: Literal["snapshot"] = "snapshot"
    alarms: tuple[AlarmView, ...]


class AlarmNew(_Frame):
    type: Literal["alarm"] = "alarm"
    alarm: AlarmView


class AlarmUpdate(_Frame):
    type: Literal["update"] = "update"
    alarm: AlarmView


class ErrorFrame(_Frame):
    type: Literal["error"] = "error"
    reason: str


ServerFrame = Annotated[
    Hello | Snapshot | AlarmNew | AlarmUpdate | ErrorFrame, Field(discriminator="type")
]


class CommandKind(StrEnum):
    DELIVERED = "delivered"  # the screen has the alarm
    SHOWN = "shown"  # the alarm is visible to the user
    COMING = "coming"  # "I'm coming"
    CANT_COME = "cant_come"  # "Can't come"
    RESOLVE = "resolve"  # all clear


class Command(_Frame):
    """screen → central."""

    type: CommandKind
    alarm_id: UUID


_server_adapter: TypeAdapter[Hello | Snapshot | AlarmNew | AlarmUpdate | ErrorFrame] = TypeAdapter(
    ServerFrame
)


def encode_frame(frame: _Frame) -> str:
    return frame.model_dump_json(exclude_none=True)


def _check_size(text: str | bytes) -> None:
    if len(text) > MAX_FRAME_BYTES:
        raise PayloadTooLarge(f"frame is {len(text)} bytes; the limit is {MAX_FRAME_BYTES}")


def decode_command(text: str | bytes) -> Command:
    """A screen's command, or a :class:`protocol.errors.ProtocolError` saying why not."""
    _check_size(text)
    try:
        return Command.model_validate_json(text)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadJson("frame is not JSON") from None
        raise InvalidMessage(str(exc.errors(include_url=False)[0]["msg"])) from None


def decode_server_frame(
    text: str | bytes,
) -> Hello | Snapshot | AlarmNew | AlarmUpdate | ErrorFrame:
    """A frame from central, as a screen reads it."""
    try:
        return _server_adapter.validate_json(text)
    except ValidationError as exc:
        raise InvalidMessage(str(exc.errors(include_url=False)[0]["msg"])) from None
