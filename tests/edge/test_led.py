"""LED states: what an ack asks for, which acks are stale, and what an LED may change to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.core import LedState, led_for_ack
from edge.core.led import is_stale, may_show
from protocol import AckState


@pytest.mark.parametrize(
    ("state", "responders", "expected"),
    [
        (AckState.RECEIVED, 0, LedState.RECEIVED),
        (AckState.RECEIVED, 1, LedState.HELP_COMING),
        (AckState.ACKNOWLEDGED, 0, LedState.HELP_COMING),
        (AckState.ACKNOWLEDGED, 2, LedState.HELP_COMING),
        (AckState.RESOLVED, 0, LedState.RESOLVED),
        (AckState.RESOLVED, 3, LedState.RESOLVED),
    ],
)
def test_led_for_ack(state: AckState, responders: int, expected: LedState) -> None:
    assert led_for_ack(state, responders) is expected


def test_an_ack_may_show_any_change_but_not_out_of_resolved_nor_back_to_sending() -> None:
    shown = [LedState.SENDING, LedState.RECEIVED, LedState.HELP_COMING, LedState.RESOLVED]
    allowed = {
        (current, proposed)
        for current in LedState
        for proposed in LedState
        if may_show(current, proposed)
    }
    assert allowed == {
        (LedState.OFF, LedState.RECEIVED),
        (LedState.OFF, LedState.HELP_COMING),
        (LedState.OFF, LedState.RESOLVED),
        (LedState.SENDING, LedState.RECEIVED),
        (LedState.SENDING, LedState.HELP_COMING),
        (LedState.SENDING, LedState.RESOLVED),
        (LedState.RECEIVED, LedState.HELP_COMING),
        (LedState.RECEIVED, LedState.RESOLVED),
        (LedState.HELP_COMING, LedState.RECEIVED),  # the only colleague coming withdrew
        (LedState.HELP_COMING, LedState.RESOLVED),
    }
    assert all(not may_show(current, current) for current in shown)


T1 = datetime(2026, 11, 27, 9, 23, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_at", "at", "resolved", "stale"),
    [
        (None, T1, False, False),  # nothing applied yet
        (T1, None, False, False),  # no time on the ack: no order known
        (T1, T1, False, False),  # the same time: not older
        (T1, T1 + timedelta(milliseconds=1), False, False),
        (T1, T1 - timedelta(milliseconds=1), False, True),
        (T1, T1 - timedelta(hours=1), True, False),  # "resolved" is never taken back
    ],
)
def test_an_ack_older_than_the_last_applied_is_stale(
    last_at: datetime | None, at: datetime | None, resolved: bool, stale: bool
) -> None:
    assert is_stale(last_at, at, resolved=resolved) is stale


def test_wire_names_match_the_contract() -> None:
    assert [s.value for s in LedState] == [
        "off",
        "sending",
        "received",
        "help_coming",
        "resolved",
    ]
