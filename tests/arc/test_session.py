"""The ARC link's rules as pure logic: events and ``now`` in, actions out, exact equality."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central.arc.events import ArcEvent, ArcKind
from central.arc.frames import Frame, Reply
from central.arc.session import (
    Account,
    ArcSession,
    Delivered,
    LinkChanged,
    LinkState,
    Policy,
    Refused,
    Resynced,
    Status,
    Transmit,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SITE = "oslo"
ACCOUNT = Account("1234", "ADM-CID", "0", "1", 1)
POLICY = Policy(
    receivers=2,
    attempts=2,
    retry_delay=timedelta(seconds=2),
    pause=timedelta(seconds=30),
    link_test=timedelta(seconds=60),
)
PANIC = ArcEvent(SITE, "alarm-1", ArcKind.PANIC, T0, 15)
ASSIST = ArcEvent(SITE, "alarm-2", ArcKind.ASSIST, T0, 4)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def null(seq: int, when: datetime) -> Frame:
    return Frame("NULL", seq, "1234", "0", "1", "", when)


def cid(seq: int, data: str, when: datetime) -> Frame:
    return Frame("ADM-CID", seq, "1234", "0", "1", data, when)


def ack(seq: int) -> Reply:
    return Reply("ACK", seq, "1234", None)


def up(seconds: float) -> LinkChanged:
    return LinkChanged(SITE, LinkState(Status.UP, at(seconds)))


def started() -> ArcSession:
    """A session whose first link test was answered at 0.5 s."""
    session = ArcSession(SITE, ACCOUNT, POLICY, T0)
    assert session.state == LinkState(Status.UNKNOWN, T0, "not tested yet")
    assert session.due(T0) == [Transmit(SITE, 0, null(1, T0), None)]
    assert session.due(T0) == []  # one in flight
    assert session.next_due() is None
    assert session.answered(ack(1), at(0.5)) == [up(0.5)]
    return session


def test_link_test_at_start_then_when_idle() -> None:
    session = started()
    assert session.next_due() == at(60.5)
    assert session.due(at(60)) == []
    assert session.due(at(60.5)) == [Transmit(SITE, 0, null(2, at(60.5)), None)]
    assert session.answered(ack(2), at(61)) == []  # still up: no change reported
    assert session.next_due() == at(121)


def test_an_event_is_sent_at_once_and_done_on_ack() -> None:
    session = started()
    assert session.offer(PANIC, at(5)) == [Transmit(SITE, 0, cid(2, "1120 01 015", at(5)), PANIC)]
    assert session.offer(ASSIST, at(5.1)) == []  # queued behind the one in flight
    assert session.pending == 2
    assert session.answered(ack(2), at(6)) == [
        Delivered(SITE, PANIC),
        Transmit(SITE, 0, cid(3, "1101 01 004", at(6)), ASSIST),
    ]
    assert session.answered(ack(3), at(6.2)) == [Delivered(SITE, ASSIST)]
    assert session.pending == 0
    assert session.next_due() == at(66.2)  # the link test restarts after the last exchange


def test_the_same_event_twice_is_queued_once() -> None:
    session = started()
    session.offer(PANIC, at(1))
    again = ArcEvent(SITE, "alarm-1", ArcKind.PANIC, at(1), 15)
    assert session.offer(again, at(1)) == []
    assert session.pending == 1
    restore = ArcEvent(SITE, "alarm-1", ArcKind.PANIC, at(2), 15, restore=True)
    assert session.offer(restore, at(2)) == []  # its restore is another event: queued
    assert session.pending == 2


def test_retries_then_the_fallback_then_down_then_a_new_round() -> None:
    session = started()
    session.offer(PANIC, at(5))
    assert session.failed("TimeoutError", at(15)) == []
    assert session.next_due() == at(17)
    assert session.due(at(16)) == []
    retry = session.due(at(17))  # the same sequence number, a fresh timestamp
    assert retry == [Transmit(SITE, 0, cid(2, "1120 01 015", at(17)), PANIC)]
    assert session.failed("ConnectionRefusedError", at(17.1)) == [
        Transmit(SITE, 1, cid(2, "1120 01 015", at(17.1)), PANIC)
    ]
    assert session.receiver == 1
    assert session.failed("closed without an answer", at(18)) == []
    assert session.due(at(20)) == [Transmit(SITE, 1, cid(2, "1120 01 015", at(20)), PANIC)]
    down = LinkState(Status.DOWN, at(21), "no receiver answered: wrong CRC")
    assert session.failed("wrong CRC", at(21)) == [LinkChanged(SITE, down)]
    assert session.state == down
    assert session.pending == 1  # nothing is dropped
    assert session.next_due() == at(51)
    assert session.due(at(50)) == []
    assert session.due(at(51)) == [Transmit(SITE, 0, cid(2, "1120 01 015", at(51)), PANIC)]
    assert session.offer(ASSIST, at(51.5)) == []  # behind the one in flight
    assert session.answered(ack(2), at(52)) == [
        Delivered(SITE, PANIC),
        up(52),
        Transmit(SITE, 0, cid(3, "1101 01 004", at(52)), ASSIST),
    ]


def test_news_while_down_starts_a_round_at_once() -> None:
    session = started()
    session.offer(PANIC, at(1))
    for t in (2, 4, 5, 7):
        session.failed("timeout", at(t))
        session.due(at(t + 2))
    assert session.state.status == Status.DOWN
    assert session.offer(ASSIST, at(10)) == [
        Transmit(SITE, 0, cid(2, "1120 01 015", at(10)), PANIC)
    ]


def test_a_failed_link_test_is_not_retried_after_down() -> None:
    session = ArcSession(SITE, ACCOUNT, POLICY, T0)
    session.due(T0)
    assert session.failed("refused", at(0)) == []
    assert session.due(at(2)) == [Transmit(SITE, 0, null(1, at(2)), None)]
    assert session.failed("refused", at(2)) == [Transmit(SITE, 1, null(1, at(2)), None)]
    session.failed("refused", at(3))
    session.due(at(5))
    down = LinkState(Status.DOWN, at(5), "no receiver answered: refused")
    assert session.failed("refused", at(5)) == [LinkChanged(SITE, down)]
    assert session.next_due() == at(35)
    assert session.due(at(35)) == [Transmit(SITE, 0, null(2, at(35)), None)]


def test_nak_with_the_receivers_time_resyncs() -> None:
    session = started()
    session.offer(PANIC, at(5))
    their = at(5) + timedelta(minutes=10)
    nak = Reply("NAK", 0, None, their)
    assert session.answered(nak, at(5)) == [
        Resynced(SITE, timedelta(minutes=10)),
        Transmit(SITE, 0, cid(2, "1120 01 015", their), PANIC),
    ]
    assert session.answered(ack(2), at(6)) == [Delivered(SITE, PANIC)]
    assert session.offer(ASSIST, at(7)) == [
        Transmit(SITE, 0, cid(3, "1101 01 004", at(7) + timedelta(minutes=10)), ASSIST)
    ]


def test_a_receiver_that_naks_everything_cannot_hold_the_link() -> None:
    session = started()
    session.offer(PANIC, at(5))
    nak = Reply("NAK", 0, None, at(5))
    session.answered(nak, at(5))
    assert session.answered(nak, at(5)) == [  # second NAK on this receiver: the fallback
        Resynced(SITE, timedelta(0)),
        Transmit(SITE, 1, cid(2, "1120 01 015", at(5)), PANIC),
    ]


def test_plain_nak_and_wrong_sequence_are_failures() -> None:
    session = started()
    session.offer(PANIC, at(5))
    assert session.answered(Reply("NAK", None, None, None), at(6)) == []
    assert session.next_due() == at(8)
    session.due(at(8))
    assert session.answered(ack(99), at(9)) == [
        Transmit(SITE, 1, cid(2, "1120 01 015", at(9)), PANIC)
    ]


def test_duh_refuses_the_event_and_moves_on() -> None:
    session = started()
    session.offer(PANIC, at(1))
    session.offer(ASSIST, at(1))
    assert session.answered(Reply("DUH", 2, "1234", None), at(2)) == [
        Refused(SITE, PANIC),
        Transmit(SITE, 0, cid(3, "1101 01 004", at(2)), ASSIST),
    ]
    assert session.answered(Reply("RSP", 3, "1234", None), at(3)) == [Delivered(SITE, ASSIST)]


def test_on_a_fallback_the_link_test_probes_the_primary() -> None:
    session = started()
    session.offer(PANIC, at(1))
    session.failed("refused", at(1))
    session.due(at(3))
    session.failed("refused", at(3))  # now on receiver 1
    assert session.answered(ack(2), at(4)) == [Delivered(SITE, PANIC)]
    assert session.receiver == 1
    assert session.due(at(64)) == [Transmit(SITE, 0, null(3, at(64)), None)]  # the probe
    assert session.failed("refused", at(64)) == [Transmit(SITE, 1, null(4, at(64)), None)]
    assert session.answered(ack(4), at(65)) == []
    assert session.receiver == 1
    assert session.due(at(125)) == [Transmit(SITE, 0, null(5, at(125)), None)]
    assert session.answered(ack(5), at(126)) == []
    assert session.receiver == 0  # back on the primary


def test_answers_without_a_message_in_flight_change_nothing() -> None:
    session = started()
    assert session.answered(ack(1), at(2)) == []
    assert session.failed("late", at(2)) == []
    assert session.state == LinkState(Status.UP, at(0.5))


def test_sia_dcs_account() -> None:
    session = ArcSession(SITE, Account("ABC", "SIA-DCS", "2", None, 3), POLICY, T0)
    session.due(T0)
    session.answered(Reply("ACK", 1, "ABC", None), T0)
    assert session.offer(PANIC, at(1)) == [
        Transmit(SITE, 0, Frame("SIA-DCS", 2, "ABC", "2", None, "Nri3/PA015", at(1)), PANIC)
    ]
