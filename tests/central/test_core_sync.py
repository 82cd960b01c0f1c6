"""State that heals itself, as pure logic: state sync with devices, the press after a
resolution (the successor alarm), and failed writes retried until stored."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4, uuid5

from central.core import (
    AckEdge,
    AlarmBook,
    AlarmEvent,
    Broadcast,
    EventKind,
    Persist,
    successor_id,
)
from central.core.alarms import SUCCESSOR_NAMESPACE
from protocol import AckState
from protocol.messages import MAX_HELD_ALARMS, HeldAlarm, HeldState, Responder
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    AlarmView,
    CommandKind,
    RaiseRequest,
)
from tests.central.test_core_alarms import (
    KARI,
    OLA,
    SITE,
    alarm,
    at,
    command,
    commit_all,
    only,
    stored_alarm,
)

DEVICE = "rom-101"


def held(alarm_id: UUID, state: HeldState, presses: int = 1, input: str = "desk") -> HeldAlarm:
    return HeldAlarm(alarm_id=alarm_id, input=input, presses=presses, state=state)


def ack(
    alarm_id: UUID,
    state: AckState,
    now: float,
    presses: int = 1,
    responders: tuple[Responder, ...] = (),
    rev: int = 1,
    shown: bool = False,
) -> AckEdge:
    """The ack of the committed row: by default the first revision, on nobody's screen."""
    return AckEdge(SITE, DEVICE, alarm_id, state, responders, at(now), presses, "desk", rev, shown)


def resolved(book: AlarmBook, alarm_id: UUID, now: float) -> None:
    commit_all(book, book.command(OLA, command(CommandKind.RESOLVE, alarm_id), at(now)), at(now))


# --- state sync ------------------------------------------------------------------------------


def test_sync_is_silent_when_the_device_agrees() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    # Stored, on nobody's screen yet: the device shows "stored".
    assert book.sync(SITE, DEVICE, [held(message.alarm_id, HeldState.STORED)], at(5)) == []


def test_sync_acks_each_difference_with_the_committed_record() -> None:
    book = AlarmBook()
    sending, counted, answered, done = (stored_alarm(book) for _ in range(4))
    commit_all(
        book, book.command(KARI, command(CommandKind.COMING, answered.alarm_id), at(1)), at(1)
    )
    resolved(book, done.alarm_id, 2)
    listed = [
        held(sending.alarm_id, HeldState.SENDING),  # the ack was lost
        held(counted.alarm_id, HeldState.RECEIVED, presses=3),  # forgot nothing, counted more
        held(answered.alarm_id, HeldState.RECEIVED),  # "help is coming" was lost
        held(done.alarm_id, HeldState.ACKNOWLEDGED),  # "resolved" was lost
    ]
    kari = book.get(answered.alarm_id).responders  # type: ignore[union-attr]
    assert book.sync(SITE, DEVICE, listed, at(5)) == [
        ack(sending.alarm_id, AckState.RECEIVED, 5),
        ack(counted.alarm_id, AckState.RECEIVED, 5),
        ack(answered.alarm_id, AckState.ACKNOWLEDGED, 5, responders=kari, rev=2, shown=True),
        ack(done.alarm_id, AckState.RESOLVED, 5, rev=2),
    ]


def test_sync_acks_active_alarms_the_device_forgot_so_it_takes_them_up() -> None:
    book = AlarmBook()
    kept, forgotten = stored_alarm(book), stored_alarm(book, alarm(input="wall"))
    finished = stored_alarm(book)
    resolved(book, finished.alarm_id, 1)
    stored_alarm(book, alarm(test=True))  # a test alarm: never taken up by an LED
    stored_alarm(book, alarm(device="rom-202"))  # another device's
    book.alarm(alarm(), at(2))  # not stored yet: nothing is promised before the commit
    actions = book.sync(SITE, DEVICE, [held(kept.alarm_id, HeldState.STORED)], at(5))
    received = AckState.RECEIVED
    wall = AckEdge(SITE, DEVICE, forgotten.alarm_id, received, (), at(5), 1, "wall", 1, False)
    assert actions == [wall]
    # What is committed is what counts: a resolution not yet on disk is not told.
    book.command(OLA, command(CommandKind.RESOLVE, forgotten.alarm_id), at(6))
    assert book.sync(SITE, DEVICE, [held(kept.alarm_id, HeldState.STORED)], at(7)) == [
        AckEdge(SITE, DEVICE, forgotten.alarm_id, received, (), at(7), 1, "wall", 1, False)
    ]


def test_a_full_list_may_be_cut_short_so_nothing_missing_is_acked() -> None:
    book = AlarmBook()
    messages = [stored_alarm(book) for _ in range(MAX_HELD_ALARMS + 1)]
    listed = [held(m.alarm_id, HeldState.STORED) for m in messages[:MAX_HELD_ALARMS]]
    assert book.sync(SITE, DEVICE, listed, at(5)) == []


def test_sync_ignores_alarms_it_does_not_have_and_other_devices_alarms() -> None:
    book = AlarmBook()
    other = stored_alarm(book, alarm(device="rom-202"))
    listed = [held(uuid4(), HeldState.SENDING), held(other.alarm_id, HeldState.SENDING)]
    assert book.sync(SITE, DEVICE, listed, at(5)) == []


def test_desk_alarms_are_never_synced() -> None:
    book = AlarmBook()
    request = RaiseRequest(
        type="raise", alarm_id=uuid4(), level="acute", site=SITE, room="Kontor", raised_at=at(0)
    )
    commit_all(book, book.raise_from_screen(KARI, request, at(0)), at(0.1))
    assert book.sync(SITE, "desktop", [], at(5)) == []


def test_restored_book_syncs_from_the_record() -> None:
    source = AlarmBook()
    message = stored_alarm(source)
    book = AlarmBook.restore([source.get(message.alarm_id)])  # type: ignore[list-item]
    assert book.sync(SITE, DEVICE, [], at(5)) == [ack(message.alarm_id, AckState.RECEIVED, 5)]


# --- a press after a resolution --------------------------------------------------------------


def test_successor_id_is_fixed_by_the_old_alarm() -> None:
    old = UUID("0b7e4f7c-3f0e-4a51-9d51-3c2a4a1d2f10")
    assert successor_id(old) == uuid5(SUCCESSOR_NAMESPACE, f"after-resolved:{old}")
    assert successor_id(old) == UUID("423d9803-8bc6-5ec1-be9b-f36bf46dcf86")


def test_press_after_resolution_is_a_new_alarm() -> None:
    book = AlarmBook()
    message = stored_alarm(book, alarm(floor="1. etasje"))
    resolved(book, message.alarm_id, 10)
    follow = successor_id(message.alarm_id)
    actions = book.alarm(alarm(message.alarm_id, presses=2), at(20))
    view = AlarmView(
        alarm_id=follow,
        site=SITE,
        device=DEVICE,
        room="Møterom 101",
        floor="1. etasje",
        level="acute",
        source="button",
        input="desk",
        raised_at=at(20),
        presses=1,
        state=AlarmState.RAISED,
    )
    detail = (
        f"acute button:desk in 'Møterom 101', raised_at {at(20).isoformat()};"
        f" pressed after the resolution of {message.alarm_id}"
    )
    stored = view.model_copy(update={"state": AlarmState.RECEIVED, "rev": 1})
    assert actions == [
        ack(message.alarm_id, AckState.RESOLVED, 20, rev=2),
        Persist(
            follow,
            stored,
            (AlarmEvent(follow, EventKind.RAISED, at(20), DEVICE, detail),),
            insert=True,
        ),
        Broadcast(SITE, AlarmNew(alarm=view)),
    ]
    # Its acks carry its input, so the device takes it up.
    acks = only(commit_all(book, actions, at(20.1)), AckEdge)
    assert acks == [ack(follow, AckState.RECEIVED, 20.1)]
    # The same press re-sent: the old alarm's "resolved" and the new one's ack, nothing more.
    for now in (21, 22, 23):
        assert book.alarm(alarm(message.alarm_id, presses=2), at(now)) == [
            ack(message.alarm_id, AckState.RESOLVED, now, rev=2),
            ack(follow, AckState.RECEIVED, now),
        ]
    assert [v.alarm_id for v in book.active()] == [follow]


def test_more_presses_after_resolution_count_on_the_successor_then_its_successor() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    resolved(book, message.alarm_id, 10)
    follow = successor_id(message.alarm_id)
    commit_all(book, book.alarm(alarm(message.alarm_id, presses=2), at(20)), at(20))
    pressed = book.alarm(alarm(message.alarm_id, presses=3), at(21))
    [persist] = only(pressed, Persist)
    assert persist.alarm_id == follow
    assert persist.events[0].detail == "presses=2"
    commit_all(book, pressed, at(21))
    resolved(book, follow, 30)
    third = book.alarm(alarm(message.alarm_id, presses=4), at(40))
    [insert] = only(third, Persist)
    assert insert.alarm_id == successor_id(follow)
    assert insert.insert
    assert insert.alarm is not None
    assert insert.alarm.presses == 1
    assert only(third, AckEdge) == [
        ack(message.alarm_id, AckState.RESOLVED, 40, rev=2),
        ack(follow, AckState.RESOLVED, 40, presses=2, rev=2),
    ]


def test_press_while_the_resolution_is_not_yet_stored_is_a_new_alarm_too() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    resolve = book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(10))
    [write] = only(resolve, Persist)
    book.commit_failed(write, at(10.1))  # the disk is full
    actions = book.alarm(alarm(message.alarm_id, presses=2), at(11))
    # No ack for the old alarm until its resolution is stored; the new alarm is written.
    assert only(actions, AckEdge) == []
    [insert] = only(actions, Persist)
    assert insert.alarm_id == successor_id(message.alarm_id)
    [retry] = book.due(at(10.6))
    assert only(book.committed(retry, at(10.7)), AckEdge) == [  # type: ignore[arg-type]
        ack(message.alarm_id, AckState.RESOLVED, 10.7, rev=2)
    ]


def test_sync_turns_presses_held_on_a_resolved_alarm_into_its_successor() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    resolved(book, message.alarm_id, 10)
    actions = book.sync(SITE, DEVICE, [held(message.alarm_id, HeldState.SENDING, 2)], at(20))
    assert only(actions, AckEdge) == [ack(message.alarm_id, AckState.RESOLVED, 20, rev=2)]
    [insert] = only(actions, Persist)
    assert insert.alarm_id == successor_id(message.alarm_id)
    assert insert.insert


def test_held_at_start_is_said_in_the_raised_event() -> None:
    book = AlarmBook()
    [persist] = only(book.alarm(alarm(held_at_start=True), at(0)), Persist)
    assert persist.events[0].detail == (
        f"acute button:desk in 'Møterom 101', raised_at {at(0).isoformat()};"
        " contact already closed when the device started"
    )


# --- failed writes retried --------------------------------------------------------------------


def test_failed_resolution_is_retried_with_backoff_until_stored() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    before = book.get(message.alarm_id)
    [write] = book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(10))
    assert isinstance(write, Persist)
    assert write.alarm is not None
    book.commit_failed(write, at(10))
    assert book.due(at(10.4)) == []
    # Each failure doubles the wait: 0.5, 1, 2, 4, then 5 s at most.
    for due_at in (10.5, 11.5, 13.5, 17.5, 22.5):
        assert book.due(at(due_at - 0.01)) == []
        [retry] = book.due(at(due_at))
        assert retry == write  # the same row, the same events, the ack still owed
        book.commit_failed(retry, at(due_at))
        assert book.active() == (before,)  # screens keep showing it active meanwhile
    assert book.due(at(27.49)) == []
    assert book.retrying == 1
    [retry] = book.due(at(27.5))  # capped at 5 s
    assert book.committed(retry, at(27.6)) == [  # type: ignore[arg-type]
        ack(message.alarm_id, AckState.RESOLVED, 27.6, rev=2),
        Broadcast(SITE, AlarmUpdate(alarm=write.alarm)),
    ]
    assert book.due(at(60)) == []
    assert book.retrying == 0


def test_retry_waits_for_a_write_in_flight_and_needs_nothing_if_it_stored_it_all() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    [coming] = book.command(KARI, command(CommandKind.COMING, message.alarm_id), at(1))
    book.commit_failed(coming, at(1))  # type: ignore[arg-type]
    [resolve] = book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(1.2))
    assert isinstance(resolve, Persist)
    assert resolve.ack_after_commit
    assert resolve.alarm is not None
    assert [e.kind for e in resolve.events] == [EventKind.COMING, EventKind.RESOLVED]
    assert book.due(at(2)) == []  # that write is in flight
    kari = resolve.alarm.responders
    # Screens never saw Kari coming on its own: they go straight to what is stored.
    assert book.committed(resolve, at(2.1)) == [
        ack(message.alarm_id, AckState.RESOLVED, 2.1, responders=kari, rev=3, shown=True),
        Broadcast(SITE, AlarmUpdate(alarm=resolve.alarm)),
    ]
    assert book.due(at(3)) == []
    assert book.retrying == 0


def test_an_owed_ack_goes_out_when_a_receipt_stored_nothing_new() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    [coming] = book.command(KARI, command(CommandKind.COMING, message.alarm_id), at(1))
    book.commit_failed(coming, at(1))  # type: ignore[arg-type]
    [retry] = book.due(at(1.5))
    assert retry.ack_after_commit  # type: ignore[union-attr]
    [ack_edge] = only(book.committed(retry, at(1.6)), AckEdge)  # type: ignore[arg-type]
    assert ack_edge.state is AckState.ACKNOWLEDGED
    # A failed receipt carries no ack; its retry writes the receipt.
    [receipt] = book.command(KARI, command(CommandKind.SHOWN, message.alarm_id), at(2))
    book.commit_failed(receipt, at(2))  # type: ignore[arg-type]
    [again] = book.due(at(2.5))
    assert [e.kind for e in again.events] == [EventKind.SHOWN]  # type: ignore[union-attr]
    assert not again.ack_after_commit  # type: ignore[union-attr]


def test_a_failed_first_write_is_retried_and_then_acked() -> None:
    book = AlarmBook()
    message = alarm()
    [insert] = only(book.alarm(message, at(0)), Persist)
    book.commit_failed(insert, at(0))
    [retry] = book.due(at(0.5))
    assert retry == insert
    acks = only(commit_all(book, [retry], at(0.6)), AckEdge)
    assert acks == [ack(message.alarm_id, AckState.RECEIVED, 0.6)]


def test_an_alarm_with_a_write_to_retry_is_not_forgotten() -> None:
    book = AlarmBook(retention=timedelta(hours=1))
    message = stored_alarm(book)
    [write] = book.command(OLA, command(CommandKind.RESOLVE, message.alarm_id), at(10))
    book.commit_failed(write, at(10))  # type: ignore[arg-type]
    book.alarm(alarm(), at(2 * 3600))
    assert book.get(message.alarm_id) is not None
    [retry] = book.due(at(2 * 3600))
    book.committed(retry, at(2 * 3600))  # type: ignore[arg-type]
    book.alarm(alarm(), at(2 * 3600 + 1))
    assert book.get(message.alarm_id) is None


def test_a_test_alarms_ack_names_no_input_so_no_device_takes_it_up() -> None:
    book = AlarmBook()
    message = alarm(test=True)
    actions = book.alarm(message, at(0), frozenset({"testskjerm"}))
    acks = only(commit_all(book, actions, at(0.01)), AckEdge)
    assert acks == [
        AckEdge(SITE, DEVICE, message.alarm_id, AckState.RECEIVED, (), at(0.01), 1, None, 1, False)
    ]
