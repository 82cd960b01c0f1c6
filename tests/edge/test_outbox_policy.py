"""Outbox policy: what is (re)sent on raise, on reconnect, and every resend interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from edge.core import OutboxPolicy

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
    assert policy.acked(B) is True
    policy.disconnect()
    assert policy.connect(s(5)) == [A, C]


def test_ack_removes_and_duplicate_ack_is_harmless(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, T0)
    assert policy.is_pending(A)
    assert policy.acked(A) is True
    assert not policy.is_pending(A)
    assert policy.acked(A) is False
    assert policy.due(s(100)) == []


def test_repress_makes_an_acked_alarm_pending_again(policy: OutboxPolicy) -> None:
    policy.connect(T0)
    policy.raised(A, T0)
    policy.raised(B, s(1))
    policy.acked(A)
    assert policy.raised(A, s(2)) is True
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
