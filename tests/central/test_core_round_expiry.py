"""A manual test round closes by itself: past ``expires_at`` no press is a test (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from central.core.rounds import DEFAULT_MAX_DURATION, Button, ButtonResult, TestRound
from protocol import AlarmSource

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROUND = UUID(int=1)
A1, A2, A3 = UUID(int=11), UUID(int=12), UUID(int=13)


def started(max_duration: timedelta = DEFAULT_MAX_DURATION) -> TestRound:
    return TestRound(ROUND, "oslo-sentrum", "ola", T0, {Button("rom-101", "desk")}, max_duration)


def test_default_is_two_hours_and_expires_at_follows_the_start() -> None:
    assert started().expires_at == T0 + timedelta(hours=2)
    assert started(timedelta(minutes=5)).expires_at == T0 + timedelta(minutes=5)


def test_a_press_before_expiry_is_a_test_and_after_it_is_real_even_if_still_open() -> None:
    found = started(timedelta(minutes=30))
    assert found.press("rom-101", "desk", AlarmSource.BUTTON, A1, T0 + timedelta(minutes=29))
    # Not closed by the shell yet, but past its time: a real alarm for everyone.
    at = T0 + timedelta(minutes=30)
    assert found.open
    assert found.due(at)
    assert not found.press("rom-102", "desk", AlarmSource.BUTTON, A2, at)


def test_expire_closes_it_at_expires_at_once() -> None:
    found = started(timedelta(minutes=30))
    assert not found.expire(T0 + timedelta(minutes=29, seconds=59))
    assert found.open
    assert not found.expired
    assert found.expire(T0 + timedelta(minutes=31))
    assert (found.open, found.expired, found.closed_at) == (
        False,
        True,
        T0 + timedelta(minutes=30),
    )
    assert not found.expire(T0 + timedelta(minutes=32))  # once
    assert not found.press("rom-101", "door", AlarmSource.BUTTON, A3, T0 + timedelta(hours=1))
    assert [o.result for o in found.report()] == [ButtonResult.NOT_TESTED]


def test_a_manually_closed_round_is_not_expired() -> None:
    found = started()
    found.close(T0 + timedelta(minutes=10))
    assert not found.due(T0 + timedelta(hours=3))
    assert not found.expire(T0 + timedelta(hours=3))
    assert found.closed_at == T0 + timedelta(minutes=10)
    assert not found.expired
