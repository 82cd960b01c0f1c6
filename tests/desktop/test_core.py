"""desktop.core: which frames produce which events and commands, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from desktop.core import AlarmEvent, Backoff, DeskCore, EventKind
from protocol.messages import Responder
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    AlarmView,
    Command,
    CommandKind,
    ErrorFrame,
    Hello,
    Snapshot,
    encode_frame,
)
from tests.desktop.fake_central import make_alarm

AT = datetime(2024, 5, 2, 9, 31, tzinfo=UTC)
KARI = Responder(user="kari", name="Kari", at=AT)
OLA = Responder(user="ola", name="Ola", at=AT)


def connected(ack_all: bool = False, user: str = "kari") -> DeskCore:
    core = DeskCore(ack_all=ack_all)
    core.connection_opened()
    core.receive(Hello(user=user, name=user.title(), sites=("oslo-sentrum",)))
    return core


def sent(kind: CommandKind, alarm: AlarmView) -> Command:
    return Command(type=kind, alarm_id=alarm.alarm_id)


def test_hello_names_the_user_and_produces_no_events() -> None:
    core = DeskCore()
    hello = Hello(user="kari", name="Kari", sites=("oslo-sentrum",))
    reaction = core.receive(hello)
    assert reaction.hello == hello
    assert reaction.events == ()
    assert reaction.commands == ()
    assert core.user == "kari"


def test_snapshot_shows_each_alarm_as_active_and_delivers_the_unresolved() -> None:
    core = connected()
    a, b = make_alarm(), make_alarm(state=AlarmState.ACKNOWLEDGED, responders=(OLA,))
    done = make_alarm(state=AlarmState.RESOLVED)
    reaction = core.receive(Snapshot(alarms=(a, b, done)))
    assert reaction.events == (
        AlarmEvent(EventKind.ACTIVE, a),
        AlarmEvent(EventKind.ACTIVE, b),
        AlarmEvent(EventKind.ACTIVE, done),
    )
    assert reaction.commands == (sent(CommandKind.DELIVERED, a), sent(CommandKind.DELIVERED, b))
    assert set(core.active) == {a.alarm_id, b.alarm_id}
    assert reaction.gone == ()


def test_a_new_snapshot_replaces_the_active_alarms_and_names_those_gone() -> None:
    core = connected()
    a, b, c = make_alarm(), make_alarm(), make_alarm()
    core.receive(Snapshot(alarms=(a, b)))
    core.connection_opened()
    reaction = core.receive(Snapshot(alarms=(b, c)))
    assert reaction.gone == (a.alarm_id,)
    assert set(core.active) == {b.alarm_id, c.alarm_id}
    # A new connection may be to a restarted central: it is told "delivered" again.
    assert reaction.commands == (sent(CommandKind.DELIVERED, b), sent(CommandKind.DELIVERED, c))


def test_new_alarm_pops_up_once_and_is_delivered_once() -> None:
    core = connected()
    a = make_alarm()
    first = core.receive(AlarmNew(alarm=a))
    assert first.events == (AlarmEvent(EventKind.ALARM, a),)
    assert first.commands == (sent(CommandKind.DELIVERED, a),)
    again = core.receive(AlarmNew(alarm=a))  # a repeat is news to nobody
    assert again.events == (AlarmEvent(EventKind.UPDATE, a),)
    assert again.commands == ()


def test_update_of_a_known_alarm_is_an_update_and_replaces_it() -> None:
    core = connected()
    a = make_alarm()
    core.receive(AlarmNew(alarm=a))
    pressed = a.model_copy(update={"presses": 4})
    reaction = core.receive(AlarmUpdate(alarm=pressed))
    assert reaction.events == (AlarmEvent(EventKind.UPDATE, pressed),)
    assert reaction.commands == ()
    assert core.active[a.alarm_id].presses == 4


def test_update_of_an_unknown_active_alarm_pops_it_up_and_delivers_it() -> None:
    # A missed AlarmNew must not hide an alarm from the user.
    core = connected()
    a = make_alarm(state=AlarmState.ACKNOWLEDGED, responders=(OLA,))
    reaction = core.receive(AlarmUpdate(alarm=a))
    assert reaction.events == (AlarmEvent(EventKind.ALARM, a),)
    assert reaction.commands == (sent(CommandKind.DELIVERED, a),)


def test_resolved_update_removes_the_alarm_and_needs_no_answer() -> None:
    core = connected(ack_all=True)
    a = make_alarm()
    core.receive(Snapshot(alarms=(a,)))
    done = a.model_copy(update={"state": AlarmState.RESOLVED, "resolved_by": "ola"})
    reaction = core.receive(AlarmUpdate(alarm=done))
    assert reaction.events == (AlarmEvent(EventKind.UPDATE, done),)
    assert reaction.commands == ()
    assert a.alarm_id not in core.active


def test_resolved_update_of_an_unknown_alarm_is_an_update_only() -> None:
    core = connected(ack_all=True)
    done = make_alarm(state=AlarmState.RESOLVED)
    reaction = core.receive(AlarmUpdate(alarm=done))
    assert reaction.events == (AlarmEvent(EventKind.UPDATE, done),)
    assert reaction.commands == ()
    assert core.active == {}


def test_error_frame_is_counted_and_reported() -> None:
    core = connected()
    reaction = core.receive(ErrorFrame(reason="unknown_alarm"))
    assert reaction.problem is not None
    assert "unknown_alarm" in reaction.problem
    assert reaction.events == ()
    assert core.counters == {"server_error.unknown_alarm": 1}


def test_bad_frames_are_counted_by_reason_never_raised() -> None:
    core = connected()
    for text in ("not json", '{"type": "weather"}', '{"type": "alarm", "alarm": {}}'):
        reaction = core.receive_text(text)
        assert reaction.problem is not None
        assert "invalid_message" in reaction.problem
        assert reaction.events == ()
        assert reaction.commands == ()
    assert core.counters == {"bad_frame.invalid_message": 3}


def test_receive_text_decodes_good_frames() -> None:
    core = connected()
    a = make_alarm()
    reaction = core.receive_text(encode_frame(AlarmNew(alarm=a)))
    assert reaction.events == (AlarmEvent(EventKind.ALARM, a),)


def test_without_ack_all_nothing_says_coming() -> None:
    core = connected(ack_all=False)
    reaction = core.receive(Snapshot(alarms=(make_alarm(),)))
    assert [c.type for c in reaction.commands] == [CommandKind.DELIVERED]


def test_ack_all_says_coming_once_per_alarm_on_a_connection() -> None:
    core = connected(ack_all=True)
    a = make_alarm()
    first = core.receive(AlarmNew(alarm=a))
    assert first.commands == (sent(CommandKind.DELIVERED, a), sent(CommandKind.COMING, a))
    # Updates before central has listed kari as coming must not repeat it.
    later = core.receive(AlarmUpdate(alarm=a.model_copy(update={"presses": 2})))
    assert later.commands == ()


def test_ack_all_leaves_alarms_this_user_has_answered() -> None:
    core = connected(ack_all=True)
    coming = make_alarm(state=AlarmState.ACKNOWLEDGED, responders=(KARI,))
    declined = make_alarm(declined=(KARI,))
    others_coming = make_alarm(state=AlarmState.ACKNOWLEDGED, responders=(OLA,))
    reaction = core.receive(Snapshot(alarms=(coming, declined, others_coming)))
    coming_for = [c.alarm_id for c in reaction.commands if c.type is CommandKind.COMING]
    assert coming_for == [others_coming.alarm_id]


def test_ack_all_leaves_alarms_the_user_answered_by_hand() -> None:
    core = connected(ack_all=True)
    a, b = make_alarm(), make_alarm()
    assert core.user_command(CommandKind.CANT_COME, a.alarm_id) == sent(CommandKind.CANT_COME, a)
    assert core.user_command(CommandKind.COMING, b.alarm_id) == sent(CommandKind.COMING, b)
    reaction = core.receive(Snapshot(alarms=(a, b)))
    assert [c.type for c in reaction.commands] == [CommandKind.DELIVERED] * 2


def test_resolve_by_hand_does_not_count_as_an_answer() -> None:
    core = connected(ack_all=True)
    a = make_alarm()
    assert core.user_command(CommandKind.RESOLVE, a.alarm_id) == sent(CommandKind.RESOLVE, a)
    reaction = core.receive(AlarmNew(alarm=a))
    assert sent(CommandKind.COMING, a) in reaction.commands


def test_ack_all_repeats_coming_on_a_new_connection_only_if_central_lost_it() -> None:
    core = connected(ack_all=True)
    lost, kept = make_alarm(), make_alarm()
    core.receive(Snapshot(alarms=(lost, kept)))
    core.connection_opened()  # central restarted; it has kari on `kept` only
    kept_now = kept.model_copy(update={"state": AlarmState.ACKNOWLEDGED, "responders": (KARI,)})
    reaction = core.receive(Snapshot(alarms=(lost, kept_now)))
    assert [c for c in reaction.commands if c.type is CommandKind.COMING] == [
        sent(CommandKind.COMING, lost)
    ]


def test_ack_all_before_hello_still_answers() -> None:
    core = DeskCore(ack_all=True)  # no greeting yet: the user is unknown, nobody has answered
    a = make_alarm(responders=(OLA,))
    reaction = core.receive(AlarmNew(alarm=a))
    assert sent(CommandKind.COMING, a) in reaction.commands


def test_backoff_doubles_from_half_a_second_to_two() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay(0.5) for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_backoff_jitter_spreads_by_a_quarter_but_never_past_the_cap() -> None:
    assert Backoff().next_delay(0.0) == 0.375
    assert Backoff().next_delay(0.999) < 0.625
    capped = Backoff()
    for _ in range(10):
        capped.next_delay(0.5)
    assert capped.next_delay(0.999) == 2.0
    assert capped.next_delay(0.0) == 1.5


def test_backoff_reset_starts_again_from_the_shortest_delay() -> None:
    backoff = Backoff()
    for _ in range(5):
        backoff.next_delay(0.5)
    backoff.reset()
    assert backoff.next_delay(0.5) == 0.5


def test_refused_token_waits_long() -> None:
    backoff = Backoff()
    assert 27.0 <= backoff.refused_delay(0.0) < backoff.refused_delay(0.999) <= 33.0


@given(st.lists(st.floats(min_value=0, max_value=0.999999), min_size=1, max_size=2000))
def test_backoff_delays_stay_within_bounds_however_long_it_retries(jitters: list[float]) -> None:
    backoff = Backoff()
    for jitter in jitters:
        assert 0.375 <= backoff.next_delay(jitter) <= 2.0
