"""A standby request on the desk (desktop.core.standby): shown once per change, answered with a
frame central checks; the headless desk's line and stdin command."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from desktop.core.alarms import DeskCore
from desktop.core.standby import DeskStandby, StandbyEvent, standby_text
from desktop.errors import BadCommandLine
from desktop.headless import parse_standby_line, standby_line
from protocol.screen import StandbyAnswer, StandbyFrame, encode_frame

MEETING = UUID("00000000-0000-4000-8000-000000000001")
FRAME = StandbyFrame(
    meeting_id=MEETING,
    site="oslo-sentrum",
    owner="anne",
    owner_name="Anne Ansatt",
    room="Møterom 101",
    start=datetime(2025, 1, 6, 10, 0, tzinfo=UTC),
    end=datetime(2025, 1, 6, 11, 0, tzinfo=UTC),
    concern="high",
    note="earlier threats",
)


def test_a_request_is_an_event_once_per_change() -> None:
    core = DeskCore()
    first = core.receive_text(encode_frame(FRAME))
    assert first.standby == (StandbyEvent(FRAME),)
    assert core.receive_text(encode_frame(FRAME)).standby == ()
    confirmed = FRAME.model_copy(update={"answer": "confirmed"})
    assert core.receive(confirmed).standby == (StandbyEvent(confirmed),)
    assert core.standby.requests == {MEETING: confirmed}


def test_the_answer_is_a_frame_for_central() -> None:
    assert DeskStandby.answer(MEETING, True) == StandbyAnswer(meeting_id=MEETING, confirm=True)


def test_the_request_in_words() -> None:
    assert standby_text(FRAME) == (
        "Anne Ansatt asks you to stand by for a meeting (Møterom 101, 2025-01-06 10:00–11:00 "
        "UTC, concern high). Your answer: asked."
    )
    outside = FRAME.model_copy(update={"room": None, "address": "Storgata 1", "reminder": True})
    assert standby_text(outside).startswith(
        "Reminder: Anne Ansatt asks you to stand by for a meeting (outside the office: Storgata 1,"
    )


def test_the_headless_line_and_command() -> None:
    line = standby_line(StandbyEvent(FRAME)).decode()
    assert line.startswith(
        '{"event": "standby", "meeting_id": "00000000-0000-4000-8000-000000000001"'
    )
    assert line.endswith("\n")
    assert parse_standby_line(["standby", str(MEETING), "yes"]) == (MEETING, True)
    assert parse_standby_line(["standby", str(MEETING), "no"]) == (MEETING, False)
    for bad in (
        ["standby", str(MEETING)],
        ["standby", str(MEETING), "maybe"],
        ["standby", "x", "yes"],
    ):
        with pytest.raises(BadCommandLine):
            parse_standby_line(bad)
