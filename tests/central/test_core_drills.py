"""Drills as pure logic (central.core.drills, central.core.routines_read), with an injected
clock: the plan's overdue warnings, rooms in drill mode, a drill's four times, who took part,
who is untrained, the routines' version; and the alarm book's part (a drill's ack, a successor,
the state sync)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from central.core import AckEdge, AlarmBook, Broadcast, EventKind, Persist, Refusal
from central.core.alarms import DESK_DEVICE, DRILL_MODE_ENDED, successor_id
from central.core.drills import (
    CONSOLE_INPUT,
    MAX_MODE,
    DrillMode,
    DrillModes,
    Held,
    Overdue,
    Participation,
    Scenario,
    SitePlan,
    Step,
    drill_times,
    overdue,
    standing,
    start_warnings,
    took_part,
    untrained,
)
from central.core.floodcards import FloodCards, flood_source
from central.core.routines_read import read_status, routines_version
from protocol import AckState, AlarmLevel
from protocol.messages import HeldAlarm, HeldState
from protocol.screen import AlarmNew, AlarmState, AlarmView, CommandKind
from tests.central.test_core_alarms import (
    KARI,
    OLA,
    SITE,
    alarm,
    at,
    command,
    commit_all,
    only,
    stored_alarm,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
THREAT = Scenario(
    "trussel", AlarmLevel.ASSIST, ("Møterom 101",), 365 * DAY, {"nb": "t", "en": "t"}, {}
)
VIOLENCE = Scenario(
    "vold", AlarmLevel.ACUTE, ("Møterom 101", "Mottak"), 180 * DAY, {"nb": "v", "en": "v"}, {}
)
PLAN = SitePlan(SITE, per_year=4, grace=14 * DAY, scenarios=(THREAT, VIOLENCE))


def days(n: float) -> datetime:
    return T0 + n * DAY


# --- the plan ---------------------------------------------------------------------------------


def test_never_drilled_is_overdue_from_when_central_first_knew_the_plan() -> None:
    seen = {(SITE, ""): days(0), (SITE, "trussel"): days(0), (SITE, "vold"): days(10)}
    found = overdue([PLAN], [], days(5), seen)
    assert found == [
        Overdue(SITE, "", None, days(0)),
        Overdue(SITE, "trussel", None, days(0)),
    ]  # "vold" was added later: overdue only from its own first sight
    assert Overdue(SITE, "vold", None, days(10)) in overdue([PLAN], [], days(10), seen)
    # Never seen at all (a plan read for the first time now): overdue from now.
    assert overdue([PLAN], [], days(1), {})[0] == Overdue(SITE, "", None, days(1))


def test_a_site_is_overdue_one_interval_plus_grace_after_its_last_drill() -> None:
    held = [Held(SITE, "trussel", days(0)), Held(SITE, "vold", days(1))]
    assert PLAN.interval == timedelta(days=365 / 4)
    due = days(1) + PLAN.interval + PLAN.grace
    quiet = overdue([PLAN], held, due - timedelta(seconds=1), {})
    assert quiet == []
    late = overdue([PLAN], held, due, {})
    assert late == [Overdue(SITE, "", days(1), due)]


def test_a_scenario_is_overdue_after_its_own_period() -> None:
    held = [Held(SITE, "trussel", days(0)), Held(SITE, "vold", days(0))]
    # Drilled the threat scenario every quarter: the site is fine, violence is not.
    held += [Held(SITE, "trussel", days(n)) for n in (90, 180)]
    found = overdue([PLAN], held, days(195), {})
    assert found == [Overdue(SITE, "vold", days(0), days(194))]


def test_standing_counts_the_last_year_against_the_plan() -> None:
    held = [Held(SITE, "", days(n)) for n in (-400, 10, 100, 190)]
    held.append(Held("bergen", "", days(200)))  # another site's drill does not count here
    now = days(200)
    found = standing(PLAN, held, now, known_since=days(-500))
    assert found.planned == 4
    assert found.held == 3
    assert found.last == days(190)
    assert found.next_due == days(190) + PLAN.interval
    assert not found.overdue
    never = standing(PLAN, [], now, known_since=days(100))
    assert never.overdue
    assert never.last is None
    assert never.next_due == days(100)


def test_scenarios_for_a_room() -> None:
    assert PLAN.for_room("Mottak") == (VIOLENCE,)
    assert PLAN.scenario("trussel") is THREAT
    assert PLAN.scenario("nope") is None


# --- drill mode -------------------------------------------------------------------------------


def mode(
    start: datetime = T0, minutes: float = 15, room: str = "Møterom 101", **extra: object
) -> DrillMode:
    fields: dict[str, object] = {
        "mode_id": uuid4(),
        "site": SITE,
        "room": room,
        "devices": frozenset({"rom-101"}),
        "scenario": "trussel",
        "started_by": ("lea", "Lea Leder"),
        "started_at": start,
        "until": start + timedelta(minutes=minutes),
    }
    fields.update(extra)
    return DrillMode(**fields)  # type: ignore[arg-type]


def test_drill_mode_covers_its_room_only_while_it_lasts() -> None:
    modes = DrillModes()
    started = mode()
    assert modes.start(started, T0) is None
    during = T0 + timedelta(minutes=14)
    assert modes.covering(SITE, "rom-101", None, during, during) == started
    # Without a registry, a device that names the room.
    assert modes.covering(SITE, "other", "Møterom 101", during, during) == started
    assert modes.covering(SITE, "rom-102", "Møterom 102", during, during) is None
    assert modes.covering("bergen", "rom-101", None, during, during) is None
    over = T0 + timedelta(minutes=15)
    # Pressed during the mode, reaching central after it: real (central's clock).
    assert modes.covering(SITE, "rom-101", None, over, during) is None
    assert modes.active(over) == ()


def test_a_press_from_before_the_mode_is_real_whenever_it_arrives() -> None:
    """A press kept in an edge's outbox through an outage reaches central after a leader
    started drill mode: its own ``raised_at`` is before the mode, so it is real. Both clocks
    must say "drill"; in doubt, real."""
    modes = DrillModes()
    started = mode()
    assert modes.start(started, T0) is None
    arrives = T0 + timedelta(minutes=3)
    outage_press = T0 - timedelta(minutes=2)
    assert modes.covering(SITE, "rom-101", None, arrives, outage_press) is None
    assert modes.covering(SITE, "rom-101", None, arrives, T0) == started  # the mode's first instant
    # A device clock ahead of the mode's end while central's is inside it: in doubt, real.
    ahead = started.until + timedelta(seconds=1)
    assert modes.covering(SITE, "rom-101", None, arrives, ahead) is None


def test_a_desk_s_silent_alarm_is_a_drill_only_from_someone_rehearsing_there() -> None:
    modes = DrillModes()
    started = mode(in_room=(("eva", "Eva Ansatt"),))
    assert modes.start(started, T0) is None
    now = T0 + timedelta(minutes=1)

    def desk(user: str) -> DrillMode | None:
        return modes.covering(SITE, DESK_DEVICE, "Møterom 101", now, now, by=user)

    assert desk("eva") == started  # named as in the room
    assert desk("lea") == started  # the leader who started it
    assert desk("kari") is None  # anyone else's silent alarm from that room is real
    assert started.rehearses("eva")
    assert not started.rehearses("kari")


def test_a_mode_holds_its_room_s_open_drills_not_console_drills_or_real_alarms() -> None:
    started = mode()
    assert started.holds(drill_view(state=AlarmState.RECEIVED))
    assert started.holds(
        drill_view(state=AlarmState.RECEIVED, device="desktop", source="desktop", input="hotkey")
    )
    assert not started.holds(drill_view())  # resolved already
    assert not started.holds(drill_view(state=AlarmState.RECEIVED, drill=False))
    assert not started.holds(drill_view(state=AlarmState.RECEIVED, room="Mottak", device="x"))
    console = drill_view(
        state=AlarmState.RECEIVED, device="desktop", source="desktop", input=CONSOLE_INPUT
    )
    assert not started.holds(console)  # the leader's own drill: theirs to resolve


def test_starting_drill_mode_warns_of_an_offline_button_or_an_open_real_alarm() -> None:
    devices = frozenset({"rom-101"})
    room = "Møterom 101"
    assert start_warnings(SITE, room, devices, {"rom-101": True}, []) == []
    assert start_warnings(SITE, room, devices, {"rom-101": False}, []) == ["device_offline"]
    assert start_warnings(SITE, room, devices, {}, []) == ["device_offline"]  # never heard
    real = drill_view(state=AlarmState.RECEIVED, drill=False)
    assert start_warnings(SITE, room, devices, {"rom-101": True}, [real]) == ["real_alarm_open"]
    others = [
        drill_view(state=AlarmState.RECEIVED),  # a drill
        drill_view(drill=False),  # resolved
        drill_view(state=AlarmState.RECEIVED, drill=False, room="Mottak", device="mottak"),
    ]
    assert start_warnings(SITE, room, devices, {"rom-101": True}, others) == []


def test_refusal_and_ending_change_nothing_until_the_shell_stored_it() -> None:
    modes = DrillModes()
    started = mode()
    assert modes.refusal(started, T0) is None
    assert modes.active(T0) == ()  # checked only: not in force before it is stored
    assert modes.start(started, T0) is None
    ended = modes.ending(started.mode_id, "lea", T0 + timedelta(minutes=1))
    assert isinstance(ended, DrillMode)
    assert ended.ended_by == "lea"
    assert modes.active(T0 + timedelta(minutes=1)) == (started,)  # still in force
    assert modes.end(started.mode_id, "lea", T0 + timedelta(minutes=1)) == ended
    assert modes.active(T0 + timedelta(minutes=1)) == ()


def test_drill_mode_is_bounded_and_one_per_room() -> None:
    modes = DrillModes()
    assert modes.start(mode(minutes=0.5), T0) == "bad_duration"
    assert modes.start(mode(minutes=MAX_MODE.total_seconds() / 60 + 1), T0) == "bad_duration"
    assert modes.start(mode(start=T0 - DAY), T0) == "bad_duration"  # starts now, always
    assert modes.start(mode(), T0) is None
    assert modes.start(mode(), T0) == "room_in_drill_mode"
    assert modes.start(mode(room="Mottak", devices=frozenset({"mottak"})), T0) is None
    assert len(modes.active(T0)) == 2


def test_drill_mode_ends_early_or_by_itself_once() -> None:
    first, second = mode(), mode(room="Mottak", minutes=5)
    modes = DrillModes([first, second, mode(room="Gammel", ended_at=T0)])
    assert len(modes.active(T0)) == 2  # an ended one is not restored
    ended = modes.end(first.mode_id, "lea", T0 + timedelta(minutes=1))
    assert isinstance(ended, DrillMode)
    assert ended.ended_at == T0 + timedelta(minutes=1)
    assert ended.ended_by == "lea"
    assert modes.end(first.mode_id, "lea", T0 + timedelta(minutes=2)) == "unknown_mode"
    assert modes.expired(T0 + timedelta(minutes=4)) == []
    assert modes.end(second.mode_id, "lea", T0 + timedelta(minutes=6)) == "unknown_mode"
    [expired] = modes.expired(T0 + timedelta(minutes=6))
    assert expired.mode_id == second.mode_id
    assert expired.ended_at == second.until
    assert expired.ended_by == "central"
    assert modes.expired(T0 + timedelta(minutes=7)) == []


# --- the drill log ----------------------------------------------------------------------------


def drill_view(**extra: object) -> AlarmView:
    fields: dict[str, object] = {
        "alarm_id": uuid4(),
        "site": SITE,
        "device": "rom-101",
        "room": "Møterom 101",
        "level": "assist",
        "source": "button",
        "input": "desk",
        "raised_at": T0,
        "drill": True,
        "state": AlarmState.RESOLVED,
        "shown_at": T0 + timedelta(seconds=1.2),
        "resolved_at": T0 + timedelta(seconds=95),
    }
    fields.update(extra)
    return AlarmView.model_validate(fields)


def test_the_four_times_and_who_answered_come_from_the_record() -> None:
    steps = [
        Step("raised", T0, "rom-101"),
        Step("coming", T0 + timedelta(seconds=9), "ola", "Ola Nordmann"),
        Step("cant_come", T0 + timedelta(seconds=7), "per", "Per Hansen"),
        Step("coming", T0 + timedelta(seconds=11), "kari", "Kari Nordmann"),
        Step("coming", T0 + timedelta(seconds=20), "ola", "Ola Nordmann"),  # again
        Step("resolved", T0 + timedelta(seconds=95), "kari", "Kari Nordmann"),
    ]
    times = drill_times(drill_view(), steps)
    assert times.pressed == T0
    assert times.to_shown == 1.2
    assert times.to_coming == 9.0
    assert times.to_resolved == 95.0
    assert times.answered == (("ola", "Ola Nordmann"), ("kari", "Kari Nordmann"))
    assert times.declined == (("per", "Per Hansen"),)
    unanswered = drill_times(drill_view(shown_at=None, resolved_at=None), [])
    assert (unanswered.to_shown, unanswered.to_coming, unanswered.to_resolved) == (None,) * 3


def test_who_took_part_each_once() -> None:
    found = took_part(
        ("lea", "Lea Leder"),
        [("eva", "Eva Ansatt"), ("lea", "Lea Leder")],
        [("ola", "Ola Nordmann"), ("eva", "Eva Ansatt")],
    )
    assert found == (("lea", "Lea Leder"), ("eva", "Eva Ansatt"), ("ola", "Ola Nordmann"))
    assert took_part(None, [], [("ola", "Ola")]) == (("ola", "Ola"),)


def test_untrained_are_those_with_no_drill_and_no_training() -> None:
    people = [("ola", "Ola"), ("eva", "Eva"), ("ny", "Ny Ansatt"), ("abe", "Ny Ansatt")]
    done = [Participation("ola", "Ola", date(2025, 1, 6), "drill", "Trussel", SITE, "x")]
    done.append(Participation("eva", "Eva", date(2025, 2, 1), "training", "Kurs", SITE, "y"))
    assert untrained(people, done) == [("abe", "Ny Ansatt"), ("ny", "Ny Ansatt")]


# --- routines read ----------------------------------------------------------------------------


def test_the_routines_version_is_a_hash_of_their_content() -> None:
    files = [("alarm_response", b"assist = ..."), ("drills", b"[[plan]]")]
    shown = [["oslo", "Oslo", [["m101", "Møterom 101", ["Knapp under bordet"], []]]]]
    version = routines_version(files, shown)
    assert len(version) == 16
    assert routines_version(list(reversed(files)), shown) == version  # order: no matter
    assert routines_version([files[0], ("drills", b"[[plan]] ")], shown) != version
    changed = [["oslo", "Oslo", [["m101", "Møterom 101", ["Knapp ved døra"], []]]]]
    assert routines_version(files, changed) != version


def test_read_status_lists_who_has_not_read_the_current_version_first() -> None:
    reads = {
        "ola": {"v1": T0, "v2": days(1)},
        "eva": {"v1": T0},
    }
    found = read_status([("ola", "Ola", "v2"), ("eva", "Eva", "v2"), ("ny", "Ny", "v2")], reads)
    assert [(r.user, r.current) for r in found] == [("eva", False), ("ny", False), ("ola", True)]
    eva, ny, ola = found
    assert eva.last_at == T0
    assert eva.read_at is None
    assert ny.last_at is None
    assert ola.read_at == days(1)


# --- the alarm book's part --------------------------------------------------------------------


def test_a_drill_is_acked_as_a_drill() -> None:
    book = AlarmBook()
    message = alarm(drill=True)
    actions = book.alarm(message, at(0))
    [persist] = only(actions, Persist)
    acks = only(commit_all(book, actions, at(0.1)), AckEdge)
    assert acks
    assert all(a.drill for a in acks)
    real = stored_alarm(book)
    coming = book.command(KARI, command(CommandKind.COMING, real.alarm_id), at(1))
    assert not any(a.drill for a in only(commit_all(book, coming, at(1.1)), AckEdge))
    assert persist.alarm is not None
    assert persist.alarm.drill


def _resolve(book: AlarmBook, alarm_id: UUID, now: float) -> None:
    commit_all(book, book.command(OLA, command(CommandKind.RESOLVE, alarm_id), at(now)), at(now))


@pytest.mark.parametrize("still_in_drill_mode", [True, False])
def test_a_press_after_a_drills_resolution_is_real_once_the_mode_ended(
    still_in_drill_mode: bool,
) -> None:
    book = AlarmBook()
    first = stored_alarm(book, alarm(drill=True))
    _resolve(book, first.alarm_id, 10)
    # The shell's word on the press now: the room's drill mode, at central's receipt.
    again = alarm(first.alarm_id, presses=2, drill=still_in_drill_mode)
    [persist, *_] = only(book.alarm(again, at(20)), Persist)
    assert persist.alarm is not None
    assert persist.alarm.alarm_id != first.alarm_id
    assert persist.alarm.drill is still_in_drill_mode


def test_the_state_sync_tells_a_device_that_forgot_the_drill() -> None:
    book = AlarmBook()
    message = stored_alarm(book, alarm(drill=True))

    def held(drill: bool | None) -> HeldAlarm:
        return HeldAlarm(
            alarm_id=message.alarm_id, input="desk", presses=1, state=HeldState.STORED, drill=drill
        )

    [answer] = book.sync(SITE, "rom-101", [held(None)], at(5))
    assert isinstance(answer, AckEdge)
    assert answer.drill
    assert book.sync(SITE, "rom-101", [held(True)], at(6)) == []
    # A real alarm the device thinks a drill is answered too: central's record decides.
    real = stored_alarm(book)
    wrong = HeldAlarm(
        alarm_id=real.alarm_id, input="wall", presses=1, state=HeldState.STORED, drill=True
    )
    [fixed] = book.sync(SITE, "rom-101", [held(True), wrong], at(7))
    assert isinstance(fixed, AckEdge)
    assert not fixed.drill


def test_a_successor_found_by_the_state_sync_follows_the_drill_mode_too() -> None:
    book = AlarmBook()
    first = stored_alarm(book, alarm(drill=True))
    _resolve(book, first.alarm_id, 10)
    held = HeldAlarm(
        alarm_id=first.alarm_id, input="desk", presses=2, state=HeldState.RECEIVED, drill=True
    )
    actions = book.sync(SITE, "rom-101", [held], at(20), drill=False)
    [persist, *_] = only(actions, Persist)
    assert persist.alarm is not None
    assert not persist.alarm.drill


def test_the_state_sync_asks_about_the_press_with_the_alarm_it_was_counted_on() -> None:
    """The shell's question for a successor found by the state sync gets the alarm pressed
    again: its ``raised_at`` decides with the mode (a press kept through an outage)."""
    book = AlarmBook()
    first = stored_alarm(book, alarm(drill=True))
    _resolve(book, first.alarm_id, 10)
    held = HeldAlarm(
        alarm_id=first.alarm_id, input="desk", presses=2, state=HeldState.RECEIVED, drill=True
    )
    asked: list[UUID] = []

    def drill(pressed_on: AlarmView) -> bool:
        asked.append(pressed_on.alarm_id)
        return False

    [persist, *_] = only(book.sync(SITE, "rom-101", [held], at(20), drill), Persist)
    assert asked == [first.alarm_id]
    assert persist.alarm is not None
    assert not persist.alarm.drill


# --- a drill mode's end -----------------------------------------------------------------------


def test_central_ends_an_open_drill_when_its_mode_ends() -> None:
    book = AlarmBook()
    drill = stored_alarm(book, alarm(drill=True))
    real = stored_alarm(book)
    assert only(book.end_drill(real.alarm_id, at(5)), Refusal)[0].reason == "not_a_drill"
    actions = book.end_drill(drill.alarm_id, at(5))
    [persist] = only(actions, Persist)
    [event] = persist.events
    assert (event.kind, event.actor, event.detail) == (
        EventKind.RESOLVED,
        "central",
        DRILL_MODE_ENDED,
    )
    acks = only(commit_all(book, actions, at(5.1)), AckEdge)
    assert [(a.state, a.drill) for a in acks] == [(AckState.RESOLVED, True)]  # the LED: resolved
    assert book.end_drill(drill.alarm_id, at(6)) == []  # once
    view = book.get(real.alarm_id)
    assert view is not None
    assert view.state is AlarmState.RECEIVED  # a real alarm is never ended by the system


def test_a_press_on_an_open_drill_after_its_mode_ended_is_a_new_real_alarm() -> None:
    """The edge counts a new press on the alarm its button holds. If that alarm is a drill
    whose room is no longer in drill mode (the shell's word: ``drill`` false), the press is no
    part of the drill: the drill ends, and the press is a new alarm, real (acked as real, to
    the ARC if the routine says so, a report asked)."""
    book = AlarmBook()
    drill = stored_alarm(book, alarm(drill=True))
    actions = book.alarm(alarm(drill.alarm_id, presses=2, drill=False), at(30))
    persists = only(actions, Persist)
    ended, raised = persists[0], persists[1]
    assert ended.alarm is not None
    assert ended.alarm.alarm_id == drill.alarm_id
    assert ended.alarm.state is AlarmState.RESOLVED
    assert [e.detail for e in ended.events] == [DRILL_MODE_ENDED]
    assert raised.insert
    assert raised.alarm is not None
    assert raised.alarm.alarm_id == successor_id(drill.alarm_id)
    assert not raised.alarm.drill
    [new] = [b for b in only(actions, Broadcast) if isinstance(b.frame, AlarmNew)]
    assert not new.frame.alarm.drill  # every screen: a real alarm
    acks = only(commit_all(book, actions, at(30.1)), AckEdge)
    # The drill's resolution first (the edge lets go of it), then the new alarm, real.
    assert [(a.alarm_id, a.state, a.drill) for a in acks] == [
        (drill.alarm_id, AckState.RESOLVED, True),
        (raised.alarm.alarm_id, AckState.RECEIVED, False),
    ]
    # The edge re-sends its press until acked: the same new alarm, never another.
    again = book.alarm(alarm(drill.alarm_id, presses=2, drill=False), at(31))
    assert not any(p.insert for p in only(again, Persist))


def test_a_press_on_an_open_drill_while_its_mode_lasts_counts_on_the_drill() -> None:
    book = AlarmBook()
    drill = stored_alarm(book, alarm(drill=True))
    [persist] = only(book.alarm(alarm(drill.alarm_id, presses=2, drill=True), at(30)), Persist)
    assert persist.alarm is not None
    assert persist.alarm.alarm_id == drill.alarm_id
    assert persist.alarm.presses == 2
    assert persist.alarm.drill


def test_drills_flood_apart_from_real_alarms() -> None:
    """A drill's flood source is its own: a real alarm never joins a drill's card."""
    drill = drill_view(state=AlarmState.RECEIVED)
    real = drill_view(state=AlarmState.RECEIVED, drill=False)
    assert flood_source(drill) == (SITE, "drill:rom-101", False)
    assert flood_source(real) == (SITE, "rom-101", False)
    desk = drill_view(state=AlarmState.RECEIVED, device=DESK_DEVICE, raised_by="eva")
    assert flood_source(desk) == (SITE, "drill:eva", True)
    cards = FloodCards()
    cards.start(flood_source(drill), T0, [drill, real])
    assert cards.card(drill.alarm_id) is not None
    assert cards.members(drill.alarm_id) == (drill.alarm_id,)  # the real alarm is not in it
    assert cards.changed(AlarmNew(alarm=real)).out is None  # shown as itself
