"""Escalation as pure logic: alarm events and ``now`` in, ``Escalate`` actions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from central.core.escalation import (
    ARC,
    NEIGHBOURS,
    Escalate,
    Escalated,
    Escalation,
    Plan,
    Reason,
    Stage,
)
from protocol import AlarmLevel

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
A1 = UUID("00000000-0000-4000-8000-000000000001")
A2 = UUID("00000000-0000-4000-8000-000000000002")
GUARDS = "guards"
FIRST = Stage(timedelta(seconds=20), (NEIGHBOURS, GUARDS))
SECOND = Stage(timedelta(seconds=60), (ARC,))
PLAN = Plan(
    {
        AlarmLevel.ACUTE: (FIRST, SECOND),
        AlarmLevel.ASSIST: (Stage(timedelta(seconds=45), (NEIGHBOURS,)),),
    },
    unseen_after=timedelta(seconds=10),
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def escalate(
    alarm_id: UUID, stage: int, targets: tuple[str, ...], reason: Reason, after: float, now: float
) -> Escalate:
    return Escalate(alarm_id, Escalated(stage, targets, reason, timedelta(seconds=after)), at(now))


def raised(level: AlarmLevel = AlarmLevel.ACUTE, **flags: bool) -> Escalation:
    core = Escalation(PLAN)
    core.raised(A1, level, at(0), covered=flags.pop("covered", True), **flags)
    core.shown(A1)
    return core


def test_nothing_before_the_first_delay_then_each_stage_once_in_order() -> None:
    core = raised()
    assert A1 in core
    assert core.tick(at(19.9)) == []
    first = escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 20)
    assert core.tick(at(20)) == [first]
    assert core.tick(at(21)) == []
    assert core.tick(at(60)) == [escalate(A1, 2, (ARC,), Reason.NO_ANSWER, 60, 60)]
    assert A1 not in core  # every stage taken: nothing left to track
    assert core.tick(at(600)) == []


def test_assist_escalates_by_its_own_stages() -> None:
    core = raised(AlarmLevel.ASSIST)
    assert core.tick(at(44)) == []
    assert core.tick(at(45)) == [escalate(A1, 1, (NEIGHBOURS,), Reason.NO_ANSWER, 45, 45)]


def test_stages_overdue_at_one_tick_are_all_taken_in_order() -> None:
    core = raised()
    assert core.tick(at(61)) == [
        escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 61),
        escalate(A1, 2, (ARC,), Reason.NO_ANSWER, 60, 61),
    ]


def test_coming_stops_escalation_and_resolution_ends_it() -> None:
    core = raised()
    core.answered(A1, coming=True)
    assert core.tick(at(100)) == []
    core.ended(A1)
    assert A1 not in core
    core.answered(A1, coming=False)  # unknown now: nothing happens
    core.shown(A1)
    assert core.tick(at(200)) == []


def test_the_last_responder_withdrawing_resumes_with_what_fell_due() -> None:
    core = raised()
    core.answered(A1, coming=True)
    assert core.tick(at(30)) == []
    core.answered(A1, coming=False)
    assert core.tick(at(31)) == [escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 31)]


def test_an_alarm_raised_with_no_screen_takes_its_first_stage_at_once() -> None:
    core = raised(covered=False)
    assert core.tick(at(0.5)) == [escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NO_SCREEN, 0, 0.5)]
    # The later stages keep their delays from the raise.
    assert core.tick(at(59)) == []
    assert core.tick(at(60)) == [escalate(A1, 2, (ARC,), Reason.NO_ANSWER, 60, 60)]


def test_an_alarm_no_screen_shows_in_time_takes_its_first_stage_then() -> None:
    core = Escalation(PLAN)
    core.raised(A1, AlarmLevel.ACUTE, at(0), covered=True)
    assert core.tick(at(9.9)) == []
    assert core.tick(at(10)) == [escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NOT_SHOWN, 10, 10)]
    core.shown(A1)  # too late to matter for the first stage; the second keeps its delay
    assert core.tick(at(59)) == []
    assert core.tick(at(60)) == [escalate(A1, 2, (ARC,), Reason.NO_ANSWER, 60, 60)]


def test_a_rush_after_the_first_delay_is_told_as_no_answer() -> None:
    core = raised(covered=False)
    assert core.tick(at(25)) == [escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 25)]


def test_shown_in_time_waits_for_the_delay() -> None:
    core = Escalation(PLAN)
    core.raised(A1, AlarmLevel.ACUTE, at(0), covered=True)
    core.shown(A1)
    assert core.tick(at(15)) == []


def test_a_test_alarm_never_escalates_and_a_resend_changes_nothing() -> None:
    core = Escalation(PLAN)
    core.raised(A1, AlarmLevel.ACUTE, at(0), covered=False, test=True)
    assert A1 not in core
    core.raised(A2, AlarmLevel.ACUTE, at(0), covered=True)
    core.shown(A2)
    core.raised(A2, AlarmLevel.ACUTE, at(5), covered=False)  # a resend: still from 0, covered
    assert core.tick(at(19)) == []
    assert core.tick(at(20)) == [escalate(A2, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 20)]


def test_a_drill_escalates_to_people_but_never_to_the_arc() -> None:
    core = raised(drill=True)
    assert core.tick(at(100)) == [escalate(A1, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 100)]
    assert A1 not in core
    mixed = Plan({AlarmLevel.ACUTE: (Stage(timedelta(seconds=5), (ARC, GUARDS)),)})
    core = Escalation(mixed)
    core.raised(A2, AlarmLevel.ACUTE, at(0), covered=True, drill=True)
    core.shown(A2)
    assert core.tick(at(5)) == [escalate(A2, 1, (GUARDS,), Reason.NO_ANSWER, 5, 5)]


def test_a_level_without_stages_is_not_tracked() -> None:
    core = Escalation(Plan({}))
    core.raised(A1, AlarmLevel.ACUTE, at(0), covered=False)
    assert A1 not in core
    assert core.tick(at(100)) == []


def test_restore_never_takes_a_stage_again_and_takes_what_fell_due() -> None:
    core = Escalation(PLAN)
    core.restore(A1, AlarmLevel.ACUTE, at(0), taken=1, coming=False)
    assert core.tick(at(59)) == []  # restored alarms were on screens: no rush
    assert core.tick(at(70)) == [escalate(A1, 2, (ARC,), Reason.NO_ANSWER, 60, 70)]


def test_restore_of_answered_done_and_test_alarms() -> None:
    core = Escalation(PLAN)
    core.restore(A1, AlarmLevel.ACUTE, at(0), taken=0, coming=True)
    assert core.tick(at(100)) == []
    assert A1 in core
    core.restore(A2, AlarmLevel.ACUTE, at(0), taken=2, coming=False)
    assert A2 not in core
    core.restore(A2, AlarmLevel.ACUTE, at(0), taken=0, coming=False, test=True)
    assert A2 not in core
    core.restore(A2, AlarmLevel.ACUTE, at(0), taken=0, coming=False, drill=True)
    assert core.tick(at(100)) == [escalate(A2, 1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, 20, 100)]


@pytest.mark.parametrize(
    ("escalated", "detail"),
    [
        (
            Escalated(1, (NEIGHBOURS, GUARDS), Reason.NO_ANSWER, timedelta(seconds=20)),
            "stage=1; to=neighbours,guards; reason=no_answer; after_s=20",
        ),
        (
            Escalated(2, (ARC,), Reason.NOT_SHOWN, timedelta(seconds=1.5)),
            "stage=2; to=arc; reason=not_shown; after_s=1.5",
        ),
        (
            Escalated(1, ("vektere",), Reason.NO_SCREEN, timedelta(0)),
            "stage=1; to=vektere; reason=no_screen; after_s=0",
        ),
    ],
)
def test_the_detail_is_written_and_read_back(escalated: Escalated, detail: str) -> None:
    assert escalated.detail() == detail
    assert Escalated.parse(detail) == escalated


@pytest.mark.parametrize(
    "detail",
    ["", "stage=0; to=arc; reason=no_answer; after_s=1", "stage=1; to=arc; reason=late; after_s=1"],
)
def test_other_details_are_not_read(detail: str) -> None:
    assert Escalated.parse(detail) is None
