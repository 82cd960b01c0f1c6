"""Message models, one per topic kind. Frozen; unknown fields are ignored (forward compatible).

Every message carries ``v`` (the payload version) and the ``site`` and ``device`` of the topic it
travels on, so that a payload can never be replayed under another device's topic unnoticed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from protocol.topics import DeviceId, SiteId, TopicKind

PROTOCOL_VERSION: Literal[1] = 1

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=120)]
InputName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
Scalar = str | int | float | bool | None


def utcnow() -> datetime:
    return datetime.now(UTC)


class AlarmLevel(StrEnum):
    ASSIST = "assist"  # yellow: a colleague should come now
    ACUTE = "acute"  # red: ongoing violence


class AlarmSource(StrEnum):
    BUTTON = "button"
    SENSOR = "sensor"
    DESKTOP = "desktop"
    MOBILE = "mobile"


class AckState(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    v: Literal[1] = PROTOCOL_VERSION
    site: SiteId
    device: DeviceId


class AlarmMessage(_Message):
    """edge → central, QoS 1. Re-sent with the same ``alarm_id`` until central acks it.

    ``presses`` counts presses of the same input while this alarm is active; a higher count
    is recorded on the existing alarm, never as a new one.
    """

    alarm_id: UUID
    level: AlarmLevel
    room: ShortText
    floor: ShortText | None = None
    source: AlarmSource
    input: InputName
    raised_at: AwareDatetime
    presses: int = Field(default=1, ge=1, le=1_000_000)
    test: bool = False
    # Ignored by central, which decides what is a drill (docs/drills.md): a device never
    # makes a real alarm a drill. Kept so that older devices' payloads still validate.
    drill: bool = False
    # The contact was already closed when the device started (a press cut short by a power
    # cut or a crash): raised as an alarm, and marked so in the record.
    held_at_start: bool = False


class Responder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    user: ShortText
    name: ShortText
    at: AwareDatetime


class AckMessage(_Message):
    """central → edge, QoS 1: the application ack. Sent only after central has stored the alarm.

    ``presses`` is the press count central has stored for the alarm (None from a central that
    predates the field). An ack already in flight when the button is pressed again carries the
    old count, so the device keeps re-sending while its own count is higher.
    """

    alarm_id: UUID
    state: AckState
    responders: tuple[Responder, ...] = ()
    at: AwareDatetime
    presses: int | None = Field(default=None, ge=1, le=1_000_000)
    # The input the alarm belongs to. Central sets it so that a device that lost its memory
    # (a restart, a power cut) can take up an active alarm it did not know it had.
    input: InputName | None = None
    # The alarm's revision in central's stored record (docs/protocol.md, "ack"): it grows with
    # every stored change a device shows, so a late ack (lower ``rev``) never undoes a newer
    # one. None from a central that predates it: then ``at`` orders acks.
    rev: int | None = Field(default=None, ge=1)
    # False: stored, but no colleague has it on screen yet. Absent (older central): shown.
    shown: bool = True
    # A drill (central decides: a press in a room in drill mode, docs/drills.md): the device
    # shows its drill pattern. Absent (older central): not a drill.
    drill: bool = False


#: At most this many held alarms in one device's health (keeps a status under 4 KiB).
MAX_HELD_ALARMS = 16


class HeldState(StrEnum):
    """What a device shows for an alarm it holds (docs/protocol.md, "State sync")."""

    SENDING = "sending"  # not yet acked by central
    STORED = "stored"  # acked "received" with ``shown`` false: on nobody's screen yet
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"


class HeldAlarm(BaseModel):
    """One alarm a device holds as active: still sending it, or acked and not resolved."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    alarm_id: UUID
    input: InputName
    presses: int = Field(default=1, ge=1, le=1_000_000)
    state: HeldState
    # True: the device shows it as a drill (an ack said ``drill``); absent: not a drill (an
    # older device never says it, and hears a drill's ack again with each heartbeat).
    drill: bool | None = None


class Health(BaseModel):
    """What a device says about itself. Counters name rejected input, by reason."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    uptime_s: float = Field(default=0.0, ge=0)
    outbox_pending: int = Field(default=0, ge=0)
    faults: tuple[ShortText, ...] = ()
    counters: dict[str, int] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(default_factory=dict)
    # The device's alarm inputs (buttons), so central knows what a manual test round must cover.
    inputs: tuple[InputName, ...] = ()
    # The alarms the device holds as active (state sync): central answers every difference
    # from its own record with an ``ack``, and acks every active alarm missing here.
    alarms: tuple[HeldAlarm, ...] = Field(default=(), max_length=MAX_HELD_ALARMS)


class StatusMessage(_Message):
    """Retained. ``offline`` is also the device's MQTT last will."""

    state: Literal["online", "offline"]
    at: AwareDatetime | None = None
    health: Health | None = None


class HeartbeatMessage(_Message):
    """Not retained, QoS 0, every ``interval_s``. Three missed heartbeats mean offline."""

    at: AwareDatetime
    interval_s: float = Field(gt=0, le=3600)
    health: Health = Field(default_factory=Health)


class EventMessage(_Message):
    """A sensor event: door, presence, sound level, tamper, fault, pendant, ..."""

    at: AwareDatetime
    room: ShortText
    sensor: ShortText
    kind: ShortText
    value: Scalar = None


class AnnouncementKind(StrEnum):
    """What a site is told to do (docs/protocol.md, "announce"); ``all_clear`` ends it."""

    EVACUATE = "evacuate"
    LOCKDOWN = "lockdown"
    ALL_CLEAR = "all_clear"


class AnnounceMessage(_Message):
    """central → device, QoS 1, **retained** per device: the site's current announcement.

    A device that (re)connects gets the current state at once from the broker. ``kind`` is
    ``all_clear`` when nothing is announced (then ``by`` and ``at`` say who ended the last one).
    """

    announcement_id: UUID
    kind: AnnouncementKind
    zone: ShortText | None = None
    by: ShortText
    at: AwareDatetime


class AnnounceRequestMessage(_Message):
    """device → central, QoS 1: an input configured to announce was pressed. Central accepts it
    only from a registered device of the topic's site whose registry entry allows ``kind``."""

    request_id: UUID
    kind: AnnouncementKind
    input: InputName
    at: AwareDatetime


class CheckName(StrEnum):
    """The checks of a device self-test (docs/protocol.md, "selftest/run")."""

    INPUTS = "inputs"  # every input readable, none held closed longer than allowed
    OUTPUTS = "outputs"  # every LED reads back the level it was set to
    SENSOR_BOARD = "sensor_board"  # the board answers PING within 1 s (when one is configured)
    OUTBOX = "outbox"  # the durable outbox takes a write
    CLOCK = "clock"  # the device's clock is within 2 s of central's ``sent_at``
    DISK = "disk"  # free space where the outbox lives
    BROKER = "broker"  # a QoS 1 publish is acknowledged by the broker
    TEST_ALARM = "test_alarm"  # inject a synthetic press flagged test (needs test_alarm_id)


#: What a run with an empty ``checks`` list runs: everything but the test alarm.
DEVICE_CHECKS: tuple[CheckName, ...] = tuple(c for c in CheckName if c is not CheckName.TEST_ALARM)


class SelftestRunMessage(_Message):
    """central → edge: run the named checks (empty: every device check) before ``deadline``.

    ``test_alarm_id``: for the ``test_alarm`` check, the id the synthetic test alarm must carry,
    so that central can recognise it and route it only to the site's test screen.
    """

    run_id: UUID
    checks: tuple[ShortText, ...] = ()
    deadline: AwareDatetime
    sent_at: AwareDatetime
    test_alarm_id: UUID | None = None


class CheckResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name: ShortText
    ok: bool
    detail: str = Field(default="", max_length=500)
    value: float | None = None  # a measurement, e.g. a round trip or an offset in ms


class SelftestResultMessage(_Message):
    """edge → central: the answer to one ``selftest/run``."""

    run_id: UUID
    results: tuple[CheckResult, ...]
    at: AwareDatetime


Message = (
    AlarmMessage
    | AckMessage
    | StatusMessage
    | HeartbeatMessage
    | EventMessage
    | SelftestRunMessage
    | SelftestResultMessage
    | AnnounceMessage
    | AnnounceRequestMessage
)

MODEL_FOR_KIND: dict[TopicKind, type[_Message]] = {
    TopicKind.ALARM: AlarmMessage,
    TopicKind.ACK: AckMessage,
    TopicKind.STATUS: StatusMessage,
    TopicKind.HEARTBEAT: HeartbeatMessage,
    TopicKind.EVENT: EventMessage,
    TopicKind.SELFTEST_RUN: SelftestRunMessage,
    TopicKind.SELFTEST_RESULT: SelftestResultMessage,
    TopicKind.ANNOUNCE: AnnounceMessage,
    TopicKind.ANNOUNCE_REQUEST: AnnounceRequestMessage,
}
KIND_FOR_MODEL: dict[type[_Message], TopicKind] = {m: k for k, m in MODEL_FOR_KIND.items()}
