"""The evidence's pure core (central.core.evidence): periods, statistics, and every section's
figures from plain rows, compared by exact equality."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.core.evidence import (
    AlarmRow,
    Alarms,
    Desk,
    DrillRow,
    Drills,
    Evidence,
    HeldDrill,
    MeetingRow,
    Meetings,
    Mobile,
    OverdueRow,
    Period,
    PersonRow,
    ReportRow,
    Reports,
    Routines,
    RunRow,
    SelfTesting,
    Share,
    Times,
    evidence,
    median,
    nearest_rank,
    period_of,
    planned,
    times,
)

OSLO = ZoneInfo("Europe/Oslo")
# 2025: 1 January 00:00 in Oslo is 31 December 2024 23:00 UTC.
YEAR = Period(datetime(2025, 1, 1, tzinfo=OSLO), datetime(2026, 1, 1, tzinfo=OSLO))
START = YEAR.start
JUST_BEFORE = START - timedelta(microseconds=1)
LAST_MOMENT = YEAR.end - timedelta(microseconds=1)


def at(month: int, day: int, hour: int = 10, second: float = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=OSLO) + timedelta(seconds=second)


def s(seconds: float, month: int = 3) -> datetime:
    """A time ``seconds`` after 10:00 on ``month``'s 5th."""
    return at(month, 5) + timedelta(seconds=seconds)


# --- periods ---------------------------------------------------------------------------------


def test_presets_are_local_midnights_and_half_open() -> None:
    today = date(2026, 3, 15)
    assert period_of("last12", today, OSLO) == Period(
        datetime(2025, 3, 16, tzinfo=OSLO), datetime(2026, 3, 16, tzinfo=OSLO)
    )
    assert period_of("this_year", today, OSLO) == Period(
        datetime(2026, 1, 1, tzinfo=OSLO), datetime(2027, 1, 1, tzinfo=OSLO)
    )
    assert period_of("last_year", today, OSLO) == YEAR
    assert period_of("custom", today, OSLO, date(2025, 1, 1), date(2025, 12, 31)) == YEAR
    one_day = period_of("custom", today, OSLO, date(2025, 3, 30), date(2025, 3, 30))
    assert isinstance(one_day, Period)
    assert one_day.days == 1  # the day the clocks go forward: 23 hours, one day
    assert one_day.end.astimezone(UTC) - one_day.start.astimezone(UTC) == timedelta(hours=23)
    assert one_day.last_day == date(2025, 3, 30)


def test_last_12_months_from_a_leap_day() -> None:
    found = period_of("last12", date(2028, 2, 29), OSLO)
    assert found == Period(datetime(2027, 3, 1, tzinfo=OSLO), datetime(2028, 3, 1, tzinfo=OSLO))


@pytest.mark.parametrize(
    ("preset", "first", "last", "why"),
    [
        ("custom", None, date(2025, 1, 1), "custom_needs_days"),
        ("custom", date(2025, 1, 1), None, "custom_needs_days"),
        ("custom", date(2025, 1, 2), date(2025, 1, 1), "last_before_first"),
        ("custom", date(2019, 1, 1), date(2025, 1, 1), "too_long"),
        ("decade", None, None, "unknown_period"),
        ("custom", date(1999, 12, 31), date(2000, 1, 1), "out_of_range"),
        ("custom", date(2099, 12, 31), date(2100, 1, 1), "out_of_range"),
        ("custom", date(1, 1, 1), date(1, 1, 2), "out_of_range"),
        ("custom", date(9999, 12, 30), date(9999, 12, 31), "out_of_range"),
    ],
)
def test_a_period_that_cannot_be(
    preset: str, first: date | None, last: date | None, why: str
) -> None:
    assert period_of(preset, date(2026, 1, 1), OSLO, first, last) == why


def test_a_period_holds_its_start_not_its_end() -> None:
    assert START in YEAR
    assert LAST_MOMENT in YEAR
    assert JUST_BEFORE not in YEAR
    assert YEAR.end not in YEAR
    assert START.astimezone(UTC) in YEAR  # the same instant, written in UTC
    assert "2025-06-01" not in YEAR
    assert YEAR.days == 365
    assert YEAR.months() == tuple(f"2025-{m:02d}" for m in range(1, 13))
    assert YEAR.month_of(datetime(2025, 1, 31, 23, 30, tzinfo=UTC)) == "2025-02"


# --- statistics ------------------------------------------------------------------------------


def test_median_and_nearest_rank() -> None:
    assert median([]) is None
    assert nearest_rank([], 90) is None
    assert median([7.0]) == 7.0
    assert median([30.0, 4.0, 8.0]) == 8.0
    assert median([4.0, 8.0, 15.0, 30.0]) == 11.5  # the mean of the two middle values
    ten = [float(v) for v in range(1, 11)]
    assert nearest_rank(ten, 90) == 9.0  # ⌈0.9·10⌉ = 9th
    assert nearest_rank([*ten, 11.0], 90) == 10.0  # ⌈0.9·11⌉ = 10th
    assert nearest_rank([5.0], 90) == 5.0
    assert nearest_rank([1.0, 2.0], 90) == 2.0  # ⌈1.8⌉ = 2nd
    assert times([8.0, 4.0]) == Times(2, 6.0, 8.0)
    assert times([]) == Times(0, None, None)


def test_a_share_rounds_half_up() -> None:
    assert Share(0, 0).percent is None
    assert Share(1, 8).percent == 13  # 12.5
    assert Share(5, 8).percent == 63  # 62.5
    assert Share(1, 3).percent == 33
    assert Share(2, 3).percent == 67
    assert Share(3, 3).percent == 100


def test_planned_drills_follow_the_period() -> None:
    assert planned(None, YEAR) is None
    assert planned(2, YEAR) == 2
    leap = Period(datetime(2028, 1, 1, tzinfo=OSLO), datetime(2029, 1, 1, tzinfo=OSLO))
    assert planned(2, leap) == 2  # 2 × 366 / 365
    half = Period(datetime(2025, 1, 1, tzinfo=OSLO), datetime(2025, 7, 1, tzinfo=OSLO))
    assert planned(4, half) == 2  # 4 × 181 / 365 = 1.98
    assert planned(1, half) == 0  # 0.496: not yet due in half a year
    quarter = Period(datetime(2025, 1, 1, tzinfo=OSLO), datetime(2025, 4, 3, tzinfo=OSLO))
    assert planned(2, quarter) == 1  # 2 × 92 / 365 = 0.504: rounded half up


# --- the sections ----------------------------------------------------------------------------


ALARMS = (
    # acute, answered after 4 s (and again later: the first counts)
    AlarmRow("a1", "acute", "button", s(0), coming=(s(9), s(4))),
    # assist, answered after 8 s, escalated once
    AlarmRow("a2", "assist", "button", s(0, 4), stage=1, coming=(s(8, 4),)),
    # acute, nobody came, escalated twice
    AlarmRow("a3", "acute", "sensor", s(0, 4), stage=2),
    # the phone, silent, after 15 s
    AlarmRow("a4", "assist", "mobile", s(0, 5), silent=True, coming=(s(15, 5),)),
    # the phone, nobody came
    AlarmRow("a5", "assist", "mobile", s(0, 5)),
    # the desk's silent alarm, after 30 s
    AlarmRow("a6", "acute", "desktop", s(0, 12), coming=(s(30, 12),)),
    # the first instant of the period, answered after 60 s
    AlarmRow("a7", "assist", "button", START, coming=(START + timedelta(seconds=60),)),
    # not counted: before the period, at its end, a drill, a test
    AlarmRow("x1", "acute", "button", JUST_BEFORE, coming=(START,)),
    AlarmRow("x2", "acute", "button", YEAR.end, coming=(YEAR.end,)),
    AlarmRow("d1", "assist", "button", s(0, 6), drill=True, coming=(s(1, 6),)),
    AlarmRow("t1", "assist", "button", s(0, 6), test=True),
    AlarmRow("t2", "assist", "button", YEAR.end, test=True),
)


def months(**counts: tuple[int, int]) -> tuple[tuple[str, int, int], ...]:
    return tuple((f"2025-{m:02d}", *counts.get(f"m{m}", (0, 0))) for m in range(1, 13))


def test_real_alarms_by_level_answered_and_escalated() -> None:
    found = evidence("oslo", YEAR, at(12, 31), alarms=ALARMS)
    assert found.alarms == Alarms(
        total=7,
        assist=4,
        acute=3,
        response=Times(5, 15.0, 60.0),  # 4, 8, 15, 30, 60
        unanswered=2,
        escalated=2,
        by_stage=((1, 1), (2, 1)),
        drills_left_out=1,
        tests_left_out=1,
        by_month=months(m1=(0, 1), m3=(1, 1), m4=(1, 2), m5=(0, 2), m12=(1, 1)),
    )
    assert found.mobile == Mobile(total=2, silent=1, response=Times(1, 15.0, 15.0), unanswered=1)
    assert found.desk == Desk(total=1, response=Times(1, 30.0, 30.0), unanswered=0)


def test_response_times_keep_fractions_of_a_second() -> None:
    rows = [
        AlarmRow("a", "acute", "button", s(0), coming=(s(2.25),)),
        AlarmRow("b", "acute", "button", s(0), coming=(s(3.5),)),
    ]
    assert evidence("oslo", YEAR, at(12, 31), alarms=rows).alarms.response == Times(2, 2.875, 3.5)


def test_meetings_with_standby() -> None:
    rows = [
        MeetingRow("m1", at(2, 1), asked=2, confirmed=1),
        MeetingRow("m2", at(2, 2), asked=1, declined=1),
        MeetingRow("m3", at(2, 3), asked=1),  # nobody answered
        MeetingRow("m4", at(2, 4), asked=2, confirmed=2, cancelled=True),
        MeetingRow("m5", START, asked=0),
        MeetingRow("x1", JUST_BEFORE, asked=1, confirmed=1),
        MeetingRow("x2", YEAR.end, asked=1, confirmed=1),
    ]
    found = evidence("oslo", YEAR, at(12, 31), meetings=rows).meetings
    assert found == Meetings(
        registered=5, standby_asked=4, standby_answered=3, standby_confirmed=2, cancelled=1
    )


def test_reports_seen_and_followed_up() -> None:
    rows = [
        ReportRow("r1", at(3, 1), ("threat",), from_alarm=True, seen_by_leader=True),
        ReportRow(
            "r2",
            at(3, 2),
            ("threat", "violence"),
            seen_by_leader=True,
            seen_by_safety_rep=True,
            follow_up_needed=True,
            followed_up=True,
        ),
        ReportRow("r3", at(3, 3), ("harassment",), follow_up_needed=True),
        ReportRow("r4", LAST_MOMENT, ("other",), seen_by_safety_rep=True, followed_up=True),
        ReportRow("x1", YEAR.end, ("violence",), seen_by_leader=True),
        ReportRow("x2", JUST_BEFORE, ("violence",)),
    ]
    found = evidence("oslo", YEAR, at(12, 31), reports=rows).reports
    assert found == Reports(
        filed=4,
        from_alarm=1,
        seen_by_leader=Share(2, 4),
        seen_by_safety_rep=Share(2, 4),
        seen_by_both=Share(1, 4),
        follow_up_needed=2,
        followed_up=2,
        open_follow_ups=1,
        by_kind=(
            ("threat", 2),
            ("violence", 1),
            ("harassment", 1),
            ("damage", 0),
            ("other", 1),
        ),
    )


def test_the_test_log_and_what_is_overdue() -> None:
    b1, b2, b3 = ("rom-101", "desk"), ("rom-101", "wall"), ("rom-102", "desk")
    rows = [
        RunRow("s1", "device_selftest", "schedule", at(1, 5), "passed"),
        RunRow("s2", "device_selftest", "schedule", at(1, 6), "passed", late=True),
        RunRow("s3", "device_selftest", "schedule", at(2, 6), "failed"),
        RunRow("s4", "device_selftest", "schedule", at(2, 7), "missed"),
        RunRow("s5", "device_selftest", "manual", at(2, 8), "passed"),
        RunRow("s6", "device_selftest", "schedule", at(2, 9), "open"),  # left out
        RunRow("e1", "e2e_test_alarm", "schedule", at(3, 5), "passed"),
        RunRow("e2", "e2e_test_alarm", "schedule", at(3, 12), "failed"),
        RunRow("r1", "manual_round", "round", at(4, 1), "passed", buttons=frozenset({b1, b2})),
        RunRow("r2", "manual_round", "round", at(5, 1), "failed", buttons=frozenset({b2, b3})),
        RunRow("r3", "manual_round", "round", at(6, 1), "open", buttons=frozenset({("x", "y")})),
        RunRow("r4", "manual_round", "schedule", at(6, 1), "due"),
        RunRow("x1", "device_selftest", "schedule", JUST_BEFORE, "passed"),
        RunRow("x2", "e2e_test_alarm", "schedule", YEAR.end, "passed"),
    ]
    overdue = [
        OverdueRow("device_selftest", "rom-102"),
        OverdueRow("manual_round", "rom-101"),
        OverdueRow("manual_round", "rom-102"),
        OverdueRow("e2e_test_alarm", ""),
    ]
    found = evidence("oslo", YEAR, at(12, 31), runs=rows, overdue=overdue).tests
    assert found == SelfTesting(
        selftests_on_time=Share(2, 5),
        selftests_failed=2,
        e2e_done=2,
        e2e_passed=1,
        rounds_done=2,
        rounds_due=1,
        buttons_tested=3,
        overdue_devices=("rom-101", "rom-102"),
        site_test_overdue=True,
        by_month=months(m1=(1, 2), m2=(1, 3)),
    )
    clear = evidence("oslo", YEAR, at(12, 31), overdue=[OverdueRow("device_selftest", "")])
    assert clear.tests.overdue_devices == ()
    assert not clear.tests.site_test_overdue


def test_drills_routines_and_training() -> None:
    drills = [
        DrillRow("d1", s(0), s(0), (s(20), s(12)), shown=s(2.5), resolved=s(90)),
        DrillRow("d2", s(0, 6), s(0, 6), (s(20, 6),), shown=s(1, 6)),  # not resolved yet
        DrillRow("d3", s(0, 9), s(0, 9), resolved=s(300, 9)),  # nobody answered
        DrillRow("d4", s(0, 10)),  # its alarm not stored yet: held, not timed
        DrillRow("x1", JUST_BEFORE, JUST_BEFORE, (START,)),
    ]
    people = [
        PersonRow("anne", read_current=True, trained_on=date(2024, 5, 1)),
        PersonRow("eva", read_current=False, trained_on=date(2025, 12, 31)),
        PersonRow("kari", read_current=True, trained_on=date(2026, 1, 1)),  # after the period
        PersonRow("ola", read_current=False),
    ]
    found = evidence("oslo", YEAR, at(12, 31), drills=drills, people=people, per_year=2)
    assert found.drills == Drills(
        held=4,
        planned=2,
        response=Times(2, 16.0, 20.0),
        unanswered=2,
        trained=Share(2, 4),
        log=(  # newest first, seconds from the press
            HeldDrill("d4", s(0, 10), None, None, None),
            HeldDrill("d3", s(0, 9), None, None, 300.0),
            HeldDrill("d2", s(0, 6), 1.0, 20.0, None),
            HeldDrill("d1", s(0), 2.5, 12.0, 90.0),
        ),
    )
    assert found.routines == Routines(Share(2, 4))
    no_plan = evidence("oslo", YEAR, at(12, 31))
    assert no_plan.drills == Drills(0, None, Times(0, None, None), 0, Share(0, 0))


def test_nothing_recorded_is_all_zeros() -> None:
    made = at(12, 31)
    assert evidence("oslo", YEAR, made) == Evidence(
        site="oslo",
        period=YEAR,
        made_at=made,
        meetings=Meetings(0, 0, 0, 0, 0),
        reports=Reports(
            0,
            0,
            Share(0, 0),
            Share(0, 0),
            Share(0, 0),
            0,
            0,
            0,
            (("threat", 0), ("violence", 0), ("harassment", 0), ("damage", 0), ("other", 0)),
        ),
        alarms=Alarms(0, 0, 0, Times(0, None, None), 0, 0, (), 0, 0, months()),
        mobile=Mobile(0, 0, Times(0, None, None), 0),
        desk=Desk(0, Times(0, None, None), 0),
        tests=SelfTesting(Share(0, 0), 0, 0, 0, 0, 0, 0, (), False, months()),
        routines=Routines(Share(0, 0)),
        drills=Drills(0, None, Times(0, None, None), 0, Share(0, 0)),
    )


def test_a_period_across_a_new_year_has_its_months_in_order() -> None:
    winter = period_of("custom", date(2026, 1, 1), OSLO, date(2025, 11, 20), date(2026, 2, 3))
    assert isinstance(winter, Period)
    assert winter.months() == ("2025-11", "2025-12", "2026-01", "2026-02")
    row = AlarmRow("a", "acute", "button", datetime(2026, 1, 2, tzinfo=OSLO))
    found = evidence("oslo", winter, at(12, 31), alarms=[row]).alarms.by_month
    assert found == (("2025-11", 0, 0), ("2025-12", 0, 0), ("2026-01", 1, 1), ("2026-02", 0, 0))
