"""An escalated alarm in the book: its wider audience sees it, may answer it, and it is recorded;
and the escalation shell's bookkeeping (which writes feed the core, which stages reach the ARC).
No I/O: the book and the shell's pure parts, with an injected clock."""

from __future__ import annotations

from datetime import timedelta

from central.core import AlarmBook, Broadcast, EventKind, Persist, Person, Refusal
from central.core.alarms import reaches
from central.core.escalation import ARC, NEIGHBOURS, Escalated, Reason
from central.escalation import EscalationRoutine, GroupRoutine, LevelRoutine, StageRoutine
from central.escalator import Escalator
from protocol.screen import AlarmState, AlarmUpdate, AlarmView, CommandKind
from tests.central.test_core_alarms import (
    KARI,
    PER,
    SITE,
    alarm,
    at,
    command,
    commit_all,
    only,
    stored_alarm,
)

VAKT = Person("vakt", "Vera Vakt", "v" * 24, frozenset({"trondheim"}))


def anywhere(alarm: AlarmView) -> bool:
    return bool(alarm.site)


def nowhere(alarm: AlarmView) -> bool:
    return not alarm.site


DETAIL = "stage=1; to=neighbours,guards; reason=no_answer; after_s=20"


def escalated_book() -> tuple[AlarmBook, Persist, Broadcast]:
    book = AlarmBook()
    message = stored_alarm(book)
    actions = book.escalate(
        message.alarm_id, 1, (NEIGHBOURS, "guards"), {"bergen", SITE}, {"vakt"}, DETAIL, at(20)
    )
    [persist] = only(actions, Persist)
    [broadcast] = only(actions, Broadcast)
    return book, persist, broadcast


def test_a_stage_widens_the_audience_records_it_and_tells_screens_at_once() -> None:
    book, persist, broadcast = escalated_book()
    assert persist.alarm is not None
    assert (persist.alarm.stage, persist.alarm.escalated_to) == (1, (NEIGHBOURS, "guards"))
    assert (persist.alarm.escalated_sites, persist.alarm.escalated_users) == (
        ("bergen",),
        ("vakt",),
    )
    [event] = persist.events
    assert (event.kind, event.actor, event.detail, event.at) == (
        EventKind.ESCALATED,
        "central",
        DETAIL,
        at(20),
    )
    assert isinstance(broadcast.frame, AlarmUpdate)
    assert broadcast.frame.alarm.stage == 1
    assert broadcast.frame.alarm == book.get(persist.alarm_id)
    # The commit changes nothing screens were not told already.
    assert only(commit_all(book, [persist], at(20.1)), Broadcast) == []


def test_the_wider_audience_gets_it_in_snapshots_and_may_answer() -> None:
    book, persist, _ = escalated_book()
    alarm_id = persist.alarm_id
    outsider = Person("eva", "Eva", "e" * 24, frozenset({"tromso"}))
    view = book.get(alarm_id)
    assert view is not None
    assert [reaches(p, view) for p in (KARI, PER, VAKT, outsider)] == [True, True, True, False]
    assert [a.alarm_id for a in book.active_for(PER)] == [alarm_id]
    assert [a.alarm_id for a in book.active_for(VAKT)] == [alarm_id]
    assert book.active_for(outsider) == ()
    assert book.command(outsider, command(CommandKind.COMING, alarm_id), at(21)) == [
        Refusal(alarm_id, "not_your_site")
    ]
    [coming] = only(book.command(PER, command(CommandKind.COMING, alarm_id), at(21)), Persist)
    assert coming.alarm is not None
    assert coming.alarm.state is AlarmState.ACKNOWLEDGED
    assert coming.alarm.stage == 1  # the widened audience stays with the alarm


def test_a_stage_taken_or_a_resolved_or_unknown_alarm_changes_nothing() -> None:
    book, persist, _ = escalated_book()
    alarm_id = persist.alarm_id
    assert book.escalate(alarm_id, 1, (ARC,), (), (), DETAIL, at(30)) == []
    second = book.escalate(alarm_id, 2, (NEIGHBOURS, ARC), {"oslo"}, (), DETAIL, at(60))
    [row] = [p.alarm for p in only(second, Persist)]
    assert row is not None
    assert (row.stage, row.escalated_to, row.escalated_sites) == (
        2,
        (NEIGHBOURS, "guards", ARC),
        ("bergen", "oslo"),
    )
    commit_all(book, book.command(KARI, command(CommandKind.RESOLVE, alarm_id), at(61)), at(61))
    assert book.escalate(alarm_id, 3, (ARC,), (), (), DETAIL, at(90)) == []
    assert book.escalate(alarm().alarm_id, 1, (ARC,), (), (), DETAIL, at(90)) == []


def test_a_restored_book_keeps_the_stage_and_the_wider_audience() -> None:
    _, persist, _ = escalated_book()
    assert persist.alarm is not None
    restored = AlarmBook.restore([persist.alarm])
    assert [a.alarm_id for a in restored.active_for(VAKT)] == [persist.alarm_id]


# --- the shell's bookkeeping -------------------------------------------------------------

ROUTINE = EscalationRoutine(
    unseen_after_s=10,
    groups={
        "guards": GroupRoutine.model_validate({"name": {"nb": "v", "en": "g"}, "users": ["vakt"]})
    },
    acute=LevelRoutine(
        stages=[
            StageRoutine(after_s=20, notify=(NEIGHBOURS, "guards")),
            StageRoutine(after_s=60, notify=(ARC,)),
        ]
    ),
)


def test_the_shell_feeds_the_core_from_the_books_writes_and_carries_out_stages() -> None:
    book = AlarmBook()
    escalator = Escalator(ROUTINE, {SITE: ("bergen",)}, arc_sites=(SITE,))
    message = alarm()
    for persist in only(book.alarm(message, at(0)), Persist):
        escalator.wrote(persist, covered=lambda alarm: alarm.site == SITE)
        commit_all(book, [persist], at(0.1))
    shown = only(book.command(KARI, command(CommandKind.SHOWN, message.alarm_id), at(1)), Persist)
    for persist in shown:
        escalator.wrote(persist, covered=anywhere)
    assert escalator.tick(book, at(19)) == []
    [persist] = only(escalator.tick(book, at(20)), Persist)
    assert persist.alarm is not None
    assert (persist.alarm.escalated_sites, persist.alarm.escalated_users) == (
        ("bergen",),
        ("vakt",),
    )
    assert escalator.stored(persist) == []  # no ARC in the first stage
    [second] = only(escalator.tick(book, at(60)), Persist)
    assert escalator.stored(second) == [
        Escalated(2, (ARC,), Reason.NO_ANSWER, timedelta(seconds=60))
    ]


def test_the_shell_stops_on_coming_and_ends_on_resolution() -> None:
    book = AlarmBook()
    escalator = Escalator(ROUTINE, {SITE: ("bergen",)})
    message = alarm()
    for persist in only(book.alarm(message, at(0)), Persist):
        escalator.wrote(persist, covered=nowhere)  # no screen: first stage at once
    [first] = only(escalator.tick(book, at(0.5)), Persist)
    assert first.events[0].detail == "stage=1; to=neighbours,guards; reason=no_screen; after_s=0"
    for kind in (CommandKind.COMING, CommandKind.CANT_COME):
        for persist in only(book.command(KARI, command(kind, message.alarm_id), at(1)), Persist):
            escalator.wrote(persist, covered=anywhere)
    assert message.alarm_id in escalator.core  # Kari withdrew: nobody is coming
    for persist in only(
        book.command(KARI, command(CommandKind.RESOLVE, message.alarm_id), at(2)), Persist
    ):
        escalator.wrote(persist, covered=anywhere)
    assert message.alarm_id not in escalator.core
    assert escalator.tick(book, at(100)) == []


def test_a_stage_of_an_alarm_the_book_forgot_is_dropped() -> None:
    escalator = Escalator(ROUTINE, {})
    book = AlarmBook()
    message = alarm()
    [persist, _] = book.alarm(message, at(0))
    assert isinstance(persist, Persist)
    escalator.wrote(persist, covered=anywhere)
    assert escalator.tick(AlarmBook(), at(20)) == []


def test_targets_that_tell_nobody_are_left_out_and_an_empty_stage_is_not_taken() -> None:
    empty = ROUTINE.model_copy(
        update={"groups": {"guards": ROUTINE.groups["guards"].model_copy(update={"users": ()})}}
    )
    # No neighbours for the site, nobody in the group; the site has an ARC.
    escalator = Escalator(empty, {}, arc_sites=(SITE,))
    book = AlarmBook()
    message = stored_alarm(book)
    escalator.core.restore(message.alarm_id, message.level, at(0), taken=0, coming=False)
    assert escalator.tick(book, at(20)) == []  # stage 1 told nobody: not on the record
    [arc] = only(escalator.tick(book, at(60)), Persist)
    assert arc.alarm is not None
    assert (arc.alarm.stage, arc.alarm.escalated_to) == (2, (ARC,))
    guards_only = Escalator(ROUTINE, {})
    guards_only.core.restore(message.alarm_id, message.level, at(0), taken=0, coming=False)
    book2 = AlarmBook()
    stored_alarm(book2, message)
    [first] = only(guards_only.tick(book2, at(20)), Persist)
    assert first.events[0].detail == "stage=1; to=guards; reason=no_answer; after_s=20"


def test_the_arc_stage_of_a_site_without_an_arc_is_not_taken() -> None:
    escalator = Escalator(ROUTINE, {SITE: ("bergen",)})  # no site has an ARC
    book = AlarmBook()
    message = stored_alarm(book)
    escalator.core.restore(message.alarm_id, message.level, at(0), taken=0, coming=False)
    [first] = only(escalator.tick(book, at(20)), Persist)
    assert first.alarm is not None
    assert first.alarm.stage == 1
    assert escalator.tick(book, at(60)) == []  # the ARC stage tells nobody: not on record
    assert book.get(message.alarm_id).stage == 1  # type: ignore[union-attr]


def test_restore_takes_no_stage_twice() -> None:
    book, persist, _ = escalated_book()
    assert persist.alarm is not None
    escalator = Escalator(ROUTINE, {}, arc_sites=(SITE,))
    escalator.restore([persist.alarm], {persist.alarm_id: at(0)})
    [second] = only(escalator.tick(book, at(60)), Persist)
    assert second.alarm is not None
    assert second.alarm.stage == 2
