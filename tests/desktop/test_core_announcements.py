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
    assert core.receive(Snapshot(alarms=())).announcements == ()
    reaction = core.receive_text(encode_frame(EVACUATE))
    assert reaction.announcements == (AnnouncementEvent(EVACUATE, (EVACUATE,)),)
    assert reaction.commands == ()
    assert core.receive_text(encode_frame(EVACUATE)).announcements == ()
    ended = core.receive_text(encode_frame(NOTHING)).announcements
    assert ended == (AnnouncementEvent(NOTHING, ()),)


def test_a_snapshot_replaces_the_announcements_shown() -> None:
    """Each connection's snapshot says what is on: a site not in it has nothing on (an all
    clear missed while away, or an evacuation central has no record of after a crash)."""
    core = DeskCore()
    core.connection_opened()
    # Connecting mid-evacuation: shown at once, from the snapshot.
    started = core.receive(Snapshot(alarms=(), announcements=(EVACUATE,))).announcements
    assert started == (AnnouncementEvent(EVACUATE, (EVACUATE,)),)
    assert dict(core.announcements.active) == {OSLO: EVACUATE}
    # A reconnect with the same state: no news, the window stays as it is.
    core.connection_opened()
    assert core.receive(Snapshot(alarms=(), announcements=(EVACUATE,))).announcements == ()
    # Oslo's is over, Bergen locked down meanwhile: Oslo's window ends, Bergen's opens.
    core.connection_opened()
    reaction = core.receive(Snapshot(alarms=(), announcements=(LOCKDOWN,)))
    assert reaction.announcements == (
        AnnouncementEvent(NOTHING, ()),
        AnnouncementEvent(LOCKDOWN, (LOCKDOWN,)),
    )
    assert not reaction.announcements[0].started
    # A snapshot without any: every window ends; a stray all clear in it changes nothing.
    core.connection_opened()
    reaction = core.receive(Snapshot(alarms=(), announcements=(CLEAR,)))
    ended_bergen = frame(BERGEN, AnnouncementKind.ALL_CLEAR, by=None)
    assert reaction.announcements == (AnnouncementEvent(ended_bergen, ()),)
    assert dict(core.announcements.active) == {}


def test_the_snapshot_s_announcements_on_the_wire() -> None:
    """An older central's snapshot has no ``announcements``: nothing on, as far as it says."""
    snapshot = Snapshot(alarms=(), announcements=(EVACUATE, LOCKDOWN))
    core = DeskCore()
    reaction = core.receive_text(encode_frame(snapshot))
    assert reaction.announcements == (
        AnnouncementEvent(LOCKDOWN, (LOCKDOWN,)),
        AnnouncementEvent(EVACUATE, (LOCKDOWN, EVACUATE)),
    )
    assert core.receive_text('{"type": "snapshot", "alarms": []}').announcements == (
        AnnouncementEvent(frame(BERGEN, AnnouncementKind.ALL_CLEAR, by=None), (EVACUATE,)),
        AnnouncementEvent(NOTHING, ()),
    )


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
