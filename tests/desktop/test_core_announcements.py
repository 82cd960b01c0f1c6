"""Evacuation and lockdown at the desk as pure logic: frames in, events out (exact equality)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop.core import AnnouncementEvent, DeskAnnouncements, DeskCore, refused_announcement
from desktop.errors import BadCommandLine
from desktop.headless import parse_command_line
from protocol import AnnouncementKind
from protocol.screen import (
    AnnouncementFrame,
    AnnounceRequest,
    ErrorFrame,
    Snapshot,
    encode_frame,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OSLO, BERGEN = "oslo-sentrum", "bergen"


def frame(site: str, kind: AnnouncementKind, by: str | None = "kari") -> AnnouncementFrame:
    return AnnouncementFrame(site=site, kind=kind, by=by, at=T0 if by else None)


EVACUATE = frame(OSLO, AnnouncementKind.EVACUATE)
LOCKDOWN = frame(BERGEN, AnnouncementKind.LOCKDOWN)
CLEAR = frame(OSLO, AnnouncementKind.ALL_CLEAR, by="ola")
NOTHING = frame(OSLO, AnnouncementKind.ALL_CLEAR, by=None)


def test_only_changes_are_events() -> None:
    desk = DeskAnnouncements()
    assert desk.receive(NOTHING) is None  # the state after a snapshot: nothing on
    assert desk.receive(EVACUATE) == AnnouncementEvent(EVACUATE, (EVACUATE,))
    assert desk.receive(EVACUATE) is None  # repeated after a reconnect
    started = desk.receive(LOCKDOWN)
    assert started == AnnouncementEvent(LOCKDOWN, (LOCKDOWN, EVACUATE))
    assert started.started
    ended = desk.receive(CLEAR)
    assert ended == AnnouncementEvent(CLEAR, (LOCKDOWN,))
    assert not ended.started
    assert dict(desk.active) == {BERGEN: LOCKDOWN}


def test_the_desk_core_reports_announcements_from_the_wire() -> None:
    core = DeskCore()
    core.connection_opened()
    core.receive(Snapshot(alarms=()))
    reaction = core.receive_text(encode_frame(EVACUATE))
    assert reaction.announcement == AnnouncementEvent(EVACUATE, (EVACUATE,))
    assert reaction.commands == ()
    assert core.receive_text(encode_frame(EVACUATE)).announcement is None
    assert core.receive_text(encode_frame(NOTHING)).announcement == AnnouncementEvent(NOTHING, ())


def test_headless_announce_lines() -> None:
    assert parse_command_line("evacuate oslo-sentrum") == AnnounceRequest(
        site=OSLO, kind=AnnouncementKind.EVACUATE
    )
    assert parse_command_line("all_clear bergen") == AnnounceRequest(
        site=BERGEN, kind=AnnouncementKind.ALL_CLEAR
    )
    with pytest.raises(BadCommandLine, match="expected `lockdown <site>`"):
        parse_command_line("lockdown")
    with pytest.raises(BadCommandLine, match="is not a site id"):
        parse_command_line("evacuate Oslo!")


def test_a_refused_announcement_is_told_apart_from_other_errors() -> None:
    assert refused_announcement(f"forbidden: announce {OSLO}") == (OSLO, "forbidden")
    assert refused_announcement(f"nothing_to_clear: announce {OSLO}") == (OSLO, "nothing_to_clear")
    assert refused_announcement("forbidden: resolve 5f0c3e2a-58a4-4a5e-9d4c-2f1b8a7c6d5e") is None
    assert refused_announcement("forbidden: announce ") is None
    core = DeskCore()
    reaction = core.receive(ErrorFrame(reason=f"forbidden: announce {OSLO}"))
    assert reaction.announce_refused == (OSLO, "forbidden")
    assert reaction.raise_refused == ()
