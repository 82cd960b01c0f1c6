"""Pure cores of self-testing: test alarms' audience in the alarm book, rounds, judging runs,
the overdue list. Events and ``now`` in, decisions out."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from central.core import AlarmBook, Broadcast, Persist, Person, Refusal
from central.core.rounds import Button, ButtonResult, TestRound, buttons_of
from central.core.selftests import (
    NO_ANSWER,
    E2ETrial,
    Leg,
    RunResult,
    judge_device,
    overdue,
)
from protocol import AlarmSource, CheckResult
from protocol.screen import AlarmState, Command, CommandKind, RaiseRequest
from tests.central.test_core_alarms import KARI, OLA, SITE, alarm, at, only

SCREEN = Person("testskjerm", "Testskjerm", "t" * 24, frozenset({SITE}))


def test_a_test_alarm_goes_only_to_its_audience_and_central_ends_it() -> None:
    book = AlarmBook()
    message = alarm()
    actions = book.alarm(message, at(0), frozenset({"testskjerm"}))
    [broadcast] = only(actions, Broadcast)
    assert broadcast.only == frozenset({"testskjerm"})
    assert broadcast.frame.alarm.test
    assert book.audience(message.alarm_id) == frozenset({"testskjerm"})
    assert book.active_for(KARI) == ()
    assert book.active_for(OLA) == ()
    assert [v.alarm_id for v in book.active_for(SCREEN)] == [message.alarm_id]
    # Others cannot act on it; its audience can.
    cmd = Command(type=CommandKind.COMING, alarm_id=message.alarm_id)
    assert book.command(KARI, cmd, at(1)) == [Refusal(message.alarm_id, "not_your_site")]
    [persist] = only(actions, Persist)
    book.committed(persist, at(1))
    ended = book.close_test(message.alarm_id, at(2), "test screen has it")
    assert only(ended, Broadcast) == []  # the test screen hears it once it is stored
    [update] = only(book.committed(only(ended, Persist)[0], at(2.1)), Broadcast)
    assert update.only == frozenset({"testskjerm"})
    assert update.frame.alarm.state is AlarmState.RESOLVED
    assert update.frame.alarm.resolved_by == "central"
    assert book.close_test(message.alarm_id, at(3), "again") == []


def test_central_never_ends_a_real_alarm_and_unknown_tests_reach_nobody() -> None:
    book = AlarmBook()
    real = alarm()
    book.alarm(real, at(0))
    assert book.audience(real.alarm_id) is None
    assert book.close_test(real.alarm_id, at(1), "x") == [
        Refusal(real.alarm_id, "not_a_test_alarm")
    ]
    missing = uuid4()
    assert book.close_test(missing, at(1), "x") == [Refusal(missing, "unknown_alarm")]
    # A device that flags test on its own: recorded, shown to nobody.
    stray = alarm(test=True)
    [broadcast] = only(book.alarm(stray, at(2)), Broadcast)
    assert broadcast.only == frozenset()


def test_a_test_raise_from_a_desk_goes_to_the_raiser_only_and_restore_hides_tests() -> None:
    book = AlarmBook()
    request = RaiseRequest(
        alarm_id=uuid4(), level="acute", site=SITE, room="Kontor", raised_at=at(0), test=True
    )
    [broadcast] = only(book.raise_from_screen(KARI, request, at(0)), Broadcast)
    assert broadcast.only == frozenset({"kari"})
    stored = [book.get(request.alarm_id)]
    again = AlarmBook.restore([v for v in stored if v is not None])
    assert again.audience(request.alarm_id) == frozenset()
    assert again.active_for(KARI) == ()


def test_a_round_ticks_first_presses_of_buttons_only() -> None:
    round_ = TestRound(uuid4(), SITE, "frida", at(0), buttons_of([("rom-1", ["desk", "wall"])]))
    first, second = uuid4(), uuid4()
    assert round_.press("rom-1", "desk", AlarmSource.BUTTON, first, at(1))
    assert not round_.press("rom-1", "desk", AlarmSource.BUTTON, second, at(2))  # real
    assert not round_.press("rom-1", "pendant", AlarmSource.SENSOR, uuid4(), at(3))  # real
    assert round_.press("rom-2", "door", AlarmSource.BUTTON, uuid4(), at(4))  # new to central
    round_.fail(Button("rom-1", "wall"), "LED stayed dark", at(5))
    report = {(o.button.device, o.button.input): o for o in round_.report()}
    assert report[("rom-1", "desk")].result is ButtonResult.TESTED
    assert report[("rom-1", "desk")].alarm_id == first
    assert report[("rom-1", "wall")].result is ButtonResult.FAILED
    assert report[("rom-2", "door")].result is ButtonResult.TESTED
    round_.close(at(6))
    round_.close(at(7))
    assert not round_.open
    assert round_.closed_at == at(6)
    assert not round_.press("rom-1", "wall", AlarmSource.BUTTON, uuid4(), at(8))


def test_a_round_report_lists_untested_and_broken_buttons() -> None:
    round_ = TestRound(uuid4(), SITE, "frida", at(0), {Button("rom-1", "desk")})
    round_.restore_tick(Button("rom-1", "wall"), at(1), uuid4())
    outcomes = round_.report({Button("rom-3", "desk"): "device offline"})
    assert [(o.button.device, o.button.input, o.result, o.detail) for o in outcomes] == [
        ("rom-1", "desk", ButtonResult.NOT_TESTED, ""),
        ("rom-1", "wall", ButtonResult.TESTED, ""),
        ("rom-3", "desk", ButtonResult.FAILED, "device offline"),
    ]


def test_judging_a_device_answer() -> None:
    no_answer = judge_device(None)
    assert (no_answer.result, no_answer.reason) == (RunResult.FAILED, NO_ANSWER)
    assert no_answer.checks[0].name == "answer"
    assert judge_device([]).result is RunResult.FAILED
    good = [CheckResult(name="inputs", ok=True), CheckResult(name="clock", ok=True, value=3.0)]
    assert judge_device(good).result is RunResult.PASSED
    bad = [
        *good,
        CheckResult(name="disk", ok=False, detail="1 MB free"),
        CheckResult(name="outbox", ok=False),
    ]
    verdict = judge_device(bad)
    assert verdict.result is RunResult.FAILED
    assert verdict.reason == "disk: 1 MB free; outbox"


def test_an_end_to_end_trial_records_each_leg() -> None:
    trial = E2ETrial(uuid4(), uuid4(), SITE, "rom-1", deadline=at(30))
    trial.seen(at(0), at(0.05))
    trial.seen(at(9), at(9))  # a resend changes nothing
    trial.stored(at(0.1))
    assert not trial.complete
    trial.delivered(at(0.3))
    trial.answered(
        [
            CheckResult(name="inputs", ok=True),
            CheckResult(name="test_alarm", ok=True, detail="ack received", value=150.0),
        ]
    )
    assert trial.complete
    verdict = trial.verdict()
    assert verdict.result is RunResult.PASSED
    assert {c.name: c.value for c in verdict.checks} == {
        Leg.EDGE_TO_CENTRAL: 50.0,
        Leg.STORED: 50.0,
        Leg.TO_TEST_SCREEN: 250.0,
        Leg.EDGE_ACK: 150.0,
    }


def test_an_end_to_end_trial_that_fails_says_where() -> None:
    silent = E2ETrial(uuid4(), uuid4(), SITE, "rom-1", deadline=at(30))
    assert silent.verdict().reason == NO_ANSWER
    partial = E2ETrial(uuid4(), uuid4(), SITE, "rom-1", deadline=at(30))
    partial.seen(at(0), at(0.1))
    partial.stored(at(0.2))
    partial.stored(at(0.9))
    partial.delivered(at(0.5))
    partial.delivered(at(0.8))
    verdict = partial.verdict()
    assert verdict.result is RunResult.FAILED
    assert verdict.reason == f"edge_ack: {NO_ANSWER}"


def test_overdue_lists_what_has_not_passed_within_its_period() -> None:
    period = timedelta(days=1)
    targets = [(SITE, "rom-1", ""), (SITE, "rom-2", ""), (SITE, "rom-3", "")]
    last = {(SITE, "rom-1", ""): at(0), (SITE, "rom-2", ""): at(-2 * 86400)}
    found = overdue("daily", "device_selftest", period, targets, last, at(3600), at(-100))
    assert [(o.device, o.last_passed, o.due_since) for o in found] == [
        ("rom-2", at(-2 * 86400), at(-86400)),
        ("rom-3", None, at(-100)),
    ]


def test_roles_and_connections() -> None:
    from central.core import Audience, Role

    manager = Person(
        "frida",
        "Frida",
        "f" * 24,
        frozenset({SITE}),
        frozenset({Role.RESPONDER, Role.FACILITY_MANAGER}),
    )
    assert manager.facility_manager
    assert not KARI.facility_manager
    audience: Audience[str] = Audience()
    audience.add("a", manager)
    audience.add("b", OLA)
    assert audience.connections() == ("a", "b")
