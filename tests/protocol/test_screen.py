from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from protocol.errors import BadJson, InvalidMessage, PayloadTooLarge
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmView,
    Command,
    CommandKind,
    FaultFrame,
    Hello,
    RaiseRequest,
    Snapshot,
    decode_command,
    decode_fault_frame,
    decode_server_frame,
    encode_frame,
)


def view() -> AlarmView:
    return AlarmView(
        alarm_id=uuid4(),
        site="oslo",
        device="rom-1",
        room="Rom 1",
        level="acute",
        source="button",
        input="desk",
        raised_at=datetime.now(UTC),
        state=AlarmState.RAISED,
    )


def test_server_frames_round_trip() -> None:
    for frame in (
        Hello(user="kari", name="Kari", sites=("oslo",)),
        Snapshot(alarms=(view(),)),
        AlarmNew(alarm=view()),
    ):
        assert decode_server_frame(encode_frame(frame)) == frame


def test_fault_frames_round_trip_as_server_frames() -> None:
    at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    raised = FaultFrame(site="oslo", device="rom-1", kind="tamper", reason="lid open", at=at)
    whole_site = FaultFrame(site="oslo", kind="no_screen", reason="nobody connected", at=at)
    cleared = raised.model_copy(update={"cleared": True})
    for frame in (raised, whole_site, cleared):
        text = encode_frame(frame)
        assert decode_server_frame(text) == frame
        assert decode_fault_frame(text) == frame
    assert whole_site.device == ""  # the whole site
    with pytest.raises(InvalidMessage, match="kind"):
        decode_server_frame(
            '{"type": "fault", "site": "oslo", "reason": "x", "at": "2026-11-27T10:00:00Z"}'
        )


def test_commands_decode_and_reject() -> None:
    alarm_id = uuid4()
    cmd = decode_command(encode_frame(Command(type=CommandKind.COMING, alarm_id=alarm_id)))
    assert cmd.type is CommandKind.COMING
    assert cmd.alarm_id == alarm_id
    with pytest.raises(BadJson):
        decode_command("{nope")
    with pytest.raises(InvalidMessage):
        decode_command(f'{{"type": "launch", "alarm_id": "{alarm_id}"}}')
    with pytest.raises(InvalidMessage):
        decode_command('{"type": "coming"}')
    with pytest.raises(PayloadTooLarge):
        decode_command("x" * 5000)
    with pytest.raises(InvalidMessage):
        decode_server_frame('{"type": "unknown"}')


def test_raise_request_decodes_and_rejects() -> None:
    alarm_id = uuid4()
    text = (
        f'{{"type": "raise", "alarm_id": "{alarm_id}", "level": "acute", "site": "oslo",'
        ' "room": "Kontor 3.12", "raised_at": "2026-11-27T10:00:00Z"}'
    )
    request = decode_command(text)
    assert isinstance(request, RaiseRequest)
    assert (request.alarm_id, request.input, request.floor) == (alarm_id, "hotkey", None)
    with pytest.raises(InvalidMessage, match="site"):
        decode_command(text.replace('"oslo"', '"Not A Site"'))
    with pytest.raises(BadJson):
        decode_command("[1]")
