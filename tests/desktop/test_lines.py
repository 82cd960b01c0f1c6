"""The headless client's two text formats: stdin command lines in, JSON lines out."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from desktop.core import AlarmEvent, EventKind
from desktop.errors import BadCommandLine
from desktop.headless import json_line, parse_command_line
from protocol.screen import CommandKind
from tests.desktop.fake_central import make_alarm


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("coming", CommandKind.COMING),
        ("cant_come", CommandKind.CANT_COME),
        ("resolve", CommandKind.RESOLVE),
    ],
)
def test_each_command_names_an_alarm(word: str, kind: CommandKind) -> None:
    alarm_id = uuid4()
    assert parse_command_line(f"  {word}\t{alarm_id}  ") == (kind, alarm_id)


def test_blank_lines_are_nothing() -> None:
    assert parse_command_line("   ") is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("delivered 5f0c3e2a-58a4-4a5e-9d4c-2f1b8a7c6d5e", "unknown command 'delivered'"),
        ("COMING 5f0c3e2a-58a4-4a5e-9d4c-2f1b8a7c6d5e", "unknown command 'COMING'"),
        ("coming", "expected `coming <alarm_id>`"),
        ("coming a b", "expected `coming <alarm_id>`"),
        ("resolve room-101", "'room-101' is not an alarm id"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(BadCommandLine, match=reason) as error:
        parse_command_line(line)
    assert error.value.reason == "bad_command_line"


def test_json_line_is_one_utf8_object_with_the_event_first() -> None:
    alarm = make_alarm(room="Møterom 101")
    raw = json_line(AlarmEvent(EventKind.ALARM, alarm))
    assert raw.endswith(b"\n")
    assert raw.count(b"\n") == 1
    assert "Møterom".encode() in raw  # UTF-8, as JSON is, rather than \u escapes
    line = json.loads(raw)
    assert next(iter(line)) == "event"
    assert line["event"] == "alarm"
    assert line["alarm_id"] == str(alarm.alarm_id)
    assert line["raised_at"] == "2024-05-02T09:30:00Z"
    assert line["responders"] == []
    assert line["resolved_at"] is None
