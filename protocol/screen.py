"""The screen contract: JSON text frames between central's websocket hub and colleagues' screens.

A screen connects to ``/ws`` with ``Authorization: Bearer <token>``; a socket without a valid
token is refused before it is accepted. Central then sends ``hello`` and a ``snapshot`` of the
alarms still active for the user's sites, and from then on ``alarm`` (new) and ``update``
(anything changed); a facility manager's screen also gets ``fault`` frames. The screen answers
with commands naming an ``alarm_id``.

Liveness, both ways: central sends every screen a ``ping`` (a rising ``seq``) every second and
the screen answers ``pong`` with the same ``seq``. A screen that hears nothing at all (pings
included) for 5 s knows central is frozen or the network is gone, even while TCP still looks
open; central drops a screen that has answered no ping for a few seconds (frozen, or no longer
reading) so that it no longer counts as someone who would get an alarm.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from protocol.errors import BadJson, InvalidMessage, PayloadTooLarge
from protocol.messages import (
    AlarmLevel,
    AlarmSource,
    AnnouncementKind,
    InputName,
    Responder,
    ShortText,
)
from protocol.topics import SiteId

MAX_FRAME_BYTES = 4096


class AlarmState(StrEnum):
    RAISED = "raised"  # seen by central, not yet stored
    RECEIVED = "received"  # stored; the edge has been told
    ACKNOWLEDGED = "acknowledged"  # at least one colleague is coming
    RESOLVED = "resolved"


class Position(BaseModel):
    """Where a phone says it is (the browser's geolocation): WGS 84 degrees, the radius of
    its uncertainty in metres, and when it was measured. Values no phone can report are
    refused (a typo or a forgery must not put a colleague in the wrong place); fields it does
    not know (a browser's altitude, heading) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float = Field(ge=0, le=100_000, allow_inf_nan=False)
    at: AwareDatetime


class AlarmView(BaseModel):
    """An alarm as a screen shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    alarm_id: UUID
    site: str
    device: str
    room: str
    floor: str | None = None
    site_name: str | None = None
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
    raised_by: str | None = None  # the user, for an alarm raised from a desk
    raised_by_name: str | None = None
    # The revision of the stored record (acks carry it as ``rev``; 0: never stored with one).
    rev: int = 0
    # When a colleague's screen first reported the alarm shown (or a colleague answered
    # "I'm coming"); None: stored, but on nobody's screen yet.
    shown_at: datetime | None = None
    # Flood containment (central.core.floodcards): one card per flooding source. ``flood``: this
    # card stands for that many active alarms of its device (or of one person's desk), itself
    # included; ``level`` is then the highest among them and ``presses`` their sum, and
    # "resolve" on it resolves them all. ``merged_into``: this alarm is now shown on that card;
    # a screen drops its own card of it (it is not resolved). Absent on ordinary alarms.
    flood: int | None = None
    merged_into: UUID | None = None
    # Escalation (central.core.escalation, routines/escalation.toml): ``stage`` is how many of
    # the routine's stages have been taken (0: only the site's own screens); ``escalated_to``
    # the targets told so far ("neighbours", a group such as "guards", "arc"); the alarm also
    # goes to every screen of ``escalated_sites`` and of the users in ``escalated_users``, who
    # may answer it. Absent (0, empty) on an alarm that has not escalated.
    stage: int = 0
    escalated_to: tuple[str, ...] = ()
    escalated_sites: tuple[str, ...] = ()
    escalated_users: tuple[str, ...] = ()
    # A phone's alarm (source ``mobile``, docs/mobile.md): its last position (None: "no
    # position"), and whether the phone makes no sound (screens still do).
    position: Position | None = None
    silent: bool = False
    # Standby for a risky meeting (central.core.standby, docs/standby.md): the colleagues who
    # confirmed they stand by for the meeting this alarm came from (its room, or its raiser's
    # desk or phone, during the meeting). They get the alarm first, wherever their site; every
    # screen names them. Empty on any other alarm.
    standby: tuple[Responder, ...] = ()


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RoutineText(_Frame):
    """What to do for one alarm level, by language code (``nb``, ``en``)."""

    title: dict[str, str]
    steps: dict[str, tuple[str, ...]]


class RoutinesStatus(_Frame):
    """central → a person's desks: have they confirmed that they read the routines and measures
    as they are now (STANDARD 1.1, 3.6)? ``version``: what they are shown now (a content hash,
    central.core.routines_read); ``read``: they confirmed it; ``changed``: not read, but they
    confirmed an earlier version (the routines changed since). ``path``: the console's
    routines page, relative to central's address (the desk opens it in the browser).

    On every connection it is in ``hello`` (``routines_read``); it comes as a frame of its own
    to every open desk of the person when they confirm in the console, so the desk drops its
    ask. A change of the routines is a restart of central, which every desk reconnects to. Part
    of ``ServerFrame``; a screen built before it ignores the frame as an unknown one, and the
    field of ``hello`` as an unknown field."""

    type: Literal["routines"] = "routines"
    version: str = Field(max_length=64)
    read: bool
    changed: bool = False
    path: str = "/routines"


class Hello(_Frame):
    type: Literal["hello"] = "hello"
    user: str
    name: str
    sites: tuple[str, ...]
    site_names: dict[str, str] = Field(default_factory=dict)
    routines: dict[AlarmLevel, RoutineText] = Field(default_factory=dict)
    # Whether the person has confirmed the routines as they are now (None: central does not
    # say, e.g. one built before it).
    routines_read: RoutinesStatus | None = None


class AnnouncementFrame(_Frame):
    """The site's announcement: ``evacuate`` or ``lockdown`` (optionally of one ``zone`` of its
    floor plan) until ``all_clear``. Sent to every screen of the site when it changes (an
    ``all_clear`` also when nothing was on: it ends any window still shown); and each active
    one of the screen's sites is in its ``snapshot`` (``announcements``), so a desk connecting
    mid-evacuation shows it at once and one whose snapshot lacks a site's drops it.
    ``routine``: what to do, by language. Part of ``ServerFrame``; a screen built before it
    ignores it as an unknown frame."""

    type: Literal["announcement"] = "announcement"
    site: str
    kind: AnnouncementKind
    zone: str | None = None
    zone_name: str | None = None
    by: str | None = None  # the user id, or "device:<device>" for an edge input
    by_name: str | None = None
    at: AwareDatetime | None = None
    routine: RoutineText | None = None

    @property
    def active(self) -> bool:
        return self.kind is not AnnouncementKind.ALL_CLEAR


class Snapshot(_Frame):
    """The state a screen starts from, sent after ``hello`` on every connection: the alarms
    still active for the user's sites, and the evacuation / lockdown on at each of them (one
    ``announcement`` per site with one active; a site not listed has nothing on). A screen
    replaces what it showed with it."""

    type: Literal["snapshot"] = "snapshot"
    alarms: tuple[AlarmView, ...]
    announcements: tuple[AnnouncementFrame, ...] = ()


class AlarmNew(_Frame):
    type: Literal["alarm"] = "alarm"
    alarm: AlarmView


class AlarmUpdate(_Frame):
    type: Literal["update"] = "update"
    alarm: AlarmView


class ErrorFrame(_Frame):
    type: Literal["error"] = "error"
    reason: str


class FaultFrame(_Frame):
    """A fault for the people responsible (facility managers): raised, or ``cleared``.

    ``device`` is empty for a fault of the whole site (``no_screen``: nobody would get an
    alarm raised now). Sent when it changes, and for every open fault right after ``snapshot``.
    Only screens of facility managers get it. Part of ``ServerFrame``; a screen built before it
    was ignores it as an unknown frame.
    """

    type: Literal["fault"] = "fault"
    site: str
    device: str = ""
    kind: str  # offline, sensor_board, tamper, stuck_input, device_fault, no_screen
    reason: str
    at: AwareDatetime
    cleared: bool = False


class Ping(_Frame):
    """central → screen, every second: "are you still reading?" Answer with :class:`Pong`.

    One prepared frame goes to every screen (the same ``seq`` for all). A screen built before
    it ignores it as an unknown frame, answers nothing, and is dropped after central's grace.
    """

    type: Literal["ping"] = "ping"
    seq: int = Field(ge=0)


class RoundFrame(_Frame):
    """A manual test round at ``site`` is open (``open``), or has ended (closed or expired).

    While one is open, the first press of each button there is a test shown only to the tester;
    every screen of the site is told, so nobody takes a silent board for a quiet day. Sent when
    a round starts or ends, and for each open round right after ``snapshot``. Part of
    ``ServerFrame``; a screen built before it ignores it as an unknown frame.
    """

    type: Literal["round"] = "round"
    site: str
    round_id: UUID
    tester: str
    open: bool
    expires_at: AwareDatetime
    expired: bool = False  # it closed by itself at expires_at


class StandbyFrame(_Frame):
    """central → a colleague's desk: will you stand by for this meeting (STANDARD 2.2)?
    Sent when the meeting is registered and again shortly before it starts (``reminder``);
    answer with :class:`StandbyAnswer`. ``answer``: what this colleague has answered so far
    (``asked``, ``confirmed``, ``declined``). The note never names the client. Part of
    ``ServerFrame``; a screen built before it ignores it as an unknown frame."""

    type: Literal["standby"] = "standby"
    meeting_id: UUID
    site: str
    owner: str
    owner_name: str
    room: str | None = None  # None: outside the office, at ``address``
    address: str = ""
    start: AwareDatetime
    end: AwareDatetime
    concern: str
    note: str = ""
    answer: str = "asked"
    reminder: bool = False


class VisitNotice(_Frame):
    """central → the chosen colleague's desk (or the site's responders): ``name`` has not
    checked out of a home visit that ended at ``until`` (the visit timer, docs/mobile.md) —
    call them. If nobody checks out soon after, central raises an assist alarm by itself.
    Part of ``ServerFrame``; a screen built before it ignores it as an unknown frame."""

    type: Literal["visit"] = "visit"
    visit_id: UUID
    site: str
    user: str
    name: str
    address: str = ""
    until: AwareDatetime
    at: AwareDatetime


class ReportAsk(_Frame):
    """central → the desks of a person asked to file an incident report (STANDARD 2.4) on a
    real alarm that has just been resolved (never a test or a drill): its raiser, else whoever
    registered a meeting in that room then, else the colleagues who came (``why``: ``raiser``,
    ``meeting``, ``responder``). Sent when the alarm is resolved and again each time the desk
    connects while the report is owed; ``closed`` true once it is filed (or marked not needed)
    on any screen, so the desk drops its prompt. ``path``: the console's form for it, relative
    to central's address (the desk opens it in the browser). The frame never carries what
    happened. Part of ``ServerFrame``; a screen built before it ignores it as an unknown frame."""

    type: Literal["report_ask"] = "report_ask"
    alarm_id: UUID
    site: str
    site_name: str | None = None
    room: str
    level: AlarmLevel
    raised_at: AwareDatetime
    resolved_at: AwareDatetime | None = None
    why: str = "raiser"
    path: str
    closed: bool = False


class ReportFiled(_Frame):
    """central → the desks of the site's leader(s) and safety representative(s): a new incident
    report was filed at ``site``; ``path`` opens it in the console (where opening it is
    recorded in the read log). Only the site and the time: the report's content is read in the
    console, never pushed. Part of ``ServerFrame``; a screen built before it ignores it."""

    type: Literal["report_filed"] = "report_filed"
    report_id: UUID
    site: str
    site_name: str | None = None
    filed_at: AwareDatetime
    path: str


AnyServerFrame = (
    Hello
    | Snapshot
    | AlarmNew
    | AlarmUpdate
    | ErrorFrame
    | FaultFrame
    | Ping
    | RoundFrame
    | AnnouncementFrame
    | StandbyFrame
    | VisitNotice
    | ReportAsk
    | ReportFiled
    | RoutinesStatus
)
ServerFrame = Annotated[AnyServerFrame, Field(discriminator="type")]


class CommandKind(StrEnum):
    DELIVERED = "delivered"  # the screen has the alarm
    SHOWN = "shown"  # the alarm is visible to the user
    COMING = "coming"  # "I'm coming"
    CANT_COME = "cant_come"  # "Can't come"
    RESOLVE = "resolve"  # all clear


class Command(_Frame):
    """screen → central: an answer or receipt for one alarm."""

    type: CommandKind
    alarm_id: UUID


class RaiseRequest(_Frame):
    """screen → central: the silent alarm from a desk (hotkey or tray menu).

    The desk makes ``alarm_id`` when the countdown ends and re-sends the same request after a
    reconnect until it sees the alarm stored (state past ``raised``); central de-duplicates.
    """

    type: Literal["raise"] = "raise"
    alarm_id: UUID
    level: AlarmLevel
    site: SiteId
    room: ShortText
    floor: ShortText | None = None
    input: InputName = "hotkey"
    raised_at: AwareDatetime
    test: bool = False
    drill: bool = False


class AnnounceRequest(_Frame):
    """screen → central: announce ``kind`` for ``site`` (or one ``zone`` of it), from the desk's
    menu. Central checks the person's permission (``announce``) and site; a refusal comes back
    as an error frame ``forbidden: announce <site>`` (or the core's reason)."""

    type: Literal["announce"] = "announce"
    site: SiteId
    kind: AnnouncementKind
    zone: SiteId | None = None


class StandbyAnswer(_Frame):
    """screen → central: the answer to a :class:`StandbyFrame` (``confirm`` true: I stand
    by). Only a colleague the meeting asked may answer; a refusal comes back as an error frame
    ``<reason>: standby_answer <meeting_id>``."""

    type: Literal["standby_answer"] = "standby_answer"
    meeting_id: UUID
    confirm: bool


class Pong(_Frame):
    """screen → central: the answer to a :class:`Ping`, echoing its ``seq``."""

    type: Literal["pong"] = "pong"
    seq: int = Field(ge=0)


_server_adapter: TypeAdapter[AnyServerFrame] = TypeAdapter(ServerFrame)


def encode_frame(frame: _Frame) -> str:
    return frame.model_dump_json(exclude_none=True)


def _check_size(text: str | bytes) -> None:
    if len(text) > MAX_FRAME_BYTES:
        raise PayloadTooLarge(f"frame is {len(text)} bytes; the limit is {MAX_FRAME_BYTES}")


def decode_command(
    text: str | bytes,
) -> Command | RaiseRequest | AnnounceRequest | StandbyAnswer:
    """A screen's command, or a :class:`protocol.errors.ProtocolError` saying why not."""
    _check_size(text)
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadJson("frame is not JSON") from None
    if not isinstance(data, dict):
        raise BadJson("frame is not a JSON object")
    model: type[Command] | type[RaiseRequest] | type[AnnounceRequest] | type[StandbyAnswer] = (
        RaiseRequest
        if data.get("type") == "raise"
        else AnnounceRequest
        if data.get("type") == "announce"
        else StandbyAnswer
        if data.get("type") == "standby_answer"
        else Command
    )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(_first_error(exc)) from None


def decode_pong(text: str | bytes) -> Pong | None:
    """A screen's ``pong``, or None for any other frame (cheap: most frames are not looked at
    further; :func:`decode_command` reads the rest)."""
    if len(text) > 100 or (b"pong" not in text if isinstance(text, bytes) else "pong" not in text):
        return None
    try:
        return Pong.model_validate_json(text)
    except ValidationError:
        return None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def decode_server_frame(text: str | bytes) -> AnyServerFrame:
    """A frame from central, as a screen reads it."""
    try:
        return _server_adapter.validate_json(text)
    except ValidationError as exc:
        raise InvalidMessage(_first_error(exc)) from None


def decode_fault_frame(text: str | bytes) -> FaultFrame:
    """A ``fault`` frame alone (:func:`decode_server_frame` reads it among the others)."""
    try:
        return FaultFrame.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidMessage(_first_error(exc)) from None
