"""LED states of one button, and which of central's acks an alarm's LED follows.

The LED follows central's word, ordered by the ack's ``rev`` (the revision of central's stored
record of the alarm; docs/protocol.md, "ack"): an ack with a lower ``rev`` than the last one
applied to the alarm is stale and changes nothing; any other shows what it says, *back* from
"help is coming" to "received" too, when the only colleague coming withdrew — nobody coming
must never look like help is coming. An ack without ``rev`` (an older central) is ordered by its
``at`` (central's clock, the time it sent that state) instead. "resolved" is final, and no ack
ever takes an alarm back to "sending". "received" with ``shown`` false is "stored": central has
it, but no colleague has it on screen yet, and the LED must not promise that one has. The person
in the room then sees what central has stored, and the alarms the device lists in its heartbeat
agree with central's record (docs/protocol.md, "State sync"), so central stops answering them.

Whether an alarm is a drill is not an LED state but a second fact beside it (``Word.drill``):
central decides it (docs/drills.md), a device never does, and once said it stays, so every
state above is shown in its drill pattern too (edge.hw.outputs) and the person in the room
knows at once that it is an exercise while still seeing how far the alarm got.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from protocol import AckMessage, AckState, HeldState

T = TypeVar("T", datetime, int)


class LedState(StrEnum):
    OFF = "off"
    SENDING = "sending"  # fast blink: the alarm is on its way, not yet confirmed
    STORED = "stored"  # short flash, long dark: central has it, on nobody's screen yet
    RECEIVED = "received"  # slow blink: stored, and on a colleague's screen
    HELP_COMING = "help_coming"  # solid: a colleague said "I'm coming"
    RESOLVED = "resolved"  # a few quick blinks, then off


@dataclass(frozen=True, slots=True)
class Word:
    """Central's word on one alarm (an ack), as the policies take it up: revision ``rev`` of
    central's record, sent at ``at`` (central's clock; None: unordered); ``shown``: a
    colleague's screen has it; ``input`` and ``presses`` name the input and the count central
    stored, so that a device that does not know the alarm may adopt it."""

    alarm_id: UUID
    state: AckState
    responders: tuple[object, ...] = ()
    input: str | None = None
    presses: int | None = None
    at: datetime | None = None
    rev: int | None = None
    shown: bool = True
    drill: bool = False  # central says the alarm is a drill: the LED shows its drill pattern

    @classmethod
    def of(cls, ack: AckMessage) -> Word:
        return cls(
            ack.alarm_id,
            ack.state,
            ack.responders,
            ack.input,
            ack.presses,
            ack.at,
            ack.rev,
            ack.shown,
            ack.drill,
        )

    @property
    def led(self) -> LedState:
        """The LED state the word asks for (:func:`led_for_ack`)."""
        return led_for_ack(self.state, len(self.responders), shown=self.shown)


def led_for_ack(state: AckState, responders: int, *, shown: bool = True) -> LedState:
    """The LED state an ack asks for. A named responder means help is coming; "received" that
    no colleague's screen shows yet (``shown`` false) is "stored"."""
    if state is AckState.RESOLVED:
        return LedState.RESOLVED
    if state is AckState.ACKNOWLEDGED or responders > 0:
        return LedState.HELP_COMING
    return LedState.RECEIVED if shown else LedState.STORED


def is_stale(
    last_at: datetime | None,
    at: datetime | None,
    *,
    resolved: bool = False,
    last_rev: int | None = None,
    rev: int | None = None,
) -> bool:
    """Whether an ack (revision ``rev``, sent at ``at``) is older than the last one applied
    (``last_rev``, ``last_at``): a lower ``rev`` when both carry one, else an earlier ``at``
    (docs/protocol.md, "ack"). A tie is the same word, so not stale.

    No order known: the ack is central's newest word. A "resolved" ack (``resolved``) is never
    stale: central never takes a resolution back, so even a central whose clock stepped back
    (or whose record lost its revisions) is obeyed on it.
    """
    if resolved:
        return False
    if rev is not None and last_rev is not None:
        return rev < last_rev
    return last_at is not None and at is not None and at < last_at


def later(last: T | None, new: T | None) -> T | None:
    """The later of two orderings (an ``at`` or a ``rev``), either of them perhaps unknown:
    what a device keeps once it applied a word that was not stale."""
    if last is None:
        return new
    if new is None:
        return last
    return max(last, new)


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
    LedState.STORED: HeldState.STORED,
    LedState.RECEIVED: HeldState.RECEIVED,
    LedState.HELP_COMING: HeldState.ACKNOWLEDGED,
}


def held_state(led: LedState) -> HeldState | None:
    """What a device tells central it shows for an alarm (None: no active alarm shows)."""
    return _HELD.get(led)


def led_for_held(state: HeldState) -> LedState:
    """The LED that shows an alarm held in ``state`` (restored from the outbox, or adopted)."""
    return next(led for led, held in _HELD.items() if held is state)


def held_for_ack(state: AckState, responders: int, *, shown: bool = True) -> HeldState | None:
    """What an ack makes an alarm show, as a held state (None for "resolved": no longer held)."""
    return held_state(led_for_ack(state, responders, shown=shown))
