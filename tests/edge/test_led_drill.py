"""A drill on the button's LED: central says ``drill`` in its ack, the device never decides.

The press policy keeps the drill beside the LED state (same states, drill pattern), lists it in
the held alarms (state sync), and takes it from an adopted or restored alarm too; the outputs
play the drill's double flashes on gpiozero's mock pins, and a real alarm never shows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from gpiozero.pins.mock import MockFactory

from edge.config import ButtonConfig
from edge.core import ButtonSpec, LedState, PressPolicy, SetLed, Word
from edge.core.actions import AdoptAlarm
from edge.hw import Indicators
from edge.hw.outputs import DRILL_PATTERNS, PATTERNS
from protocol import AckMessage, AckState, AlarmLevel, HeldAlarm, HeldState
from tests.edge.helpers import poll

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
A1 = UUID(int=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def policy() -> PressPolicy:
    counter = iter(range(1, 1000))
    found = PressPolicy(
        [ButtonSpec("desk", AlarmLevel.ACUTE)],
        id_factory=lambda: UUID(int=next(counter)),
        resolved_display=timedelta(seconds=1),
    )
    found.start((), (), {}, T0)
    return found


def word(state: AckState, rev: int, *, drill: bool = False, shown: bool = True) -> Word:
    return Word(A1, state, (), "desk", 1, at(rev), rev, shown, drill)


def test_an_ack_saying_drill_shows_the_state_in_the_drill_pattern(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert not policy.led_drill("desk")
    assert policy.ack(word(AckState.RECEIVED, 1, drill=True), at(1)) == [
        SetLed("desk", LedState.RECEIVED, A1, drill=True)
    ]
    assert policy.led_state("desk") is LedState.RECEIVED
    assert policy.led_drill("desk")
    [held] = policy.held()
    assert held.drill is True
    assert held.state is HeldState.RECEIVED


def test_a_drill_goes_dark_as_an_ordinary_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(word(AckState.RECEIVED, 1, drill=True), at(1))
    coming = Word(A1, AckState.ACKNOWLEDGED, ("kari",), "desk", 1, at(2), 2, True, True)
    assert policy.ack(coming, at(2)) == [SetLed("desk", LedState.HELP_COMING, A1, drill=True)]
    assert policy.ack(word(AckState.RESOLVED, 3, drill=True), at(3)) == [
        SetLed("desk", LedState.RESOLVED, A1, drill=True)
    ]
    assert policy.tick(at(5)) == [SetLed("desk", LedState.OFF)]
    assert not policy.led_drill("desk")
    # The next press is a new alarm, real until central says otherwise.
    policy.contact_opened("desk", at(5.5))
    policy.contact_closed("desk", at(6))
    [held] = policy.held()
    assert held.drill is None  # not a drill: nothing said on the wire


def test_told_drill_late_the_same_state_is_shown_again_as_a_drill(policy: PressPolicy) -> None:
    """A device that forgot (a restart) hears ``drill`` again from central's state sync: the
    same ``rev``, so no new state, but the pattern changes."""
    policy.contact_closed("desk", T0)
    assert policy.ack(word(AckState.RECEIVED, 1), at(1)) == [SetLed("desk", LedState.RECEIVED, A1)]
    assert policy.ack(word(AckState.RECEIVED, 1, drill=True), at(2)) == [
        SetLed("desk", LedState.RECEIVED, A1, drill=True)
    ]
    assert policy.ack(word(AckState.RECEIVED, 1, drill=True), at(3)) == []  # said already


def test_the_drill_pattern_follows_the_newest_ack_by_rev(policy: PressPolicy) -> None:
    """Central's newest word decides, in both directions: a newer ack without ``drill``
    shows the ordinary pattern again; an older one (a delayed resend) changes nothing."""
    policy.contact_closed("desk", T0)
    policy.ack(word(AckState.RECEIVED, 1, drill=True), at(1))
    assert policy.led_drill("desk")
    # A newer ack of the same state without the flag: the same state, the ordinary pattern.
    assert policy.ack(word(AckState.RECEIVED, 2), at(2)) == [SetLed("desk", LedState.RECEIVED, A1)]
    assert not policy.led_drill("desk")
    assert policy.held()[0].drill is None  # listed as real in the state sync
    # A delayed older ack saying drill is stale: nothing changes.
    assert policy.ack(word(AckState.RECEIVED, 1, drill=True), at(3)) == []
    assert not policy.led_drill("desk")
    # A newer state without the flag shows in the ordinary pattern too.
    coming = Word(A1, AckState.ACKNOWLEDGED, ("kari",), "desk", 1, at(4), 3, True, False)
    assert policy.ack(coming, at(4)) == [SetLed("desk", LedState.HELP_COMING, A1)]
    # ... and a newer one saying drill again shows the drill pattern.
    again = Word(A1, AckState.ACKNOWLEDGED, ("kari",), "desk", 1, at(5), 4, True, True)
    assert policy.ack(again, at(5)) == [SetLed("desk", LedState.HELP_COMING, A1, drill=True)]
    assert policy.led_drill("desk")


def test_restored_and_adopted_alarms_keep_the_drill(policy: PressPolicy) -> None:
    held = HeldAlarm(alarm_id=A1, input="desk", presses=1, state=HeldState.RECEIVED, drill=True)
    assert policy.restore(held) == [SetLed("desk", LedState.RECEIVED, A1, drill=True)]

    other = PressPolicy([ButtonSpec("desk", AlarmLevel.ACUTE)], id_factory=lambda: UUID(int=9))
    adopted = other.ack(word(AckState.ACKNOWLEDGED, 4, drill=True), at(4))
    assert isinstance(adopted[0], AdoptAlarm)
    assert adopted[1] == SetLed("desk", LedState.HELP_COMING, A1, drill=True)
    assert other.held()[0].drill is True


def test_the_ack_on_the_wire_carries_drill_and_an_older_central_none() -> None:
    fields = {"site": "s", "device": "d", "alarm_id": str(A1), "state": "received"}
    drill = AckMessage.model_validate({**fields, "at": T0.isoformat(), "drill": True})
    older = AckMessage.model_validate({**fields, "at": T0.isoformat()})
    assert Word.of(drill).drill is True
    assert Word.of(older).drill is False


def test_every_drill_state_has_its_own_rhythm_that_no_real_alarm_shows() -> None:
    rhythms = list(DRILL_PATTERNS.values())
    assert len({r.values for r in rhythms}) == len(rhythms)
    assert set(DRILL_PATTERNS) == {LedState.STORED, LedState.RECEIVED, LedState.HELP_COMING}
    for rhythm in rhythms:
        flashes = "".join(map(str, rhythm.values))
        assert "101" in flashes or "010" in flashes  # a double flash or a double dip
    assert all(not hasattr(p, "values") for p in PATTERNS.values())


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


async def test_the_drill_rhythm_plays_on_the_pin_and_stops_for_a_real_state(
    pins: MockFactory,
) -> None:
    config = ButtonConfig.model_validate(
        {"input": "desk", "pin": 17, "level": "acute", "led_pin": 27, "buzzer_pin": 22}
    )
    outputs = Indicators([config], pins)
    led, buzzer = pins.pin(27), pins.pin(22)
    try:
        outputs.show("desk", LedState.RECEIVED, drill=True)
        assert outputs.pattern("desk") == "drill:received"
        await poll(lambda: len(led.states) >= 8, within=5, what="the drill rhythm toggles")
        await poll(lambda: any(s.state for s in buzzer.states), what="the chirp, once")
        # Help is coming, in a real alarm: steady, the rhythm stopped.
        outputs.show("desk", LedState.HELP_COMING)
        assert outputs.pattern("desk") == "help_coming"
        assert led.state == 1
        readback = outputs.readback({"desk": LedState.HELP_COMING})
        assert readback["desk LED"] == (True, True)
        outputs.show("desk", LedState.HELP_COMING, drill=True)
        assert outputs.readback({"desk": LedState.HELP_COMING})["desk LED"][0] is None
        assert outputs.pattern("nobody") == "none"
    finally:
        outputs.close()
