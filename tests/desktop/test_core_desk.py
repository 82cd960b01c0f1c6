"""desktop.core's window-client rules, with injected time: the silent alarm's countdown, the
connection state, when an alarm rings, hotkey sequences, and the raiser's own alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.core import (
    AlarmEvent,
    DeskCore,
    Elapsed,
    EventKind,
    Location,
    Modifier,
    Presence,
    PresenceTracker,
    Reaction,
    SilentAlarm,
    TriggerSource,
    elapsed,
    parse_hotkey,
    should_ring,
)
from protocol.messages import AlarmLevel, Responder
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    Command,
    CommandKind,
    Hello,
    RaiseRequest,
    Snapshot,
)
from tests.desktop.fake_central import make_alarm

T0 = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
HERE = Location(site="oslo-sentrum", room="Kontor 3.12", floor="3. etasje")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def person(user: str) -> Responder:
    return Responder(user=user, name=user.title(), at=T0)


# -- the silent alarm ---------------------------------------------------------------------
def test_the_countdown_raises_once_when_it_runs_out() -> None:
    silent = SilentAlarm(HERE, level=AlarmLevel.ACUTE, countdown_s=3)
    assert silent.trigger(TriggerSource.HOTKEY, at(0))
    alarm_id = uuid4()
    assert silent.tick(at(2.9), alarm_id) is None
    assert silent.remaining_s(at(2.0)) == pytest.approx(1.0)
    request = silent.tick(at(3.0), alarm_id)
    assert request == RaiseRequest(
        alarm_id=alarm_id,
        level=AlarmLevel.ACUTE,
        site="oslo-sentrum",
        room="Kontor 3.12",
        floor="3. etasje",
        input="hotkey",
        raised_at=at(3.0),
    )
    assert silent.tick(at(4.0), uuid4()) is None  # once
    assert not silent.counting
    assert silent.remaining_s(at(4)) is None


def test_cancel_inside_the_countdown_raises_nothing() -> None:
    silent = SilentAlarm(HERE, countdown_s=3)
    silent.trigger(TriggerSource.TRAY, at(0))
    assert silent.cancel()
    assert silent.tick(at(10), uuid4()) is None
    assert not silent.cancel()  # nothing left to cancel


def test_triggering_again_keeps_the_first_countdown() -> None:
    silent = SilentAlarm(HERE, level=AlarmLevel.ASSIST, countdown_s=3)
    silent.trigger(TriggerSource.TRAY, at(0))
    assert not silent.trigger(TriggerSource.HOTKEY, at(2))  # hammering the key: no restart
    request = silent.tick(at(3), uuid4())
    assert request is not None
    assert request.input == "tray"
    assert request.level is AlarmLevel.ASSIST
    assert silent.trigger(TriggerSource.HOTKEY, at(5))  # a new one after the raise


@given(st.floats(min_value=1, max_value=10), st.floats(min_value=0, max_value=20))
def test_nothing_is_raised_before_the_countdown_ends(countdown: float, later: float) -> None:
    silent = SilentAlarm(HERE, countdown_s=countdown)
    silent.trigger(TriggerSource.HOTKEY, at(0))
    raised = silent.tick(at(later), uuid4())
    assert (raised is not None) == (later >= countdown)


# -- connection state ---------------------------------------------------------------------
def state_of(tracker: PresenceTracker) -> Presence:
    return tracker.state  # read afresh: the type checker would keep an earlier narrowing


def test_a_blip_is_reconnecting_and_a_second_failure_is_not_receiving() -> None:
    tracker = PresenceTracker(started_at=at(0), grace_s=3)
    assert tracker.connected(at(1))
    assert tracker.state is Presence.CONNECTED
    assert tracker.lost("connection lost", at(2))
    assert state_of(tracker) is Presence.RECONNECTING
    assert tracker.lost("cannot reach central", at(2.5))
    assert (tracker.state, tracker.reason) == (Presence.NOT_RECEIVING, "cannot reach central")
    assert tracker.connected(at(9))
    assert tracker.reason is None


def test_reconnecting_too_long_is_not_receiving() -> None:
    tracker = PresenceTracker(started_at=at(0), grace_s=3)
    tracker.connected(at(0))
    tracker.lost("connection lost", at(10))
    assert not tracker.tick(at(12.9))
    assert tracker.tick(at(13))
    assert tracker.state is Presence.NOT_RECEIVING
    assert tracker.reason == "connection lost"
    assert not tracker.tick(at(20))  # no change, no news


def test_never_connecting_is_not_receiving_and_a_refusal_is_at_once() -> None:
    slow = PresenceTracker(started_at=at(0), grace_s=3)
    assert slow.state is Presence.CONNECTING
    assert slow.tick(at(3))
    assert state_of(slow) is Presence.NOT_RECEIVING
    refused = PresenceTracker(started_at=at(0))
    refused.connected(at(0))
    refused.refused("token refused", at(1))
    assert (refused.state, refused.reason) == (Presence.NOT_RECEIVING, "token refused")


# -- ringing and time ---------------------------------------------------------------------
def test_ringing_stops_on_an_answer_enough_colleagues_or_resolve() -> None:
    alarm = make_alarm()
    assert should_ring(alarm, user="kari", answered=False, enough=2)
    assert not should_ring(alarm, user="kari", answered=True, enough=2)
    one = alarm.model_copy(update={"responders": (person("ola"),)})
    assert should_ring(one, user="kari", answered=False, enough=2)
    assert not should_ring(one, user="kari", answered=False, enough=1)
    mine = alarm.model_copy(update={"declined": (person("kari"),)})
    assert not should_ring(mine, user="kari", answered=False, enough=2)  # from another screen
    done = alarm.model_copy(update={"state": AlarmState.RESOLVED})
    assert not should_ring(done, user="kari", answered=False, enough=2)


def test_elapsed_splits_and_never_goes_negative() -> None:
    assert elapsed(T0, at(3725)) == Elapsed(1, 2, 5)
    assert elapsed(T0, at(59.9)) == Elapsed(0, 0, 59)
    assert elapsed(T0, at(-30)) == Elapsed(0, 0, 0)  # the desk's clock behind central's


# -- hotkeys ------------------------------------------------------------------------------
def test_hotkeys_are_parsed_and_normalised() -> None:
    hotkey = parse_hotkey(" ctrl + SHIFT + f12 ")
    assert hotkey.modifiers == {Modifier.CTRL, Modifier.SHIFT}
    assert hotkey.key == "F12"
    assert str(hotkey) == "Ctrl+Shift+F12"
    assert str(parse_hotkey("Ctrl+Alt+F13")) == "Ctrl+Alt+F13"  # above the terminal keys
    assert str(parse_hotkey("Super+Shift+pageup")) == "Shift+Meta+PageUp"
    assert str(parse_hotkey("F9")) == "F9"  # a bare function key does not fire while typing


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a key sequence"),
        ("Ctrl++", "not a key sequence"),
        ("Hyper+A", "not a modifier"),
        ("Ctrl+Alt+F25", "not a key this client can grab"),
        ("a", "would fire while typing"),
        ("Shift+A", "ordinary typing"),
        ("Ctrl+Alt+F12", "switches the screen to another terminal"),
        ("ctrl+alt+f1", "switches the screen to another terminal"),
    ],
)
def test_bad_hotkeys_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_hotkey(text)


# -- the raiser's own alarms --------------------------------------------------------------
def raise_request(**changes: object) -> RaiseRequest:
    fields: dict[str, object] = {
        "alarm_id": uuid4(),
        "level": AlarmLevel.ACUTE,
        "site": "oslo-sentrum",
        "room": "Kontor 3.12",
        "raised_at": T0,
    }
    fields.update(changes)
    return RaiseRequest.model_validate(fields)


def synced() -> DeskCore:
    core = DeskCore()
    core.connection_opened()
    core.receive(Hello(user="kari", name="Kari", sites=("oslo-sentrum",)))
    core.receive(Snapshot(alarms=()))
    return core


def test_a_raise_is_sent_at_once_when_synced_and_its_alarm_is_marked_own() -> None:
    core = synced()
    request = raise_request()
    assert core.raise_alarm(request) == (request,)
    own = make_alarm(alarm_id=request.alarm_id, raised_by="kari")
    reaction = core.receive(AlarmNew(alarm=own))
    [event] = reaction.events
    assert event.own
    assert event.alarm == own
    assert reaction.commands == ()  # no "delivered" receipt for one's own alarm
    assert core.unconfirmed_raises == {}
    assert reaction.help_coming == ()


def test_an_unconfirmed_raise_is_resent_after_each_snapshot_until_stored() -> None:
    core = DeskCore()
    request = raise_request()
    assert core.raise_alarm(request) == ()  # not connected: wait for the snapshot
    core.connection_opened()
    core.receive(Hello(user="kari", name="Kari", sites=("oslo-sentrum",)))
    assert core.receive(Snapshot(alarms=())).commands == (request,)
    pending = make_alarm(alarm_id=request.alarm_id, state=AlarmState.RAISED)
    core.receive(AlarmNew(alarm=pending))  # seen, but not stored yet: keep it
    core.connection_closed()
    core.connection_opened()
    assert core.receive(Snapshot(alarms=())).commands == (request,)
    stored = pending.model_copy(update={"state": AlarmState.RECEIVED})
    reaction = core.receive(Snapshot(alarms=(stored,)))
    assert reaction.commands == ()
    assert core.unconfirmed_raises == {}
    assert reaction.events[0].own


def test_help_coming_is_told_when_more_colleagues_come() -> None:
    core = synced()
    request = raise_request()
    core.raise_alarm(request)
    alarm = make_alarm(alarm_id=request.alarm_id)
    core.receive(AlarmNew(alarm=alarm))
    one = alarm.model_copy(update={"responders": (person("ola"),)})
    assert core.receive(AlarmUpdate(alarm=one)).help_coming == ((alarm.alarm_id, 1),)
    assert core.receive(AlarmUpdate(alarm=one)).help_coming == ()  # nothing new
    two = one.model_copy(update={"responders": (person("ola"), person("per"))})
    assert core.receive(AlarmUpdate(alarm=two)).help_coming == ((alarm.alarm_id, 2),)


def test_the_raiser_is_told_when_nobody_is_coming_any_more() -> None:
    core = synced()
    request = raise_request()
    core.raise_alarm(request)
    alarm = make_alarm(alarm_id=request.alarm_id)
    core.receive(AlarmNew(alarm=alarm))
    ola, per = person("ola"), person("per")
    two = alarm.model_copy(update={"state": AlarmState.ACKNOWLEDGED, "responders": (ola, per)})
    assert core.receive(AlarmUpdate(alarm=two)) == Reaction(
        events=(AlarmEvent(EventKind.UPDATE, two, own=True),), help_coming=((alarm.alarm_id, 2),)
    )
    # One of two withdraws: help is still coming, nothing to tell.
    one = two.model_copy(update={"responders": (per,), "declined": (ola,)})
    assert core.receive(AlarmUpdate(alarm=one)) == Reaction(
        events=(AlarmEvent(EventKind.UPDATE, one, own=True),)
    )
    # The last one withdraws: nobody is coming any more.
    none = one.model_copy(
        update={"state": AlarmState.RECEIVED, "responders": (), "declined": (ola, per)}
    )
    assert core.receive(AlarmUpdate(alarm=none)) == Reaction(
        events=(AlarmEvent(EventKind.UPDATE, none, own=True),), help_withdrawn=(alarm.alarm_id,)
    )
    assert core.receive(AlarmUpdate(alarm=none)).help_withdrawn == ()  # told once
    # Somebody comes after all: help is coming again (one colleague, told anew).
    again = none.model_copy(update={"state": AlarmState.ACKNOWLEDGED, "responders": (ola,)})
    assert core.receive(AlarmUpdate(alarm=again)) == Reaction(
        events=(AlarmEvent(EventKind.UPDATE, again, own=True),),
        help_coming=((alarm.alarm_id, 1),),
    )
    # Resolved is not "nobody is coming": the alarm is over.
    done = again.model_copy(update={"state": AlarmState.RESOLVED, "responders": ()})
    assert core.receive(AlarmUpdate(alarm=done)).help_withdrawn == ()


def test_a_snapshot_after_a_reconnect_tells_a_withdrawal_missed_meanwhile() -> None:
    core = synced()
    request = raise_request()
    core.raise_alarm(request)
    coming = make_alarm(alarm_id=request.alarm_id, responders=(person("ola"),))
    assert core.receive(AlarmNew(alarm=coming)).help_coming == ((request.alarm_id, 1),)
    core.connection_closed()
    core.connection_opened()
    withdrawn = coming.model_copy(update={"responders": (), "declined": (person("ola"),)})
    reaction = core.receive(Snapshot(alarms=(withdrawn,)))
    assert (reaction.help_withdrawn, reaction.help_coming) == ((request.alarm_id,), ())


def test_a_colleague_s_alarm_says_nothing_of_help_to_this_desk() -> None:
    core = synced()
    other = make_alarm(responders=(person("ola"),))
    core.receive(AlarmNew(alarm=other))
    withdrawn = other.model_copy(update={"responders": ()})
    reaction = core.receive(AlarmUpdate(alarm=withdrawn))
    assert (reaction.help_withdrawn, reaction.help_coming) == ((), ())


def test_other_alarms_are_not_own_and_are_delivered() -> None:
    core = synced()
    core.raise_alarm(raise_request())
    other = make_alarm()
    reaction = core.receive(AlarmNew(alarm=other))
    assert not reaction.events[0].own
    assert reaction.commands == (Command(type=CommandKind.DELIVERED, alarm_id=other.alarm_id),)
