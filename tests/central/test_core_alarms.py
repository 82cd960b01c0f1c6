"""The alarm lifecycle as pure logic: events and ``now`` in, actions out. No I/O, no sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

import pytest

from central.core import (
    AckEdge,
    Action,
    AlarmBook,
    AlarmEvent,
    Broadcast,
    EventKind,
    Notice,
    Persist,
    Person,
    Refusal,
)
from protocol import AckState, AlarmLevel, AlarmMessage, AlarmSource
from protocol.messages import Responder
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, Command, CommandKind

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SITE = "oslo-sentrum"
KARI = Person("kari", "Kari Nordmann", "k" * 24, frozenset({SITE}))
OLA = Person("ola", "Ola Nordmann", "o" * 24, frozenset({"*"}))
PER = Person("per", "Per Hansen", "p" * 24, frozenset({"bergen"}))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alarm(
    alarm_id: UUID | None = None, presses: int = 1, device: str = "rom-101", **extra: object
) -> AlarmMessage:
    return AlarmMessage.model_validate(
        {
            "site": SITE,
            "device": device,
            "alarm_id": alarm_id or uuid4(),
            "level": AlarmLevel.ACUTE,
            "room": "Møterom 101",
            "source": AlarmSource.BUTTON,
            "input": "desk",
            "raised_at": T0,
            "presses": presses,
            **extra,
        }
    )


A = TypeVar("A")


def command(kind: CommandKind, alarm_id: UUID) -> Command:
    return Command(type=kind, alarm_id=alarm_id)


def only(actions: list[Action], kind: type[A]) -> list[A]:
    return [a for a in actions if isinstance(a, kind)]


def stored_alarm(book: AlarmBook, message: AlarmMessage | None = None) -> AlarmMessage:
    """An alarm raised and committed: state received."""
    message = message or alarm()
    for persist in only(book.alarm(message, at(0)), Persist):
        for follow in only(book.committed(persist, at(0.01)), Persist):
            book.committed(follow, at(0.02))
    return message


def commit_all(book: AlarmBook, actions: list[Action], now: datetime) -> list[Action]:
    """Report every Persist committed (and the ones that follows from those)."""
    out: list[Action] = []
    pending = only(actions, Persist)
    while pending:
        persist = pending.pop(0)
        follow = book.committed(persist, now)
        out.extend(follow)
        pending.extend(only(follow, Persist))
    return out


def test_new_alarm_is_broadcast_and_written_but_not_acked_before_commit() -> None:
    book = AlarmBook()
    message = alarm(test=True, drill=True)
    actions = book.alarm(message, at(0))
    [broadcast] = only(actions, Broadcast)
    assert broadcast.site == SITE
    assert isinstance(broadcast.frame, AlarmNew)
    assert broadcast.frame.alarm.state is AlarmState.RAISED
    [persist] = only(actions, Persist)
    assert persist.insert
    assert not persist.ack_after_commit
    assert persist.alarm is not None
    assert persist.alarm.state is AlarmState.RECEIVED
    [event] = persist.events
    assert event.kind is EventKind.RAISED
    assert event.actor == "rom-101"
    assert event.at == at(0)
    assert "test drill" in event.detail
    assert not only(actions, AckEdge)
    assert book.get(message.alarm_id).state is AlarmState.RAISED  # type: ignore[union-attr]


def test_commit_makes_alarm_received_and_acks_the_edge() -> None:
    book = AlarmBook()
    message = alarm()
    [persist] = only(book.alarm(message, at(0)), Persist)
    actions = book.committed(persist, at(0.05))
    [update] = only(actions, Broadcast)
    assert isinstance(update.frame, AlarmUpdate)
    assert update.frame.alarm.state is AlarmState.RECEIVED
    [received] = only(actions, Persist)
    assert [e.kind for e in received.events] == [EventKind.RECEIVED]
    assert received.events[0].actor == "central"
    assert not received.insert
    # The edge hears "received" once that entry is on record too, not before.
    assert only(actions, AckEdge) == []
    assert received.ack_after_commit
    [ack] = only(book.committed(received, at(0.06)), AckEdge)
    assert (ack.site, ack.device, ack.alarm_id) == (SITE, "rom-101", message.alarm_id)
    assert ack.state is AckState.RECEIVED
    assert ack.at == at(0.06)
    assert ack.presses == 1


def test_duplicate_before_commit_is_ignored() -> None:
    book = AlarmBook()
    message = alarm()
    book.alarm(message, at(0))
    assert book.alarm(message, at(1)) == []
    assert len(book) == 1


def test_duplicate_after_commit_is_reacked_with_current_stored_state() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    assert only(book.alarm(message, at(5)), AckEdge)[0].state is AckState.RECEIVED
    actions = book.command(KARI, command(CommandKind.COMING, message.alarm_id), at(6))
    # Not yet committed: a resend still hears the last committed state.
    assert only(book.alarm(message, at(6.5)), AckEdge)[0].state is AckState.RECEIVED
    commit_all(book, actions, at(7))
    [ack] = book.alarm(message, at(8))
    assert isinstance(ack, AckEdge)
    assert ack.state is AckState.ACKNOWLEDGED
    assert [r.user for r in ack.responders] == ["kari"]


def test_more_presses_are_recorded_fewer_ignored() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    actions = book.alarm(alarm(message.alarm_id, presses=3), at(2))
    [update] = only(actions, Broadcast)
    assert update.frame.alarm.presses == 3
    [persist] = only(actions, Persist)
    assert persist.events[0].kind is EventKind.PRESSED
    assert persist.events[0].detail == "presses=3"
    # Already stored: the resend is acked at once, with the count on disk (not yet 3) ...
    assert [a.presses for a in only(actions, AckEdge)] == [1]
    # ... and again once the new count is committed, so the edge can stop re-sending it.
    assert persist.ack_after_commit
    [ack] = only(book.committed(persist, at(2.1)), AckEdge)
    assert ack.presses == 3
    assert ack.state is AckState.RECEIVED
    lower = book.alarm(alarm(message.alarm_id, presses=2), at(3))
    assert not only(lower, Broadcast)
    assert not only(lower, Persist)
    assert book.get(message.alarm_id).presses == 3  # type: ignore[union-attr]


def test_press_before_commit_is_recorded_without_ack() -> None:
    book = AlarmBook()
    message = alarm()
    [insert] = only(book.alarm(message, at(0)), Persist)
    actions = book.alarm(alarm(message.alarm_id, presses=2), at(0.5))
    assert only(actions, Broadcast)
    assert only(actions, Persist)
    assert not only(actions, AckEdge)
    [press] = only(actions, Persist)
    assert not press.ack_after_commit  # the first ack waits for "received" on record
    # That first ack carries the count the row had when "received" was written: 2.
    acks = only(commit_all(book, [insert, press], at(1)), AckEdge)
    assert [(a.state, a.presses) for a in acks] == [(AckState.RECEIVED, 2)]


def test_failed_press_write_is_retried_on_the_next_resend() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    again = alarm(message.alarm_id, presses=2)
    [press] = only(book.alarm(again, at(1)), Persist)
    book.commit_failed(press, at(1.1))
    actions = book.alarm(again, at(6))  # the edge re-sends: its count was never acked
    assert [a.presses for a in only(actions, AckEdge)] == [1]
    [retry] = only(actions, Persist)
    assert [e.kind for e in retry.events] == [EventKind.PRESSED]
    assert retry.ack_after_commit
    [ack] = only(book.committed(retry, at(6.1)), AckEdge)
    assert ack.presses == 2
    # Stored and acked: a further resend is only re-acked, never written again.
    assert [type(a) for a in book.alarm(again, at(7))] == [AckEdge]


def test_same_alarm_id_from_another_device_is_refused() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    [refusal] = book.alarm(alarm(message.alarm_id, device="rom-999"), at(1))
    assert refusal == Refusal(message.alarm_id, "alarm_id_of_other_device")


def test_coming_is_written_then_acked_and_shown_once_stored() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    before = book.get(alarm_id)
    assert before is not None
    assert before.state is AlarmState.RECEIVED
    actions = book.command(KARI, command(CommandKind.COMING, alarm_id), at(10))
    kari = Responder(user="kari", name="Kari Nordmann", at=at(10))
    # Whoever answers has seen the alarm; a change a device shows is a new revision.
    acked = before.model_copy(
        update={
            "state": AlarmState.ACKNOWLEDGED,
            "responders": (kari,),
            "shown_at": at(10),
            "rev": 2,
        }
    )
    coming = AlarmEvent(alarm_id, EventKind.COMING, at(10), "kari", "Kari Nordmann")
    assert actions == [Persist(alarm_id, acked, (coming,), ack_after_commit=True)]
    assert book.get(alarm_id) == before  # screens hear nothing before the disk has it
    assert book.committed(actions[0], at(10.1)) == [  # type: ignore[arg-type]
        AckEdge(SITE, "rom-101", alarm_id, AckState.ACKNOWLEDGED, (kari,), at(10.1), 1, "desk", 2),
        Broadcast(SITE, AlarmUpdate(alarm=acked)),
    ]
    assert book.get(alarm_id) == acked
    # Pressing again changes nothing; a second colleague is added, and the edge's LED has
    # nothing new to show (no ack), but screens do once it is stored.
    assert book.command(KARI, command(CommandKind.COMING, alarm_id), at(11)) == []
    ola = Responder(user="ola", name="Ola Nordmann", at=at(12))
    both = acked.model_copy(update={"responders": (kari, ola), "rev": 3})
    second = book.command(OLA, command(CommandKind.COMING, alarm_id), at(12))
    event = AlarmEvent(alarm_id, EventKind.COMING, at(12), "ola", "Ola Nordmann")
    assert second == [Persist(alarm_id, both, (event,))]
    assert book.committed(second[0], at(12.1)) == [  # type: ignore[arg-type]
        Broadcast(SITE, AlarmUpdate(alarm=both))
    ]


def test_cant_come_is_recorded_and_withdraws_a_responder() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    before = book.get(alarm_id)
    assert before is not None
    commit_all(book, book.command(KARI, command(CommandKind.COMING, alarm_id), at(1)), at(1))
    actions = book.command(KARI, command(CommandKind.CANT_COME, alarm_id), at(2))
    kari = Responder(user="kari", name="Kari Nordmann", at=at(2))
    declined = before.model_copy(update={"declined": (kari,), "shown_at": at(1), "rev": 3})
    event = AlarmEvent(alarm_id, EventKind.CANT_COME, at(2), "kari", "Kari Nordmann")
    assert actions == [Persist(alarm_id, declined, (event,), ack_after_commit=True)]
    assert commit_all(book, actions, at(2.1)) == [
        AckEdge(SITE, "rom-101", alarm_id, AckState.RECEIVED, (), at(2.1), 1, "desk", 3),
        Broadcast(SITE, AlarmUpdate(alarm=declined)),
    ]
    assert book.command(KARI, command(CommandKind.CANT_COME, alarm_id), at(3)) == []
    # Changing one's mind again: coming removes the decline.
    again = book.command(KARI, command(CommandKind.COMING, alarm_id), at(4))
    coming = Responder(user="kari", name="Kari Nordmann", at=at(4))
    acked = before.model_copy(
        update={
            "state": AlarmState.ACKNOWLEDGED,
            "responders": (coming,),
            "shown_at": at(1),
            "rev": 4,
        }
    )
    assert [p.alarm for p in only(again, Persist)] == [acked]
    assert only(commit_all(book, again, at(4.1)), Broadcast) == [
        Broadcast(SITE, AlarmUpdate(alarm=acked))
    ]


def test_cant_come_while_others_come_keeps_acknowledged() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    book.command(OLA, command(CommandKind.COMING, message.alarm_id), at(1))
    actions = book.command(KARI, command(CommandKind.CANT_COME, message.alarm_id), at(2))
    [persist] = only(actions, Persist)
    assert persist.alarm is not None
    assert persist.alarm.state is AlarmState.ACKNOWLEDGED
    assert not persist.ack_after_commit


def test_commands_in_the_window_before_the_first_commit() -> None:
    book = AlarmBook()
    message = alarm()
    alarm_id = message.alarm_id
    actions = book.alarm(message, at(0))
    [insert] = only(actions, Persist)
    [raised] = [b.frame.alarm for b in only(actions, Broadcast)]
    coming = book.command(KARI, command(CommandKind.COMING, alarm_id), at(0.001))
    withdrawn = book.command(KARI, command(CommandKind.CANT_COME, alarm_id), at(0.002))
    # Withdrawing before anything is stored goes back to "raised", which is never acked.
    [withdraw] = withdrawn
    assert isinstance(withdraw, Persist)
    assert not withdraw.ack_after_commit
    assert withdraw.alarm is not None
    assert withdraw.alarm.state is AlarmState.RECEIVED
    back = book.command(OLA, command(CommandKind.COMING, alarm_id), at(0.003))
    assert book.get(alarm_id) == raised  # screens still show the alarm as raised
    # The timeline records "stored", and screens hear "received": the first row is stored.
    first_commit = book.committed(insert, at(0.01))
    received = raised.model_copy(update={"state": AlarmState.RECEIVED, "rev": 1})
    [stored] = only(first_commit, Persist)
    assert first_commit == [stored, Broadcast(SITE, AlarmUpdate(alarm=received))]
    assert [e.kind for e in stored.events] == [EventKind.RECEIVED]
    assert stored.ack_after_commit
    # Ola's answer is not on disk yet: screens keep "received" while the stored row moves on.
    later = commit_all(book, [*coming, *withdrawn, *back], at(0.02))
    kari = Responder(user="kari", name="Kari Nordmann", at=at(0.001))
    kari_no = Responder(user="kari", name="Kari Nordmann", at=at(0.002))
    ola = Responder(user="ola", name="Ola Nordmann", at=at(0.003))
    seen = at(0.001)  # Kari's answer: the alarm is on a colleague's screen
    acked = received.model_copy(
        update={
            "state": AlarmState.ACKNOWLEDGED,
            "responders": (kari,),
            "shown_at": seen,
            "rev": 2,
        }
    )
    declined = received.model_copy(update={"declined": (kari_no,), "shown_at": seen, "rev": 3})
    ola_coming = declined.model_copy(
        update={"state": AlarmState.ACKNOWLEDGED, "responders": (ola,), "rev": 4}
    )
    # Each answer reaches screens in order as it is stored; the edge hears "acknowledged"
    # twice (no "raised" ack for the withdrawal, which was never stored as received).
    ack = AckState.ACKNOWLEDGED
    assert later == [
        AckEdge(SITE, "rom-101", alarm_id, ack, (kari,), at(0.02), 1, "desk", 2),
        Broadcast(SITE, AlarmUpdate(alarm=acked)),
        Broadcast(SITE, AlarmUpdate(alarm=declined)),
        AckEdge(SITE, "rom-101", alarm_id, ack, (ola,), at(0.02), 1, "desk", 4),
        Broadcast(SITE, AlarmUpdate(alarm=ola_coming)),
    ]
    # The "received" row was written last, with Ola's answer: nothing new for screens.
    assert book.committed(stored, at(0.03)) == [
        AckEdge(SITE, "rom-101", alarm_id, ack, (ola,), at(0.03), 1, "desk", 4)
    ]
    assert book.get(alarm_id) == ola_coming


def test_resolve_reaches_screens_once_stored_and_resolves_once() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    before = book.get(alarm_id)
    assert before is not None
    actions = book.command(OLA, command(CommandKind.RESOLVE, alarm_id), at(30))
    resolved = before.model_copy(
        update={
            "state": AlarmState.RESOLVED,
            "resolved_at": at(30),
            "resolved_by": "ola",
            "rev": 2,
        }
    )
    event = AlarmEvent(alarm_id, EventKind.RESOLVED, at(30), "ola", "Ola Nordmann")
    assert actions == [Persist(alarm_id, resolved, (event,), ack_after_commit=True)]
    assert book.active() == (before,)
    assert book.active_for(KARI) == (before,)
    assert commit_all(book, actions, at(30.1)) == [
        AckEdge(SITE, "rom-101", alarm_id, AckState.RESOLVED, (), at(30.1), 1, "desk", 2, False),
        Broadcast(SITE, AlarmUpdate(alarm=resolved)),
    ]
    assert book.active() == ()
    assert book.active_for(KARI) == ()
    for kind in (CommandKind.COMING, CommandKind.CANT_COME, CommandKind.RESOLVE):
        [refusal] = book.command(KARI, command(kind, alarm_id), at(31))
        assert refusal == Refusal(alarm_id, "already_resolved")
    # The edge republishing the resolved alarm just hears "resolved" again (a higher count is
    # a new alarm: see test_press_after_resolution_is_a_new_alarm).
    [reack] = book.alarm(alarm(alarm_id, presses=1), at(32))
    assert isinstance(reack, AckEdge)
    assert reack.state is AckState.RESOLVED


def test_a_resolution_the_disk_refuses_is_never_shown_and_its_author_is_told() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    before = book.get(alarm_id)
    assert before is not None
    [write] = book.command(OLA, command(CommandKind.RESOLVE, alarm_id), at(30))
    assert isinstance(write, Persist)
    resolved = write.alarm
    assert book.commit_failed(write, at(30.1)) == [
        Notice(SITE, "ola", alarm_id, EventKind.RESOLVED)
    ]
    assert book.active() == (before,)  # a screen connecting now still gets it as active
    # Kari answering meanwhile hears the truth; Ola is not told again when the retry fails.
    [coming] = book.command(KARI, command(CommandKind.COMING, alarm_id), at(30.2))
    assert coming == Refusal(alarm_id, "already_resolved")  # the truth, though not yet shown
    [retry] = book.due(at(30.6))
    assert retry == write
    assert book.commit_failed(retry, at(30.6)) == []
    [retry] = book.due(at(31.6))
    assert book.committed(retry, at(31.7)) == [  # type: ignore[arg-type]
        AckEdge(SITE, "rom-101", alarm_id, AckState.RESOLVED, (), at(31.7), 1, "desk", 2, False),
        Broadcast(SITE, AlarmUpdate(alarm=resolved)),
    ]
    assert book.active() == ()


def test_a_notice_goes_to_each_person_whose_change_waits() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    [coming] = book.command(KARI, command(CommandKind.COMING, alarm_id), at(1))
    [resolve] = book.command(OLA, command(CommandKind.RESOLVE, alarm_id), at(1.1))
    assert book.commit_failed(coming, at(1.2)) == [  # type: ignore[arg-type]
        Notice(SITE, "kari", alarm_id, EventKind.COMING)
    ]
    assert book.commit_failed(resolve, at(1.3)) == [  # type: ignore[arg-type]
        Notice(SITE, "ola", alarm_id, EventKind.RESOLVED)
    ]
    # The retry (backoff doubled by the second failure) carries both changes; failing again
    # tells nobody again.
    assert book.due(at(2.29)) == []
    [retry] = book.due(at(2.3))
    assert isinstance(retry, Persist)
    assert [e.kind for e in retry.events] == [EventKind.COMING, EventKind.RESOLVED]
    assert book.commit_failed(retry, at(1.8)) == []
    # A central-made change (a test alarm closed) has nobody to tell.
    test_alarm = stored_alarm(book, alarm(test=True))
    [close] = book.close_test(test_alarm.alarm_id, at(2), "test screen has it")
    assert book.commit_failed(close, at(2.1)) == []  # type: ignore[arg-type]


def test_unknown_alarm_and_other_site_are_refused() -> None:
    book = AlarmBook()
    unknown = uuid4()
    assert book.command(KARI, command(CommandKind.COMING, unknown), at(0)) == [
        Refusal(unknown, "unknown_alarm")
    ]
    message = stored_alarm(book)
    assert book.command(PER, command(CommandKind.RESOLVE, message.alarm_id), at(1)) == [
        Refusal(message.alarm_id, "not_your_site")
    ]


@pytest.mark.parametrize("kind", [CommandKind.DELIVERED, CommandKind.SHOWN])
def test_receipts_are_recorded_once_per_person(kind: CommandKind) -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    # The first "shown" is recorded on the row (tests/central/test_core_shown.py): Eva's here.
    eva = Person("eva", "Eva Berg", "e" * 24, frozenset({SITE}))
    shown = book.command(eva, command(CommandKind.SHOWN, message.alarm_id), at(0.5))
    commit_all(book, shown, at(0.5))
    [persist] = book.command(KARI, command(kind, message.alarm_id), at(1))
    assert isinstance(persist, Persist)
    assert persist.alarm is None
    assert persist.events[0].kind.value == kind.value
    assert persist.events[0].actor == "kari"
    assert book.command(KARI, command(kind, message.alarm_id), at(2)) == []
    assert book.committed(persist, at(3)) == []
    # Also for a resolved alarm: a late screen still confirms it got it.
    commit_all(
        book, book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(4)), at(4)
    )
    assert only(book.command(OLA, command(kind, message.alarm_id), at(5)), Persist)


def test_failed_write_is_retried_with_its_events_on_the_next_resend() -> None:
    book = AlarmBook()
    message = alarm()
    [insert] = only(book.alarm(message, at(0)), Persist)
    book.commit_failed(insert, at(0.1))
    [retry] = book.alarm(message, at(5))
    assert isinstance(retry, Persist)
    assert retry.insert
    assert [e.kind for e in retry.events] == [EventKind.RAISED]
    acks = only(commit_all(book, [retry], at(5.1)), AckEdge)
    assert [a.state for a in acks] == [AckState.RECEIVED]


def test_failed_update_events_ride_with_the_next_write() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    [persist] = only(
        book.command(KARI, command(CommandKind.COMING, message.alarm_id), at(1)), Persist
    )
    book.commit_failed(persist, at(1.1))
    [nxt] = book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(2))
    assert isinstance(nxt, Persist)
    assert [e.kind for e in nxt.events] == [EventKind.COMING, EventKind.RESOLVED]


def test_reports_for_forgotten_alarms_are_ignored() -> None:
    book = AlarmBook(retention=timedelta(hours=1))
    message = stored_alarm(book)
    actions = book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(10))
    commit_all(book, actions, at(10))
    receipt = only(book.command(OLA, command(CommandKind.SHOWN, message.alarm_id), at(11)), Persist)
    book.alarm(alarm(), at(12))  # pruning happens on traffic; the receipt is still in flight
    assert book.get(message.alarm_id) is not None
    book.committed(receipt[0], at(13))
    book.alarm(alarm(), at(2 * 3600))
    assert book.get(message.alarm_id) is None
    assert book.committed(receipt[0], at(2 * 3600)) == []
    book.commit_failed(receipt[0], at(2 * 3600))  # nothing to do: forgotten
    assert book.get(message.alarm_id) is None


def test_pruning_stops_at_the_first_recent_resolution() -> None:
    book = AlarmBook(retention=timedelta(hours=1))
    old, recent = stored_alarm(book), stored_alarm(book)
    commit_all(book, book.command(OLA, command(CommandKind.RESOLVE, old.alarm_id), at(0)), at(0))
    commit_all(
        book, book.command(OLA, command(CommandKind.RESOLVE, recent.alarm_id), at(3000)), at(0)
    )
    book.alarm(alarm(), at(3700))
    assert book.get(old.alarm_id) is None
    assert book.get(recent.alarm_id) is not None


def test_restore_rebuilds_active_and_recently_resolved() -> None:
    source = AlarmBook()
    active, resolved, late, legacy = (stored_alarm(source) for _ in range(4))
    commit_all(
        source, source.command(OLA, command(CommandKind.RESOLVE, late.alarm_id), at(9)), at(9)
    )
    commit_all(
        source, source.command(OLA, command(CommandKind.RESOLVE, resolved.alarm_id), at(8)), at(8)
    )
    views = [source.get(m.alarm_id) for m in (active, resolved, late)]
    raised = source.get(legacy.alarm_id).model_copy(update={"state": AlarmState.RAISED})  # type: ignore[union-attr]
    book = AlarmBook.restore([*views, raised])  # type: ignore[list-item]
    assert {v.alarm_id for v in book.active()} == {active.alarm_id, legacy.alarm_id}
    assert book.get(legacy.alarm_id).state is AlarmState.RECEIVED  # type: ignore[union-attr]
    # Restored alarms count as committed: resends are re-acked at once.
    assert only(book.alarm(active, at(10)), AckEdge)[0].state is AckState.RECEIVED
    assert only(book.alarm(late, at(10)), AckEdge)[0].state is AckState.RESOLVED
    assert [v.alarm_id for v in book.active_for(KARI)] == [active.alarm_id, legacy.alarm_id]
    assert book.active_for(PER) == ()
