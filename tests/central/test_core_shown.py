"""The record's revision and "shown", as pure logic (docs/protocol.md, "ack" and "State sync").

Every stored change of what a device shows (state, responders, whether a colleague's screen has
the alarm) is a new revision, carried on the ack as ``rev``; an alarm stored but on nobody's
screen is acked ``received`` with ``shown`` false, and the first colleague's screen reporting it
shown makes central tell the device again.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from central.core import AckEdge, AlarmBook, AlarmEvent, EventKind, Persist, Person
from protocol import AckState
from protocol.messages import HeldAlarm, HeldState, Responder
from protocol.screen import AlarmState, CommandKind, RaiseRequest
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
EVA = Person("eva", "Eva Berg", "e" * 24, frozenset({SITE}))


def ack(
    alarm_id: UUID,
    state: AckState,
    now: float,
    rev: int,
    shown: bool,
    responders: tuple[Responder, ...] = (),
) -> AckEdge:
    return AckEdge(
        SITE,
        DEVICE,
        alarm_id,
        state,
        responders,
        at(now),
        1,
        "desk",
        rev,
        shown,
    )


def held(alarm_id: UUID, state: HeldState) -> HeldAlarm:
    return HeldAlarm(alarm_id=alarm_id, input="desk", presses=1, state=state)


def test_an_alarm_on_nobody_s_screen_is_acked_as_not_shown() -> None:
    book = AlarmBook()
    message = alarm()
    acks = only(commit_all(book, book.alarm(message, at(0)), at(0.1)), AckEdge)
    # Acked once its "received" entry is stored too.
    assert acks == [ack(message.alarm_id, AckState.RECEIVED, 0.1, 1, False)]
    assert book.on_screen(message.alarm_id) is False
    view = book.get(message.alarm_id)
    assert view is not None
    assert (view.rev, view.shown_at) == (1, None)


def test_the_first_colleague_s_screen_is_recorded_and_the_device_told_again() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    before = book.get(alarm_id)
    assert before is not None
    [write] = book.command(KARI, command(CommandKind.SHOWN, alarm_id), at(5))
    row = before.model_copy(update={"shown_at": at(5), "rev": 2})
    shown = AlarmEvent(alarm_id, EventKind.SHOWN, at(5), "kari")
    assert write == Persist(alarm_id, row, (shown,), ack_after_commit=True)
    assert book.on_screen(alarm_id) is True  # known at once (escalation asks this)
    assert book.get(alarm_id) == before  # screens' view: once stored
    # Once stored: the device hears "received, shown" (revision 2); screens have nothing new
    # to show, so no update goes out, but their view (snapshots, the board) carries it.
    assert book.committed(write, at(5.1)) == [ack(alarm_id, AckState.RECEIVED, 5.1, 2, True)]
    assert book.get(alarm_id) == row
    # A second screen's "shown" is a receipt only.
    [receipt] = book.command(OLA, command(CommandKind.SHOWN, alarm_id), at(6))
    assert receipt == Persist(
        alarm_id, None, (AlarmEvent(alarm_id, EventKind.SHOWN, at(6), "ola"),)
    )
    assert book.committed(receipt, at(6.1)) == []


def test_sync_tells_stored_from_received() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    alarm_id = message.alarm_id
    # Central's record: on nobody's screen. A device showing "received" promises too much.
    assert book.sync(SITE, DEVICE, [held(alarm_id, HeldState.STORED)], at(2)) == []
    assert book.sync(SITE, DEVICE, [held(alarm_id, HeldState.RECEIVED)], at(3)) == [
        ack(alarm_id, AckState.RECEIVED, 3, 1, False)
    ]
    commit_all(book, book.command(EVA, command(CommandKind.SHOWN, alarm_id), at(4)), at(4))
    # Shown now: a device still showing "stored" missed that ack and hears it again.
    assert book.sync(SITE, DEVICE, [held(alarm_id, HeldState.STORED)], at(5)) == [
        ack(alarm_id, AckState.RECEIVED, 5, 2, True)
    ]
    assert book.sync(SITE, DEVICE, [held(alarm_id, HeldState.RECEIVED)], at(6)) == []


def test_each_change_a_device_shows_is_one_revision_higher() -> None:
    book = AlarmBook()
    message = stored_alarm(book)  # rev 1: stored, on nobody's screen
    alarm_id = message.alarm_id
    steps = [
        (EVA, CommandKind.SHOWN),  # rev 2: on a screen
        (KARI, CommandKind.COMING),  # rev 3: help is coming
        (OLA, CommandKind.CANT_COME),  # a decline of someone not coming: nothing to show
        (KARI, CommandKind.CANT_COME),  # rev 4: nobody is coming any more
        (OLA, CommandKind.RESOLVE),  # rev 5
    ]
    acks: list[AckEdge] = []
    for n, (person, kind) in enumerate(steps, start=10):
        acks += only(
            commit_all(book, book.command(person, command(kind, alarm_id), at(n)), at(n)), AckEdge
        )
    kari = Responder(user="kari", name="Kari Nordmann", at=at(11))
    assert acks == [
        ack(alarm_id, AckState.RECEIVED, 10, 2, True),
        ack(alarm_id, AckState.ACKNOWLEDGED, 11, 3, True, (kari,)),
        ack(alarm_id, AckState.RECEIVED, 13, 4, True),
        ack(alarm_id, AckState.RESOLVED, 14, 5, True),
    ]
    # A restart continues the count from the stored row.
    stored = book.get(alarm_id)
    assert stored is not None
    assert stored.rev == 5
    restored = AlarmBook.restore([stored.model_copy(update={"state": AlarmState.RECEIVED})])
    write = only(restored.command(KARI, command(CommandKind.COMING, alarm_id), at(20)), Persist)
    assert [p.alarm.rev for p in write if p.alarm is not None] == [6]


def test_answering_counts_as_seeing_it() -> None:
    book = AlarmBook()
    message = stored_alarm(book)
    commit_all(
        book, book.command(KARI, command(CommandKind.COMING, message.alarm_id), at(3)), at(3)
    )
    assert book.on_screen(message.alarm_id) is True
    view = book.get(message.alarm_id)
    assert view is not None
    assert (view.shown_at, view.rev) == (at(3), 2)


def test_shown_before_the_first_commit_rides_on_the_first_ack() -> None:
    book = AlarmBook()
    message = alarm()
    [insert] = only(book.alarm(message, at(0)), Persist)
    [write] = book.command(KARI, command(CommandKind.SHOWN, message.alarm_id), at(0.01))
    assert isinstance(write, Persist)
    assert not write.ack_after_commit  # nothing is acked before the alarm is on disk
    acks = only(commit_all(book, [insert, write], at(0.1)), AckEdge)
    assert acks == [ack(message.alarm_id, AckState.RECEIVED, 0.1, 2, True)]


def test_a_test_screen_or_the_raiser_s_own_desk_is_no_colleague_s_screen() -> None:
    book = AlarmBook()
    test_alarm = alarm(test=True)
    commit_all(book, book.alarm(test_alarm, at(0), frozenset({"kari"})), at(0))
    commit_all(
        book, book.command(KARI, command(CommandKind.SHOWN, test_alarm.alarm_id), at(1)), at(1)
    )
    assert book.on_screen(test_alarm.alarm_id) is False
    request = RaiseRequest(
        type="raise", alarm_id=uuid4(), level="acute", site=SITE, room="Kontor", raised_at=at(0)
    )
    commit_all(book, book.raise_from_screen(KARI, request, at(2)), at(2))
    own = book.command(KARI, command(CommandKind.SHOWN, request.alarm_id), at(3))
    assert [p.alarm for p in only(own, Persist)] == [None]
    assert book.on_screen(request.alarm_id) is False
    colleague = book.command(OLA, command(CommandKind.SHOWN, request.alarm_id), at(4))
    assert only(commit_all(book, colleague, at(4)), AckEdge) == []  # no device behind it
    assert book.on_screen(request.alarm_id) is True
    assert book.on_screen(uuid4()) is False
