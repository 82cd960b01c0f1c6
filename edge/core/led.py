"""LED states of one button, and which of central's acks an alarm's LED follows.

The LED follows central's word, ordered by the ack's ``at`` (central's clock, the time it sent
that state): an ack older than the last one applied to the alarm is stale and changes nothing;
any other shows what it says, *back* from "help is coming" to "received" too, when the only
colleague coming withdrew — nobody coming must never look like help is coming. "resolved" is
final, and no ack ever takes an alarm back to "sending". The person in the room then sees what
central has stored, and the alarms the device lists in its heartbeat agree with central's record
(docs/protocol.md, "State sync"), so central stops answering them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from protocol import AckMessage, AckState, HeldState


class LedState(StrEnum):
    OFF = "off"
    SENDING = "sending"  # fast blink: the alarm is on its way, not yet confirmed
    RECEIVED = "received"  # slow blink: central has stored it
    HELP_COMING = "help_coming"  # solid: a colleague said "I'm coming"
    RESOLVED = "resolved"  # a few quick blinks, then off


@dataclass(frozen=True, slots=True)
class Word:
    """Central's word on one alarm (an ack), as the policies take it up: sent at ``at``
    (central's clock; None: unordered); ``input`` and ``presses`` name the input and the
    count central stored, so that a device that does not know the alarm may adopt it."""

    alarm_id: UUID
    state: AckState
    responders: tuple[object, ...] = ()
    input: str | None = None
    presses: int | None = None
    at: datetime | None = None

    @classmethod
    def of(cls, ack: AckMessage) -> Word:
        return cls(ack.alarm_id, ack.state, ack.responders, ack.input, ack.presses, ack.at)

    @property
    def led(self) -> LedState:
        """The LED state the word asks for (:func:`led_for_ack`)."""
        return led_for_ack(self.state, len(self.responders))


def led_for_ack(state: AckState, responders: int) -> LedState:
    """The LED state an ack asks for. A named responder means help is coming."""
    if state is AckState.RESOLVED:
        return LedState.RESOLVED
    if state is AckState.ACKNOWLEDGED or responders > 0:
        return LedState.HELP_COMING
    return LedState.RECEIVED


def is_stale(last_at: datetime | None, at: datetime | None, *, resolved: bool = False) -> bool:
    """Whether an ack sent at ``at`` is older than the last one applied (sent at ``last_at``).

    ``None`` on either side: no order is known, so the ack is central's newest word. A
    "resolved" ack (``resolved``) is never stale: central never takes a resolution back, so
    even a central whose clock stepped back is obeyed on it.
    """
    return not resolved and last_at is not None and at is not None and at < last_at


def may_show(current: LedState, proposed: LedState) -> bool:
    """Whether an alarm showing ``current`` may show ``proposed`` on a (not stale) ack: any
    change central asks for, except out of "resolved" (final) and back to "sending" or dark."""
    return (
        proposed is not current
        and current is not LedState.RESOLVED
        and proposed not in (LedState.OFF, LedState.SENDING)
    )


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
