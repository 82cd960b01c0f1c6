"""LED states: what an ack asks for, and that states only move forward."""

from __future__ import annotations

import pytest

from edge.core import LedState, led_for_ack
from edge.core.led import moves_forward
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


def test_states_are_ordered_and_only_move_forward() -> None:
    order = [
        LedState.OFF,
        LedState.SENDING,
        LedState.RECEIVED,
        LedState.HELP_COMING,
        LedState.RESOLVED,
    ]
    assert [s.rank for s in order] == sorted(s.rank for s in order)
    for i, current in enumerate(order):
        for j, proposed in enumerate(order):
            assert moves_forward(current, proposed) is (j > i)


def test_wire_names_match_the_contract() -> None:
    assert [s.value for s in LedState] == [
        "off",
        "sending",
        "received",
        "help_coming",
        "resolved",
    ]
