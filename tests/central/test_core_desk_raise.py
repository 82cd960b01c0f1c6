"""The silent alarm from a desk (standard 3.4) in the pure lifecycle."""

from __future__ import annotations

from uuid import uuid4

from central.core import AckEdge, AlarmBook, Broadcast, EventKind, Persist, Refusal
from protocol import AlarmSource
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, CommandKind, RaiseRequest
from tests.central.test_core_alarms import KARI, OLA, PER, SITE, T0, at, command, commit_all, only


def request(**extra: object) -> RaiseRequest:
    data: dict[str, object] = {
        "alarm_id": uuid4(),
        "level": "acute",
        "site": SITE,
        "room": "Kontor 3.12",
        "floor": "3. etasje",
        "input": "hotkey",
        "raised_at": T0,
    }
    data.update(extra)
    return RaiseRequest.model_validate(data)


def test_desk_raise_is_an_alarm_by_a_person_without_an_edge_ack() -> None:
    book = AlarmBook(site_names={SITE: "NAV Oslo sentrum"})
    raised = request()
    actions = book.raise_from_screen(KARI, raised, at(0))
    [new] = only(actions, Broadcast)
    assert isinstance(new.frame, AlarmNew)
    view = new.frame.alarm
    assert (view.source, view.raised_by, view.raised_by_name) == (
        AlarmSource.DESKTOP,
        "kari",
        "Kari Nordmann",
    )
    assert (view.site_name, view.floor, view.room) == (
        "NAV Oslo sentrum",
        "3. etasje",
        "Kontor 3.12",
    )
    [persist] = only(actions, Persist)
    assert persist.events[0].kind is EventKind.RAISED
    assert persist.events[0].actor == "kari"
    # Stored, answered and resolved: the raiser's desk follows the screens; no edge is acked.
    later = commit_all(book, actions, at(0.01))
    later += commit_all(
        book, book.command(OLA, command(CommandKind.COMING, raised.alarm_id), at(1)), at(1.01)
    )
    assert only(later, AckEdge) == []
    assert book.get(raised.alarm_id).state is AlarmState.ACKNOWLEDGED  # type: ignore[union-attr]


def test_desk_raise_resent_is_answered_with_the_alarm_as_it_stands() -> None:
    book = AlarmBook()
    raised = request()
    commit_all(book, book.raise_from_screen(KARI, raised, at(0)), at(0.01))
    again = book.raise_from_screen(KARI, raised, at(2))
    [update] = only(again, Broadcast)
    assert isinstance(update.frame, AlarmUpdate)
    assert update.frame.alarm.state is AlarmState.RECEIVED
    assert only(again, Persist) == []


def test_desk_raise_refused_for_other_site_or_other_raiser() -> None:
    book = AlarmBook()
    assert only(book.raise_from_screen(PER, request(), at(0)), Refusal)[0].reason == "not_your_site"
    raised = request()
    book.raise_from_screen(KARI, raised, at(0))
    [refusal] = only(book.raise_from_screen(OLA, raised, at(1)), Refusal)
    assert refusal.reason == "alarm_id_of_other_device"
