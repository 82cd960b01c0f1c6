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
    Hello,
    RaiseRequest,
    Snapshot,
    decode_command,
    decode_server_frame,
    encode_frame,
)


def view() -> AlarmView:
    return AlarmView(
        alarm_id=uuid4(),
        site="oslo",
        device="rom-1",
        room="Rom 1",
        level="acute",  # type: ignore[arg-type]
        source="button",  # type: ignore[arg-type]
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


def test_commands_decode_and_reject() -> None:
    alarm_id = uuid4()
    cmd = decode_command(encode_frame(Command(type=CommandKind.COMING, alarm_id=alarm_id)))
    assert cmd.type is CommandKind.COMING and cmd.alarm_id == alarm_id
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
