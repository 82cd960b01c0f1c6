"""LED states of one button, and the order in which an alarm may move through them.

An alarm's LED only moves forward: a late "received" ack that arrives after "acknowledged"
must not tell the person in the room that nobody is coming any more.
"""

from __future__ import annotations

from enum import StrEnum

from protocol import AckState, HeldState


class LedState(StrEnum):
    OFF = "off"
    SENDING = "sending"  # fast blink: the alarm is on its way, not yet confirmed
    RECEIVED = "received"  # slow blink: central has stored it
    HELP_COMING = "help_coming"  # solid: a colleague said "I'm coming"
    RESOLVED = "resolved"  # a few quick blinks, then off

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    LedState.OFF: 0,
    LedState.SENDING: 1,
    LedState.RECEIVED: 2,
    LedState.HELP_COMING: 3,
    LedState.RESOLVED: 4,
}


def led_for_ack(state: AckState, responders: int) -> LedState:
    """The LED state an ack asks for. A named responder means help is coming."""
    if state is AckState.RESOLVED:
        return LedState.RESOLVED
    if state is AckState.ACKNOWLEDGED or responders > 0:
        return LedState.HELP_COMING
    return LedState.RECEIVED


def moves_forward(current: LedState, proposed: LedState) -> bool:
    """True if an alarm showing ``current`` may go on to show ``proposed``."""
    return proposed.rank > current.rank


_HELD = {
    LedState.SENDING: HeldState.SENDING,
    LedState.RECEIVED: HeldState.RECEIVED,
    LedState.HELP_COMING: HeldState.ACKNOWLEDGED,
}


def held_state(led: LedState) -> HeldState | None:
    """What a device tells central it shows for an alarm (None: no active alarm shows)."""
    return _HELD.get(led)


def led_for_held(state: HeldState) -> LedState:
    """The LED that shows an alarm held in ``state`` (restored from the outbox, or adopted)."""
    return next(led for led, held in _HELD.items() if held is state)


def held_for_ack(state: AckState, responders: int) -> HeldState | None:
    """What an ack makes an alarm show, as a held state (None for "resolved": no longer held)."""
    return held_state(led_for_ack(state, responders))
