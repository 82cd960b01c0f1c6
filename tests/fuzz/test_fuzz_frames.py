"""Fuzz: the screen-frame decoders (central reading a screen's command, a desk reading central's
frames) and the sensor board's serial frame parser take any input without crashing; what they
refuse changes nothing.

A screen's command is driven into a real ``AlarmBook`` holding one active alarm: a frame that does
not decode, or a command the book refuses, leaves the alarm exactly as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from central.core import AlarmBook, Person, Refusal
from edge.core.serial_frames import FrameParser
from protocol import AlarmMessage, ProtocolError
from protocol.screen import (
    MAX_FRAME_BYTES,
    AnnounceRequest,
    RaiseRequest,
    StandbyAnswer,
    decode_command,
    decode_server_frame,
)
from tests.fuzz.budget import fuzz
from tests.fuzz.strategies import payloads

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALARM_ID = UUID("0b7e4f7c-3f0e-4a51-9d51-3c2a4a1d2f10")
ALARM = AlarmMessage.model_validate(
    {
        "site": "oslo-sentrum",
        "device": "rom-101",
        "alarm_id": str(ALARM_ID),
        "level": "acute",
        "room": "Møterom 101",
        "source": "button",
        "input": "desk",
        "raised_at": "2026-11-27T09:23:38.710Z",
    }
)
KARI = Person("kari", "Kari", "t" * 32, frozenset({"oslo-sentrum"}))
COMMANDS: list[dict[str, object]] = [
    {"type": kind, "alarm_id": str(ALARM_ID)}
    for kind in ("delivered", "shown", "coming", "cant_come", "resolve")
]
RAISE: dict[str, object] = {
    "type": "raise",
    "alarm_id": "5d1c6bba-7c4e-4a5f-9a8e-0f4c1e2d3b4a",
    "level": "acute",
    "site": "oslo-sentrum",
    "room": "Kontor 3.12",
    "input": "hotkey",
    "raised_at": "2026-11-27T10:00:00Z",
}
SERVER: list[dict[str, object]] = [
    {"type": "hello", "user": "kari", "name": "Kari", "sites": ["oslo-sentrum"]},
    {"type": "snapshot", "alarms": []},
    {"type": "error", "reason": "x"},
    {
        "type": "fault",
        "site": "oslo-sentrum",
        "device": "rom-101",
        "kind": "offline",
        "reason": "gone",
        "at": "2026-11-27T10:00:00Z",
        "cleared": False,
    },
]


def frames(valid: list[dict[str, object]]) -> st.SearchStrategy[str | bytes]:
    near = st.sampled_from(valid).flatmap(payloads)
    return st.one_of(near, near.map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=300))


@fuzz
@given(frames([*COMMANDS, RAISE]))
def test_a_screen_command_decodes_or_is_refused_and_changes_nothing(frame: str | bytes) -> None:
    book = AlarmBook()
    book.alarm(ALARM, NOW)
    before = book.get(ALARM_ID)
    try:
        command = decode_command(frame)
    except ProtocolError:
        assert book.get(ALARM_ID) == before
        assert len(book) == 1
        return
    assert len(frame) <= MAX_FRAME_BYTES
    if isinstance(command, AnnounceRequest | StandbyAnswer):  # central.announcing, .standby
        return
    if isinstance(command, RaiseRequest):
        actions = book.raise_from_screen(KARI, command, NOW)
    else:
        actions = book.command(KARI, command, NOW)
    if any(isinstance(a, Refusal) for a in actions):
        assert book.get(ALARM_ID) == before


@fuzz
@given(frames(SERVER))
def test_a_desk_reads_any_server_frame_or_rejects_it_with_a_reason(frame: str | bytes) -> None:
    try:
        decoded = decode_server_frame(frame)
    except ProtocolError as exc:
        assert exc.reason
        return
    assert decoded.type == json.loads(frame)["type"]  # read as the kind it says it is


@fuzz
@given(st.lists(st.binary(max_size=120), max_size=12))
def test_the_serial_parser_takes_any_byte_stream(chunks: list[bytes]) -> None:
    parser = FrameParser()
    for chunk in chunks:
        for frame in parser.feed(chunk):
            assert 0 <= frame.seq <= 65535
    assert all(count > 0 for count in parser.drops.values())
