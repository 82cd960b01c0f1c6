"""Standby for risky meetings as pure logic: requests and ``now`` in, actions out (2.2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from central.core.standby import (
    CANCEL_WORDS,
    REMIND_BEFORE,
    Answer,
    AskStandby,
    Colleague,
    Concern,
    Meeting,
    MeetingRequest,
    Refused,
    StandbyBook,
    StoreMeeting,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SITE = "oslo-sentrum"
M1 = UUID("00000000-0000-4000-8000-000000000001")
M2 = UUID("00000000-0000-4000-8000-000000000002")
ROOMS = frozenset({"Møterom 101", "Samtalerom 2"})
RESPONDERS = {"kari": "Kari Nordmann", "ola": "Ola Nordmann", "lise": "Lise Berg"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def request(**changes: Any) -> MeetingRequest:
    base = MeetingRequest(
        site=SITE,
        start=at(60),
        end=at(120),
        concern=Concern.HIGH,
        room="Møterom 101",
        note="  earlier threats  ",
        standby=("kari", "ola"),
    )
    return replace(base, **changes)


def meeting(**changes: Any) -> Meeting:
    base = Meeting(
        meeting_id=M1,
        owner="anne",
        owner_name="Anne Ansatt",
        site=SITE,
        room="Møterom 101",
        address="",
        start=at(60),
        end=at(120),
        concern=Concern.HIGH,
        note="earlier threats",
        any_responder=False,
        colleagues=(Colleague("kari", "Kari Nordmann"), Colleague("ola", "Ola Nordmann")),
        registered_at=T0,
    )
    return replace(base, **changes)


def got(book: StandbyBook, meeting_id: UUID = M1) -> Meeting:
    found = book.get(meeting_id)
    assert found is not None
    return found


def registered(book: StandbyBook | None = None, **changes: Any) -> StandbyBook:
    book = book or StandbyBook()
    book.register(M1, "anne", "Anne Ansatt", request(**changes), RESPONDERS, ROOMS, T0)
    return book


def test_a_registration_is_stored_and_asks_the_chosen_colleagues() -> None:
    book = StandbyBook()
    actions = book.register(M1, "anne", "Anne Ansatt", request(), RESPONDERS, ROOMS, T0)
    assert actions == [StoreMeeting(meeting()), AskStandby(meeting(), ("kari", "ola"))]
    assert book.get(M1) == meeting()
    assert book.of("anne") == (meeting(),)
    assert book.of("kari") == ()


def test_any_responder_asks_every_responder_but_the_owner() -> None:
    book = StandbyBook()
    owner_too = {**RESPONDERS, "anne": "Anne Ansatt"}
    ask = request(standby=(), any_responder=True)
    actions = book.register(M1, "anne", "Anne Ansatt", ask, owner_too, ROOMS, T0)
    colleagues = (
        Colleague("kari", "Kari Nordmann"),
        Colleague("lise", "Lise Berg"),
        Colleague("ola", "Ola Nordmann"),
    )
    expected = meeting(any_responder=True, colleagues=colleagues)
    assert actions == [StoreMeeting(expected), AskStandby(expected, ("kari", "lise", "ola"))]


def test_outside_the_office_keeps_the_address_and_a_meeting_soon_counts_as_reminded() -> None:
    book = StandbyBook()
    outside = request(room=None, address=" Storgata 1, Oslo ", start=at(10), end=at(40))
    actions = book.register(M1, "anne", "Anne Ansatt", outside, RESPONDERS, ROOMS, T0)
    expected = meeting(room=None, address="Storgata 1, Oslo", start=at(10), end=at(40))
    expected = replace(expected, reminded=True)
    assert actions == [StoreMeeting(expected), AskStandby(expected, ("kari", "ola"))]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"end": at(60)}, "end_before_start"),
        ({"end": at(30)}, "end_before_start"),
        ({"start": at(-120), "end": at(-60)}, "window_in_the_past"),
        ({"start": at(-120), "end": at(0)}, "window_in_the_past"),
        ({"end": at(60 + 12 * 60 + 1)}, "window_too_long"),  # longer than MAX_MEETING
        ({"room": None, "address": "  "}, "address_missing"),
        ({"room": None, "address": "x" * 201}, "address_too_long"),
        ({"room": "Kjelleren"}, "unknown_room"),
        ({"note": "x" * 201}, "note_too_long"),
        ({"standby": ()}, "no_standby_chosen"),
        ({"standby": ("kari", "per")}, "not_a_responder_of_the_site"),
        ({"standby": ("anne",)}, "not_a_responder_of_the_site"),
    ],
)
def test_bad_registrations_are_refused_and_nothing_is_kept(
    changes: dict[str, object], reason: str
) -> None:
    book = StandbyBook()
    actions = book.register(M1, "anne", "Anne Ansatt", request(**changes), RESPONDERS, ROOMS, T0)
    assert actions == [Refused(reason)]
    assert book.get(M1) is None


def test_any_responder_with_nobody_to_ask_is_refused() -> None:
    book = StandbyBook()
    ask = request(standby=(), any_responder=True)
    only_me = {"anne": "Anne Ansatt"}
    actions = book.register(M1, "anne", "Anne Ansatt", ask, only_me, ROOMS, T0)
    assert actions == [Refused("no_responder")]


def test_a_meeting_id_is_registered_once() -> None:
    book = registered()
    again = book.register(M1, "anne", "Anne Ansatt", request(), RESPONDERS, ROOMS, at(1))
    assert again == [Refused("meeting_id_taken")]
    assert book.get(M1) == meeting()


def test_colleagues_confirm_and_decline_and_the_owner_sees_who() -> None:
    book = registered()
    assert book.answer(M1, "kari", True, at(5)) == [
        StoreMeeting(
            meeting(
                colleagues=(
                    Colleague("kari", "Kari Nordmann", Answer.CONFIRMED, at(5)),
                    Colleague("ola", "Ola Nordmann"),
                )
            )
        )
    ]
    book.answer(M1, "ola", False, at(6))
    found = book.of("anne")[0]
    assert found.confirmed == (Colleague("kari", "Kari Nordmann", Answer.CONFIRMED, at(5)),)
    assert found.colleagues[1] == Colleague("ola", "Ola Nordmann", Answer.DECLINED, at(6))
    assert book.asked("ola", at(7)) == (found,)


def test_answers_refused_for_someone_not_asked_an_unknown_or_an_over_meeting() -> None:
    book = registered()
    assert book.answer(M1, "lise", True, at(5)) == [Refused("not_asked")]
    assert book.answer(M1, "anne", True, at(5)) == [Refused("not_asked")]
    assert book.answer(M2, "kari", True, at(5)) == [Refused("unknown_meeting")]
    assert book.answer(M1, "kari", True, at(120)) == [Refused("meeting_over")]
    assert book.get(M1) == meeting()
    book.cancel(M1, "anne", at(10))
    assert book.answer(M1, "kari", True, at(11)) == [Refused("meeting_over")]


def test_standby_during_the_window_from_the_room_or_the_owner() -> None:
    book = registered()
    book.answer(M1, "kari", True, at(5))
    kari = Colleague("kari", "Kari Nordmann", Answer.CONFIRMED, at(5))
    room = frozenset({"Møterom 101"})
    assert book.standby_for(SITE, room, None, at(60)) == (kari,)
    assert book.standby_for(SITE, frozenset({"Annet"}), "anne", at(119)) == (kari,)
    assert book.standby_for(SITE, room, None, at(59)) == ()  # before the window
    assert book.standby_for(SITE, room, None, at(120)) == ()  # after it
    assert book.standby_for("bergen", room, None, at(60)) == ()  # another site's room
    assert book.standby_for(SITE, frozenset({"Annet"}), "ola", at(60)) == ()
    assert book.on_now(SITE, at(60)) == (book.get(M1),)
    assert book.on_now(SITE, at(30)) == ()
    assert book.on_now("bergen", at(60)) == ()


def test_two_meetings_name_each_colleague_once() -> None:
    book = registered()
    second = request(start=at(30), end=at(90))
    book.register(M2, "anne", "Anne Ansatt", second, RESPONDERS, ROOMS, T0)
    book.answer(M1, "kari", True, at(5))
    book.answer(M2, "kari", True, at(6))
    book.answer(M2, "ola", True, at(7))
    found = book.standby_for(SITE, frozenset({"Møterom 101"}), None, at(70))
    assert found == (
        Colleague("kari", "Kari Nordmann", Answer.CONFIRMED, at(5)),
        Colleague("ola", "Ola Nordmann", Answer.CONFIRMED, at(7)),
    )
    assert book.at_sites(lambda site: site == SITE) == (book.get(M1), book.get(M2))
    assert book.at_sites(lambda site: site == "bergen") == ()


def test_an_ended_or_cancelled_meeting_no_longer_stands_by() -> None:
    book = registered()
    book.answer(M1, "kari", True, at(5))
    assert book.end(M1, "anne", at(70)) == [StoreMeeting(replace(got(book), ended_at=at(70)))]
    assert book.standby_for(SITE, frozenset({"Møterom 101"}), "anne", at(71)) == ()
    assert got(book).over
    assert book.asked("kari", at(71)) == ()
    assert book.end(M1, "anne", at(72)) == [Refused("meeting_over")]
    assert book.cancel(M1, "anne", at(72)) == [Refused("meeting_over")]


def test_cancelling_records_the_employees_words() -> None:
    book = registered()
    actions = book.cancel(M1, "anne", at(10))
    cancelled = meeting(cancelled_at=at(10), cancel_reason=CANCEL_WORDS)
    assert actions == [StoreMeeting(cancelled)]
    book.register(M2, "anne", "Anne Ansatt", request(), RESPONDERS, ROOMS, T0)
    book.cancel(M2, "anne", at(11), "  the client called it off ")
    assert got(book, M2).cancel_reason == "the client called it off"


def test_only_the_owner_ends_or_cancels() -> None:
    book = registered()
    assert book.end(M1, "kari", at(70)) == [Refused("unknown_meeting")]
    assert book.cancel(M2, "anne", at(70)) == [Refused("unknown_meeting")]
    assert book.get(M1) == meeting()


def test_the_reminder_goes_once_before_the_start_to_those_who_did_not_decline() -> None:
    book = registered()
    book.answer(M1, "ola", False, at(1))
    assert book.tick(at(60) - REMIND_BEFORE - timedelta(seconds=1)) == []
    reminded = replace(got(book), reminded=True)
    assert book.tick(at(60) - REMIND_BEFORE) == [
        StoreMeeting(reminded),
        AskStandby(reminded, ("kari",), reminder=True),
    ]
    assert book.tick(at(50)) == []


def test_no_reminder_for_a_cancelled_meeting_nor_to_nobody() -> None:
    book = registered()
    book.cancel(M1, "anne", at(1))
    assert book.tick(at(50)) == []
    other = StandbyBook()
    registered(other, standby=("kari",))
    other.answer(M1, "kari", False, at(1))
    assert other.tick(at(50)) == [StoreMeeting(replace(got(other), reminded=True))]


def test_a_restored_book_is_the_book_it_was() -> None:
    book = registered()
    book.answer(M1, "kari", True, at(5))
    restored = StandbyBook.restore([got(book)])
    assert restored.get(M1) == book.get(M1)
    assert restored.standby_for(SITE, frozenset({"Møterom 101"}), None, at(60)) == (
        Colleague("kari", "Kari Nordmann", Answer.CONFIRMED, at(5)),
    )
