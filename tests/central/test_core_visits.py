"""The visit timer's core (central.core.visits): exact actions for an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from central.core import Persist
from central.core.visits import (
    AskDesk,
    AskPhone,
    RaiseAssist,
    StoreVisit,
    Visit,
    VisitBook,
    VisitState,
    alarm_id_of,
)
from protocol.screen import Position
from tests.central.test_core_alarms import KARI
from tests.central.test_core_alarms import T0 as ALARM_T0
from tests.central.test_core_alarms import at as alarm_at
from tests.central.test_core_phone_alarms import ALARM, phone
from tests.central.test_core_phone_alarms import book as phone_book

T0 = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
VISIT_ID = UUID("11111111-2222-4333-8444-555555555555")
WITHIN = timedelta(minutes=5)


def visit(**changes: object) -> Visit:
    base = Visit(
        visit_id=VISIT_ID,
        user="kari",
        name="Kari Nordmann",
        site="oslo",
        address="Storgata 1",
        until=T0 + timedelta(minutes=90),
        grace=timedelta(minutes=10),
        started_at=T0,
        colleague="ola",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def pos(minutes: float, lat: float = 59.9) -> Position:
    return Position(lat=lat, lon=10.7, accuracy_m=12.0, at=at(minutes))


def started(**changes: object) -> VisitBook:
    book = VisitBook(WITHIN)
    assert book.start(visit(**changes), T0) == [StoreVisit(visit(**changes))]
    return book


def test_nothing_before_until_plus_grace() -> None:
    book = started()
    assert book.tick(at(99.9)) == []
    assert book.get("kari", VISIT_ID) == visit()
    assert visit().state is VisitState.RUNNING
    assert book.active() == [visit()]


def test_overdue_asks_the_phone_and_the_desk_then_raises_with_the_last_position() -> None:
    book = started()
    assert book.position("kari", VISIT_ID, pos(30), at(30)) == [StoreVisit(visit(position=pos(30)))]
    asked = visit(position=pos(30), asked_at=at(100))
    assert book.tick(at(100)) == [StoreVisit(asked), AskPhone(asked), AskDesk(asked)]
    assert asked.state is VisitState.ASKED
    assert book.tick(at(104.9)) == []
    raised = replace(asked, alarm_id=alarm_id_of(VISIT_ID))
    assert book.tick(at(105)) == [StoreVisit(raised), RaiseAssist(raised, alarm_id_of(VISIT_ID))]
    assert raised.state is VisitState.RAISED
    assert book.tick(at(200)) == []  # raised once


def test_checked_out_in_time_raises_nothing() -> None:
    book = started()
    assert book.checkout("kari", VISIT_ID, at(95)) == [StoreVisit(visit(ended_at=at(95)))]
    assert book.checkout("kari", VISIT_ID, at(96)) == []  # again: nothing changes
    assert book.tick(at(500)) == []
    assert book.get("kari", VISIT_ID) == visit(ended_at=at(95))
    assert visit(ended_at=at(95)).state is VisitState.CHECKED_OUT
    assert book.active() == []


def test_checkout_after_asking_stops_the_alarm() -> None:
    book = started()
    book.tick(at(100))
    book.checkout("kari", VISIT_ID, at(101))
    assert book.tick(at(106)) == []


def test_an_ended_visit_is_forgotten_after_a_day() -> None:
    book = started()
    book.checkout("kari", VISIT_ID, at(10))
    assert book.tick(at(10 + 24 * 60 - 1)) == []
    assert book.get("kari", VISIT_ID) is not None
    assert book.tick(at(10 + 24 * 60)) == []
    assert book.get("kari", VISIT_ID) is None


def test_refusals() -> None:
    book = VisitBook()
    assert book.answer_within == timedelta(minutes=5)
    assert book.start(visit(until=T0), T0) == "until_past"
    assert book.start(visit(until=at(-1)), T0) == "until_past"
    assert book.start(visit(until=at(24 * 60 + 1)), T0) == "too_long"
    assert book.start(visit(), T0) == [StoreVisit(visit())]
    assert book.start(visit(), at(1)) == []  # a resend
    assert book.start(visit(user="ola"), at(1)) == "visit_id_taken"
    assert book.get("ola", VISIT_ID) is None
    assert book.checkout("ola", VISIT_ID, at(1)) == "unknown_visit"
    assert book.position("ola", VISIT_ID, pos(1), at(1)) == "unknown_visit"
    assert book.position("kari", VISIT_ID, pos(7), at(1)) == "position_ahead"
    book.checkout("kari", VISIT_ID, at(2))
    assert book.position("kari", VISIT_ID, pos(2), at(2)) == "visit_ended"


def test_an_older_position_changes_nothing() -> None:
    book = started()
    book.position("kari", VISIT_ID, pos(20), at(20))
    assert book.position("kari", VISIT_ID, pos(19, lat=1.0), at(21)) == []
    assert book.position("kari", VISIT_ID, pos(20, lat=1.0), at(21)) == []
    assert book.get("kari", VISIT_ID) == visit(position=pos(20))


def test_restored_visits_go_on_and_the_alarm_id_is_stable() -> None:
    asked = visit(asked_at=at(100))
    book = VisitBook.restore([asked], WITHIN)
    raised = replace(asked, alarm_id=alarm_id_of(VISIT_ID))
    assert book.tick(at(300)) == [StoreVisit(raised), RaiseAssist(raised, alarm_id_of(VISIT_ID))]
    # Fixed for ever: a restart between the decision and the write raises the same alarm.
    assert alarm_id_of(VISIT_ID) == UUID("4360f4d4-22fa-58ba-89f1-1c3da2b9721a")
    due = VisitBook.restore([visit()])
    assert due.tick(at(200)) == [
        StoreVisit(visit(asked_at=at(200))),
        AskPhone(visit(asked_at=at(200))),
        AskDesk(visit(asked_at=at(200))),
    ]


def test_the_visit_timers_alarm_says_so_on_its_timeline() -> None:
    """The shell raises it through the alarm book with a note (central.visiting)."""
    note = "raised by the visit timer: no check-out of the home visit due 2025-01-06T10:00:00+00:00"
    [persist, _] = phone_book().raise_from_phone(
        KARI, ALARM, phone(position=None), alarm_at(0), note
    )
    assert isinstance(persist, Persist)
    assert persist.events[0].detail.endswith(f"; no position; {note}")
    [persist, _] = phone_book().raise_from_phone(KARI, ALARM, phone(), alarm_at(0), note)
    assert isinstance(persist, Persist)
    assert persist.events[0].detail.endswith(f"raised_at {ALARM_T0.isoformat()}; {note}")
