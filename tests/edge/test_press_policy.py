"""Press policy: contact edges and acks in, alarms and LED states out. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from edge.core import (
    AdoptAlarm,
    ButtonSpec,
    LedState,
    NextId,
    PressPolicy,
    RaiseAlarm,
    Republish,
    SetLed,
    StuckAtStart,
    Word,
)
from edge.errors import EdgeError, UnknownInput
from protocol import AckState, AlarmLevel, HeldAlarm, HeldState

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BOUNCE = timedelta(milliseconds=30)


def held(
    alarm_id: UUID, input_name: str, presses: int, state: HeldState = HeldState.SENDING
) -> HeldAlarm:
    """An alarm as the outbox restores it (``restore`` takes the held alarm itself)."""
    return HeldAlarm(alarm_id=alarm_id, input=input_name, presses=presses, state=state)


def ms(n: float) -> datetime:
    return T0 + timedelta(milliseconds=n)


def ids() -> Iterator[UUID]:
    n = 0
    while True:
        n += 1
        yield UUID(int=n)


A1, A2, A3, A4 = UUID(int=1), UUID(int=2), UUID(int=3), UUID(int=4)


def new_policy() -> PressPolicy:
    counter = ids()
    return PressPolicy(
        [ButtonSpec("desk", AlarmLevel.ACUTE, BOUNCE), ButtonSpec("door", AlarmLevel.ASSIST)],
        id_factory=lambda: next(counter),
        resolved_display=timedelta(seconds=1),
    )


@pytest.fixture
def policy() -> PressPolicy:
    """Started with no contact held: desk's next alarm is A1, door's A2."""
    started = new_policy()
    assert started.start((), (), {}, T0) == [NextId("desk", A1), NextId("door", A2)]
    return started


def test_first_press_raises_alarm_then_shows_sending(policy: PressPolicy) -> None:
    actions = policy.contact_closed("desk", T0)
    assert actions == [
        RaiseAlarm(A1, "desk", AlarmLevel.ACUTE, T0, next_id=A3),
        SetLed("desk", LedState.SENDING, A1),
    ]
    assert policy.next_id("desk") == A3  # stored with A1's row: the next press's id
    assert policy.led_state("desk") is LedState.SENDING
    assert policy.active_alarm("desk") == A1
    assert policy.presses(A1) == 1
    assert policy.inputs == ("desk", "door")


def test_held_contact_is_one_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    # A driver that reports the same level twice must not make a second alarm.
    assert policy.contact_closed("desk", ms(500)) == []
    assert policy.contact_closed("desk", ms(5000)) == []
    assert policy.presses(A1) == 1


def test_bounce_within_window_is_ignored(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert policy.contact_opened("desk", ms(5)) == []
    assert policy.contact_closed("desk", ms(10)) == []  # 5 ms after opening: bounce
    assert policy.contact_opened("desk", ms(12)) == []
    assert policy.contact_closed("desk", ms(41)) == []  # 29 ms: still bounce
    assert policy.presses(A1) == 1


def test_repress_after_bounce_window_counts_on_same_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(200))
    assert policy.contact_closed("desk", ms(230)) == [Republish(A1, "desk", 2)]  # exactly 30 ms
    policy.contact_opened("desk", ms(400))
    assert policy.contact_closed("desk", ms(800)) == [Republish(A1, "desk", 3)]
    assert policy.presses(A1) == 3
    assert policy.active_alarm("desk") == A1


def test_opened_twice_keeps_first_open_time(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.contact_opened("desk", ms(125))  # duplicate report: ignored
    # 30 ms after the first open: not bounce.
    assert policy.contact_closed("desk", ms(130)) == [Republish(A1, "desk", 2)]


def test_clock_stepping_back_never_swallows_a_press(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    assert policy.contact_closed("desk", ms(-5000)) == [Republish(A1, "desk", 2)]


def test_open_without_close_is_harmless(policy: PressPolicy) -> None:
    assert policy.contact_opened("door", T0) == []
    actions = policy.contact_closed("door", ms(1))  # no earlier close: not bounce
    assert actions[0] == RaiseAlarm(A2, "door", AlarmLevel.ASSIST, ms(1), next_id=A3)


def test_inputs_are_independent(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    actions = policy.contact_closed("door", ms(1))
    assert actions == [
        RaiseAlarm(A2, "door", AlarmLevel.ASSIST, ms(1), next_id=A4),
        SetLed("door", LedState.SENDING, A2),
    ]
    assert policy.led_state("desk") is LedState.SENDING


def test_acks_move_led_forward(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert policy.ack(Word(A1, AckState.RECEIVED), ms(50)) == [
        SetLed("desk", LedState.RECEIVED, A1)
    ]
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",)), ms(90)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]
    assert policy.led_state("desk") is LedState.HELP_COMING


# -- the LED follows central's word, ordered by the ack's ``at`` ---------------------------

C0 = datetime(2025, 3, 1, 8, 59, 57, tzinfo=UTC)  # central's clock: not the edge's


def sent(n: float) -> datetime:
    """An ack's ``at``: central's time when it sent the state, ``n`` seconds after C0."""
    return C0 + timedelta(seconds=n)


def test_withdrawal_of_the_only_responder_moves_the_led_back_to_received(
    policy: PressPolicy,
) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.RECEIVED, at=sent(1)), ms(50))
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(2)), ms(90)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]
    # Kari pressed "Can't come": central's record is back to received, nobody named.
    assert policy.ack(Word(A1, AckState.RECEIVED, (), "desk", 1, at=sent(3)), ms(120)) == [
        SetLed("desk", LedState.RECEIVED, A1)
    ]
    assert policy.led_state("desk") is LedState.RECEIVED
    assert policy.held() == (
        HeldAlarm(alarm_id=A1, input="desk", presses=1, state=HeldState.RECEIVED),
    )
    # Somebody else says "I'm coming" later: help is coming again.
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("ola",), at=sent(4)), ms(300)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]


def test_an_ack_older_than_the_last_applied_is_stale_and_changes_nothing(
    policy: PressPolicy,
) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(2)), ms(50))
    assert policy.ack(Word(A1, AckState.RECEIVED, at=sent(1)), ms(60)) == []  # sent before
    assert policy.led_state("desk") is LedState.HELP_COMING
    assert policy.held() == (
        HeldAlarm(alarm_id=A1, input="desk", presses=1, state=HeldState.ACKNOWLEDGED),
    )


def test_a_repeat_of_the_same_word_at_a_later_time_orders_what_follows(
    policy: PressPolicy,
) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.RECEIVED, at=sent(1)), ms(50))
    assert policy.ack(Word(A1, AckState.RECEIVED, at=sent(5)), ms(60)) == []  # nothing to show
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(3)), ms(70)) == []  # stale
    assert policy.led_state("desk") is LedState.RECEIVED


def test_a_duplicate_at_the_same_time_is_a_no_op(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(2)), ms(50))
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(2)), ms(60)) == []
    assert policy.led_state("desk") is LedState.HELP_COMING


# -- ordered by the record's revision (``rev``) when central sends one --------------------


def rev(
    n: int,
    state: AckState,
    responders: tuple[object, ...] = (),
    *,
    shown: bool = True,
    at: float = 0,
) -> Word:
    """Central's word of revision ``n`` (sent at ``sent(at)``) on A1 of the desk input."""
    return Word(A1, state, responders, "desk", 1, at=sent(at), rev=n, shown=shown)


def test_stored_then_shown_then_help_coming_then_withdrawn(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    # Stored, on nobody's screen: the LED does not say a colleague has it.
    assert policy.ack(rev(1, AckState.RECEIVED, shown=False), ms(50)) == [
        SetLed("desk", LedState.STORED, A1)
    ]
    assert policy.held() == (
        HeldAlarm(alarm_id=A1, input="desk", presses=1, state=HeldState.STORED),
    )
    assert policy.ack(rev(2, AckState.RECEIVED), ms(60)) == [SetLed("desk", LedState.RECEIVED, A1)]
    assert policy.ack(rev(3, AckState.ACKNOWLEDGED, ("kari",)), ms(70)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]
    assert policy.ack(rev(4, AckState.RECEIVED), ms(80)) == [SetLed("desk", LedState.RECEIVED, A1)]
    assert policy.held() == (
        HeldAlarm(alarm_id=A1, input="desk", presses=1, state=HeldState.RECEIVED),
    )


def test_a_late_ack_of_a_lower_revision_never_undoes_a_newer_one(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(rev(1, AckState.RECEIVED, shown=False, at=1), ms(50))
    # The withdrawal (rev 4) arrives before the "I'm coming" (rev 3) it undid, and the ack that
    # first said "shown" (rev 2) last of all, stamped later by a central whose clock jumped.
    assert policy.ack(rev(4, AckState.RECEIVED, at=4), ms(60)) == [
        SetLed("desk", LedState.RECEIVED, A1)
    ]
    assert policy.ack(rev(3, AckState.ACKNOWLEDGED, ("kari",), at=3), ms(70)) == []
    assert policy.ack(rev(2, AckState.RECEIVED, shown=False, at=9), ms(80)) == []
    assert policy.led_state("desk") is LedState.RECEIVED
    # The same revision again (a resend, a state-sync answer) is the same word: nothing new.
    assert policy.ack(rev(4, AckState.RECEIVED, at=5), ms(90)) == []
    # A newer revision applies even when central's clock stepped back.
    assert policy.ack(rev(5, AckState.ACKNOWLEDGED, ("ola",), at=0), ms(100)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]


def test_without_a_revision_the_time_orders_as_before(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(rev(3, AckState.ACKNOWLEDGED, ("kari",), at=5), ms(50))
    older = Word(A1, AckState.RECEIVED, (), "desk", 1, at=sent(4))  # an older central's ack
    assert policy.ack(older, ms(60)) == []
    newer = Word(A1, AckState.RECEIVED, (), "desk", 1, at=sent(6))
    assert policy.ack(newer, ms(70)) == [SetLed("desk", LedState.RECEIVED, A1)]


def test_a_restored_or_adopted_alarm_keeps_the_revision_of_central_s_word(
    policy: PressPolicy,
) -> None:
    old = UUID(int=500)
    policy.restore(held(old, "desk", 1, HeldState.STORED), said_at=sent(5), said_rev=3)
    assert policy.led_state("desk") is LedState.STORED
    assert policy.ack(Word(old, AckState.ACKNOWLEDGED, ("kari",), at=sent(9), rev=2), ms(10)) == []
    assert policy.ack(Word(old, AckState.RECEIVED, at=sent(1), rev=4), ms(20)) == [
        SetLed("desk", LedState.RECEIVED, old)
    ]
    word = Word(S, AckState.RECEIVED, (), "door", 1, at=sent(7), rev=2, shown=False)
    assert policy.ack(word, T0) == [
        AdoptAlarm(
            S, "door", 1, HeldState.STORED, T0, AlarmLevel.ASSIST, said_at=sent(7), said_rev=2
        ),
        SetLed("door", LedState.STORED, S),
    ]
    assert policy.ack(Word(S, AckState.ACKNOWLEDGED, ("ola",), at=sent(8), rev=1), ms(30)) == []


def test_resolved_is_final_even_against_newer_acks_naming_the_input(
    policy: PressPolicy,
) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(2)), ms(50))
    assert policy.ack(Word(A1, AckState.RESOLVED, (), "desk", 1, at=sent(3)), ms(60)) == [
        SetLed("desk", LedState.RESOLVED, A1)
    ]
    # A late or out-of-order ack for A1 neither brings it back nor is taken up again.
    assert (
        policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), "desk", 1, at=sent(9)), ms(70)) == []
    )
    assert policy.ack(Word(A1, AckState.RECEIVED, (), "desk", 1, at=sent(1)), ms(80)) == []
    assert policy.active_alarm("desk") is None
    assert policy.led_state("desk") is LedState.RESOLVED
    assert policy.held() == ()


def test_resolved_applies_whatever_its_time(policy: PressPolicy) -> None:
    """Central never takes a resolution back: a clock that stepped back does not hide it."""
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.ACKNOWLEDGED, ("kari",), at=sent(10)), ms(50))
    assert policy.ack(Word(A1, AckState.RESOLVED, at=sent(-3600)), ms(60)) == [
        SetLed("desk", LedState.RESOLVED, A1)
    ]


def test_no_ack_takes_an_alarm_back_to_sending_and_untimed_acks_apply(
    policy: PressPolicy,
) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.ACKNOWLEDGED, at=sent(2)), ms(50))
    policy.contact_opened("desk", ms(100))
    assert policy.contact_closed("desk", ms(200)) == [Republish(A1, "desk", 2)]
    assert policy.led_state("desk") is LedState.HELP_COMING  # a re-press is not "sending"
    assert policy.ack(Word(A1, AckState.RECEIVED), ms(300)) == [  # no ``at``: no order known
        SetLed("desk", LedState.RECEIVED, A1)
    ]
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED, at=sent(1)), ms(310)) == []  # still stale


def test_received_with_responder_means_help_is_coming(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert policy.ack(Word(A1, AckState.RECEIVED, ("ola",)), ms(50)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]


def test_resolved_shows_then_turns_off_and_frees_the_input(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.ack(Word(A1, AckState.RECEIVED), ms(200))
    assert policy.ack(Word(A1, AckState.RESOLVED), ms(1000)) == [
        SetLed("desk", LedState.RESOLVED, A1)
    ]
    assert policy.active_alarm("desk") is None
    assert policy.presses(A1) is None
    assert policy.tick(ms(1500)) == []  # still showing "resolved"
    assert policy.led_state("desk") is LedState.RESOLVED
    assert policy.tick(ms(2000)) == [SetLed("desk", LedState.OFF)]
    assert policy.led_state("desk") is LedState.OFF
    assert policy.tick(ms(3000)) == []
    # Acks for the forgotten alarm change nothing.
    assert policy.ack(Word(A1, AckState.ACKNOWLEDGED), ms(3100)) == []


def test_press_after_resolved_is_a_new_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.ack(Word(A1, AckState.RESOLVED), ms(1000))
    actions = policy.contact_closed("desk", ms(1200))  # during the "resolved" blinks
    assert actions == [
        RaiseAlarm(A3, "desk", AlarmLevel.ACUTE, ms(1200), next_id=A4),
        SetLed("desk", LedState.SENDING, A3),
    ]
    assert policy.tick(ms(5000)) == []  # the new alarm's LED is not switched off


def test_resolved_turns_off_when_clock_steps_back(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.RESOLVED), ms(1000))
    assert policy.tick(ms(-60_000)) == [SetLed("desk", LedState.OFF)]


def test_ack_for_unknown_alarm_is_a_no_op(policy: PressPolicy) -> None:
    assert policy.ack(Word(UUID(int=99), AckState.RECEIVED, ()), T0) == []
    assert policy.presses(UUID(int=99)) is None


def test_unknown_input_is_an_edge_error(policy: PressPolicy) -> None:
    with pytest.raises(UnknownInput) as raised:
        policy.contact_closed("window", T0)
    assert isinstance(raised.value, EdgeError)
    assert raised.value.input_name == "window"
    assert str(raised.value) == "input 'window' is not configured"
    with pytest.raises(UnknownInput):
        policy.led_state("window")


def test_restore_tracks_an_unacked_alarm_as_sending(policy: PressPolicy) -> None:
    old = UUID(int=500)
    assert policy.restore(held(old, "desk", 2)) == [SetLed("desk", LedState.SENDING, old)]
    assert policy.active_alarm("desk") == old
    # A press now counts on the restored alarm.
    assert policy.contact_closed("desk", T0) == [Republish(old, "desk", 3)]
    assert policy.ack(Word(old, AckState.RECEIVED), ms(10)) == [
        SetLed("desk", LedState.RECEIVED, old)
    ]


def test_restore_refuses_unknown_input_second_alarm_and_duplicates(policy: PressPolicy) -> None:
    assert policy.restore(held(UUID(int=500), "gone", 1)) == []
    assert policy.restore(held(UUID(int=501), "desk", 1)) != []
    assert policy.restore(held(UUID(int=502), "desk", 1)) == []  # desk already shows an alarm
    assert policy.restore(held(UUID(int=501), "door", 1)) == []  # same id on another input
    assert policy.active_alarm("door") is None


# -- held alarms (health), restore with what central said -------------------------------


def test_held_lists_active_alarms_with_what_each_shows(policy: PressPolicy) -> None:
    assert policy.held() == ()
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.contact_closed("desk", ms(200))
    policy.contact_closed("door", ms(300))
    policy.ack(Word(A2, AckState.RECEIVED, ("kari",)), ms(400))
    assert policy.held() == (
        HeldAlarm(alarm_id=A1, input="desk", presses=2, state=HeldState.SENDING),
        HeldAlarm(alarm_id=A2, input="door", presses=1, state=HeldState.ACKNOWLEDGED),
    )
    policy.ack(Word(A1, AckState.RECEIVED), ms(500))
    policy.ack(Word(A2, AckState.RESOLVED), ms(600))
    assert policy.held() == (
        HeldAlarm(alarm_id=A1, input="desk", presses=2, state=HeldState.RECEIVED),
    )


def test_restore_an_acked_alarm_shows_what_central_said_and_counts_presses(
    policy: PressPolicy,
) -> None:
    old = UUID(int=500)
    assert policy.restore(held(old, "desk", 2, HeldState.ACKNOWLEDGED)) == [
        SetLed("desk", LedState.HELP_COMING, old)
    ]
    assert policy.restore(held(UUID(int=501), "door", 1, HeldState.RECEIVED)) == [
        SetLed("door", LedState.RECEIVED, UUID(int=501))
    ]
    assert policy.contact_closed("desk", T0) == [Republish(old, "desk", 3)]
    assert policy.ack(Word(old, AckState.RESOLVED), ms(20)) == [
        SetLed("desk", LedState.RESOLVED, old)
    ]


def test_a_restored_alarm_keeps_the_order_of_central_s_word(policy: PressPolicy) -> None:
    old = UUID(int=500)
    policy.restore(held(old, "desk", 1, HeldState.ACKNOWLEDGED), said_at=sent(5))
    assert policy.ack(Word(old, AckState.RECEIVED, at=sent(4)), ms(10)) == []  # from before
    assert policy.led_state("desk") is LedState.HELP_COMING
    assert policy.ack(Word(old, AckState.RECEIVED, at=sent(6)), ms(20)) == [
        SetLed("desk", LedState.RECEIVED, old)  # withdrawn while the edge was down
    ]


# -- taking up an alarm central names (adoption) -----------------------------------------

S = UUID(int=900)


def test_an_unknown_active_alarm_naming_a_free_input_is_taken_up(policy: PressPolicy) -> None:
    assert policy.ack(Word(S, AckState.RECEIVED, (), "desk", 2), T0) == [
        AdoptAlarm(S, "desk", 2, HeldState.RECEIVED, T0, AlarmLevel.ACUTE),
        SetLed("desk", LedState.RECEIVED, S),
    ]
    assert policy.active_alarm("desk") == S
    # A press counts on it, and later acks move its LED like any alarm's.
    assert policy.contact_closed("desk", ms(10)) == [Republish(S, "desk", 3)]
    assert policy.ack(Word(S, AckState.ACKNOWLEDGED, (), "desk", 3), ms(20)) == [
        SetLed("desk", LedState.HELP_COMING, S)
    ]
    assert policy.held() == (
        HeldAlarm(alarm_id=S, input="desk", presses=3, state=HeldState.ACKNOWLEDGED),
    )


def test_an_adopted_alarm_carries_central_s_time_and_orders_later_acks(
    policy: PressPolicy,
) -> None:
    assert policy.ack(Word(S, AckState.ACKNOWLEDGED, ("ola",), "desk", 1, at=sent(7)), T0) == [
        AdoptAlarm(S, "desk", 1, HeldState.ACKNOWLEDGED, T0, AlarmLevel.ACUTE, said_at=sent(7)),
        SetLed("desk", LedState.HELP_COMING, S),
    ]
    assert policy.ack(Word(S, AckState.RECEIVED, (), "desk", 1, at=sent(6)), ms(10)) == []


def test_adopted_with_a_responder_shows_help_coming_and_counts_one_without_presses(
    policy: PressPolicy,
) -> None:
    assert policy.ack(Word(S, AckState.RECEIVED, ("ola",), "door"), T0) == [
        AdoptAlarm(S, "door", 1, HeldState.ACKNOWLEDGED, T0, AlarmLevel.ASSIST),
        SetLed("door", LedState.HELP_COMING, S),
    ]


def test_acks_that_are_not_taken_up(policy: PressPolicy) -> None:
    assert policy.ack(Word(S, AckState.RECEIVED), T0) == []  # no input named
    assert policy.ack(Word(S, AckState.RECEIVED, (), "window"), T0) == []  # not an input here
    assert policy.ack(Word(S, AckState.RESOLVED, (), "desk"), T0) == []  # over: nothing to show
    policy.contact_closed("desk", T0)  # desk holds its own newer, unacked alarm A1
    assert policy.ack(Word(S, AckState.ACKNOWLEDGED, (), "desk"), ms(10)) == []
    assert policy.active_alarm("desk") == A1
    assert policy.led_state("desk") is LedState.SENDING
    assert policy.active_alarm("door") is None


def test_resolved_then_central_names_the_new_alarm_of_the_same_press(
    policy: PressPolicy,
) -> None:
    """The press after a lost "resolved": the device re-pressed A1, central made it S."""
    policy.contact_closed("desk", T0)
    policy.ack(Word(A1, AckState.ACKNOWLEDGED), ms(10))
    policy.contact_opened("desk", ms(100))
    assert policy.contact_closed("desk", ms(200)) == [Republish(A1, "desk", 2)]
    assert policy.ack(Word(A1, AckState.RESOLVED, (), "desk", 1), ms(300)) == [
        SetLed("desk", LedState.RESOLVED, A1)
    ]
    assert policy.ack(Word(S, AckState.RECEIVED, (), "desk", 1), ms(310)) == [
        AdoptAlarm(S, "desk", 1, HeldState.RECEIVED, ms(310), AlarmLevel.ACUTE),
        SetLed("desk", LedState.RECEIVED, S),
    ]
    assert policy.tick(ms(5000)) == []  # the adopted alarm's LED stays on


# -- start: held contacts, pre-allocated ids, stuck -------------------------------------

N = UUID(int=700)


def test_a_contact_held_at_start_is_raised_with_the_preallocated_id() -> None:
    policy = new_policy()
    assert policy.start({"desk"}, set(), {"desk": N, "door": UUID(int=701)}, T0) == [
        RaiseAlarm(N, "desk", AlarmLevel.ACUTE, T0, next_id=A1, held_at_start=True),
        SetLed("desk", LedState.SENDING, N),
        NextId("door", A2),  # not held: a fresh id, never one that may have gone out
    ]
    # Held is one press: releasing and pressing again counts on it.
    assert policy.contact_closed("desk", ms(10)) == []
    policy.contact_opened("desk", ms(100))
    assert policy.contact_closed("desk", ms(200)) == [Republish(N, "desk", 2)]


def test_a_held_contact_without_a_stored_id_still_raises() -> None:
    policy = new_policy()
    assert policy.start({"door"}, set(), {}, T0) == [
        NextId("desk", A1),
        RaiseAlarm(A2, "door", AlarmLevel.ASSIST, T0, next_id=A3, held_at_start=True),
        SetLed("door", LedState.SENDING, A2),
    ]


def test_a_held_contact_with_a_restored_alarm_is_that_alarm() -> None:
    policy = new_policy()
    old = UUID(int=500)
    policy.restore(held(old, "desk", 1, HeldState.RECEIVED))
    assert policy.start({"desk"}, set(), {"desk": N}, T0) == [
        NextId("desk", A1),
        NextId("door", A2),
    ]
    assert policy.active_alarm("desk") == old
    assert policy.presses(old) == 1
    policy.contact_opened("desk", ms(100))
    assert policy.contact_closed("desk", ms(200)) == [Republish(old, "desk", 2)]


def test_a_contact_held_at_two_starts_is_stuck_not_an_alarm() -> None:
    policy = new_policy()
    assert policy.start({"desk"}, {"desk", "door"}, {"desk": N}, T0) == [
        StuckAtStart("desk"),
        NextId("desk", A1),
        NextId("door", A2),  # closed at the last start, open now: nothing
    ]
    assert policy.active_alarm("desk") is None
    assert policy.contact_closed("desk", ms(10)) == []  # still the same held contact
    policy.contact_opened("desk", ms(100))
    # Once it has opened, a press is a press (with the fresh id).
    assert policy.contact_closed("desk", ms(200))[0] == RaiseAlarm(
        A1, "desk", AlarmLevel.ACUTE, ms(200), next_id=A3
    )


def test_without_preallocation_no_next_ids() -> None:
    counter = ids()
    policy = PressPolicy(
        [ButtonSpec("p1", AlarmLevel.ACUTE)], lambda: next(counter), preallocate=False
    )
    assert policy.start((), (), {}, T0) == []
    assert policy.contact_closed("p1", T0)[0] == RaiseAlarm(A1, "p1", AlarmLevel.ACUTE, T0)
