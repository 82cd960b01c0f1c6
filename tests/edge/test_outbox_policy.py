"""Outbox policy: what is (re)sent on raise, on reconnect, and every resend interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from edge.core import OutboxPolicy, ack_settles
from protocol import AckState

RECEIVED = AckState.RECEIVED

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
A, B, C = UUID(int=1), UUID(int=2), UUID(int=3)


def s(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


@pytest.fixture
def policy() -> OutboxPolicy:
    return OutboxPolicy(timedelta(seconds=5))


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        OutboxPolicy(timedelta(0))


def test_raised_while_connected_is_sent_now_and_resent_every_interval(
    policy: OutboxPolicy,
) -> None:
    assert policy.connect(T0) == []
    assert policy.connected
    assert policy.raised(A, s(1)) is True
    assert policy.pending == (A,)
    assert policy.due(s(5.9)) == []
    assert policy.due(s(6)) == [A]
    assert policy.due(s(7)) == []
    assert policy.due(s(11)) == [A]


def test_raised_while_disconnected_waits_for_connect(policy: OutboxPolicy) -> None:
    assert policy.raised(A, T0) is False
    assert policy.due(s(60)) == []  # nothing to send into a dead link
    assert policy.connect(s(61)) == [A]
    assert policy.due(s(62)) == []
    assert policy.due(s(66)) == [A]


def test_every_reconnect_resends_all_pending(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, s(1))
    policy.raised(B, s(2))
    policy.disconnect()
    assert not policy.connected
    policy.raised(C, s(3))
    assert policy.connect(s(4)) == [A, B, C]
    assert policy.acked(B, RECEIVED) is True
    policy.disconnect()
    assert policy.connect(s(5)) == [A, C]


def test_ack_removes_and_duplicate_ack_is_harmless(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, T0)
    assert policy.is_pending(A)
    assert policy.acked(A, RECEIVED, presses=1) is True
    assert not policy.is_pending(A)
    assert policy.acked(A, RECEIVED, presses=1) is False
    assert policy.due(s(100)) == []


def test_repress_makes_an_acked_alarm_pending_again(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, T0)
    policy.raised(B, s(1))
    policy.acked(A, RECEIVED, presses=1)
    assert policy.raised(A, s(2), presses=2) is True
    assert policy.pending == (B, A)  # ordered by latest change
    assert policy.due(s(6)) == [B]
    assert policy.due(s(7)) == [A]


def test_restored_alarms_go_out_on_connect_and_restore_is_idempotent(
    policy: OutboxPolicy,
) -> None:
    policy.restored(A)
    policy.restored(A)
    assert policy.pending == (A,)
    assert policy.connect(T0) == [A]


def test_restored_alarm_is_due_at_once_if_connected(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.restored(A)
    assert policy.due(s(0.1)) == [A]


def test_clock_stepping_back_does_not_stall_resends(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, s(100))
    assert policy.due(s(-3600)) == [A]
    assert policy.due(s(-3599)) == []


@pytest.mark.parametrize(
    ("local", "state", "acked", "settles"),
    [
        (1, AckState.RECEIVED, None, True),  # a central that predates ``presses``
        (3, AckState.ACKNOWLEDGED, None, True),
        (2, AckState.RECEIVED, 2, True),
        (2, AckState.ACKNOWLEDGED, 3, True),  # central knows more: nothing left to say
        (2, AckState.RECEIVED, 1, False),  # the ack was on its way before the re-press
        (5, AckState.ACKNOWLEDGED, 4, False),
        (2, AckState.RESOLVED, 1, True),  # a resolved alarm records no more presses
    ],
)
def test_ack_settles_only_a_count_it_confirms(
    local: int, state: AckState, acked: int | None, settles: bool
) -> None:
    assert ack_settles(local, state, acked) is settles


def test_ack_in_flight_during_a_repress_keeps_the_higher_count_pending(
    policy: OutboxPolicy,
) -> None:
    policy.connect(T0)
    assert policy.raised(A, T0) is True
    assert policy.raised(A, s(1), presses=2) is True  # pressed again before any ack came
    assert policy.acked(A, RECEIVED, presses=1) is False  # central's ack for the first press
    assert policy.is_pending(A)
    assert policy.pending == (A,)
    assert policy.due(s(5.9)) == []
    assert policy.due(s(6)) == [A]  # the resend timer carries presses=2 on
    assert policy.acked(A, AckState.ACKNOWLEDGED, presses=2) is True
    assert not policy.is_pending(A)
    assert policy.due(s(20)) == []


def test_restored_alarm_keeps_its_count(policy: OutboxPolicy) -> None:
    policy.restored(A, presses=3)
    assert policy.acked(A, RECEIVED, presses=2) is False
    assert policy.connect(T0) == [A]
    assert policy.acked(A, RECEIVED, presses=3) is True


def test_resolved_ack_settles_a_count_central_will_not_record(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, T0, presses=2)
    assert policy.acked(A, AckState.RESOLVED, presses=1) is True
    assert policy.pending == ()
