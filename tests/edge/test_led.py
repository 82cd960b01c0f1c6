"""LED states: what an ack asks for, which acks are stale, and what an LED may change to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.core import LedState, led_for_ack
from edge.core.led import held_for_ack, is_stale, later, may_show
from protocol import AckState, HeldState


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


@pytest.mark.parametrize(
    ("state", "responders", "expected", "held"),
    [
        # Stored, and on nobody's screen yet: the LED must not promise that a colleague has it.
        (AckState.RECEIVED, 0, LedState.STORED, HeldState.STORED),
        (AckState.RECEIVED, 1, LedState.HELP_COMING, HeldState.ACKNOWLEDGED),
        (AckState.ACKNOWLEDGED, 0, LedState.HELP_COMING, HeldState.ACKNOWLEDGED),
        (AckState.RESOLVED, 0, LedState.RESOLVED, None),
    ],
)
def test_an_ack_not_shown_on_any_screen_asks_for_stored(
    state: AckState, responders: int, expected: LedState, held: HeldState | None
) -> None:
    assert led_for_ack(state, responders, shown=False) is expected
    assert held_for_ack(state, responders, shown=False) is held
    assert held_for_ack(AckState.RECEIVED, 0) is HeldState.RECEIVED  # shown (or older central)


def test_an_ack_may_show_any_change_but_not_out_of_resolved_nor_back_to_sending() -> None:
    shown = [
        LedState.SENDING,
        LedState.STORED,
        LedState.RECEIVED,
        LedState.HELP_COMING,
        LedState.RESOLVED,
    ]
    allowed = {
        (current, proposed)
        for current in LedState
        for proposed in LedState
        if may_show(current, proposed)
    }
    assert allowed == {
        (LedState.OFF, LedState.STORED),
        (LedState.OFF, LedState.RECEIVED),
        (LedState.OFF, LedState.HELP_COMING),
        (LedState.OFF, LedState.RESOLVED),
        (LedState.SENDING, LedState.STORED),
        (LedState.SENDING, LedState.RECEIVED),
        (LedState.SENDING, LedState.HELP_COMING),
        (LedState.SENDING, LedState.RESOLVED),
        (LedState.STORED, LedState.RECEIVED),  # a colleague's screen has it now
        (LedState.STORED, LedState.HELP_COMING),
        (LedState.STORED, LedState.RESOLVED),
        # Central's record never goes back to "on nobody's screen"; an ack saying so is an
        # older one, which ``rev`` makes stale before this is asked.
        (LedState.RECEIVED, LedState.STORED),
        (LedState.RECEIVED, LedState.HELP_COMING),
        (LedState.RECEIVED, LedState.RESOLVED),
        (LedState.HELP_COMING, LedState.STORED),
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


@pytest.mark.parametrize(
    ("last_rev", "rev", "last_at", "at", "resolved", "stale"),
    [
        (None, 1, None, T1, False, False),  # nothing applied yet
        (3, 3, T1, T1, False, False),  # a tie is the same word: not older
        (3, 4, T1, T1 - timedelta(hours=1), False, False),  # rev decides, not a clock stepped back
        (4, 3, T1, T1 + timedelta(hours=1), False, True),  # a late ack of an older revision
        (4, 3, T1, T1, True, False),  # "resolved" is never taken back
        (None, 3, T1, T1 - timedelta(seconds=1), False, True),  # no rev kept: ``at`` decides
        (3, None, T1, T1 + timedelta(seconds=1), False, False),  # an older central's ack
    ],
)
def test_an_ack_of_a_lower_revision_is_stale(
    last_rev: int | None,
    rev: int | None,
    last_at: datetime | None,
    at: datetime | None,
    resolved: bool,
    stale: bool,
) -> None:
    assert is_stale(last_at, at, resolved=resolved, last_rev=last_rev, rev=rev) is stale


def test_what_is_kept_is_the_latest_of_each_order() -> None:
    assert later(None, 3) == 3
    assert later(3, None) == 3
    assert later(3, 2) == 3
    assert later(T1, T1 + timedelta(seconds=1)) == T1 + timedelta(seconds=1)
    assert later(None, None) is None


def test_wire_names_match_the_contract() -> None:
    assert [s.value for s in LedState] == [
        "off",
        "sending",
        "stored",
        "received",
        "help_coming",
        "resolved",
    ]
