"""The office's evidence for its yearly review (STANDARD 2.2–4.1), without I/O: for one site and
one period, requirement by requirement, the figures the records hold.

The standard asks the office to *show* that its measures work, and the NAV office partnership
handles violence and threats at least once a year. This module turns plain rows (read by
``central.store.evidence``) into one frozen :class:`Evidence`; the page, its JSON and its PDF
are all drawn from that one value, so they can never disagree. Four rules shape it:

* **Computed from the record, never kept beside it** (as the drill log is): every figure is a
  count of rows a reader can open from the page, or a statistic over such rows, so the page
  can always be checked against the alarm history, the reports, the test log and the drill log.
* **A period is half-open, in the site's local time** (:class:`Period`): ``[start, end)``, both
  local midnights, so a day belongs to one period only and "this year" is 1 January to
  1 January. :func:`period_of` makes one from a preset or from two days a person picks.
* **Drills and tests are never alarms.** 3.2–3.4 count real alarms only (neither ``test`` nor
  ``drill``); 3.2 says how many drills and test alarms it left out, and 4.1 counts the drills.
* **Every statistic is defined exactly**, so a reader (and a test) can compute it again from
  the rows: a response time is the seconds from the press (the alarm's ``raised_at``) to the
  first "I'm coming"; the median is the middle value (the mean of the two middle ones for an
  even count); the 90th percentile is the *nearest rank*: the ⌈0.9·n⌉-th smallest value. A
  percentage is rounded half up to a whole number. What is a *state* rather than a count over
  the period (devices overdue now, who has read the current routines) says so, and is taken
  as it stands when the evidence is made.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from central.core.reports import Kind

#: A custom period is at most this many days (five years: a review looks back a year or two).
MAX_DAYS = 5 * 366
#: The drill plan's drills per year are spread over a year of this many days (as the plan's).
YEAR_DAYS = 365
#: The days a period may hold: nothing was recorded before, and far-off years only overflow.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


class Preset(StrEnum):
    LAST_12_MONTHS = "last12"
    THIS_YEAR = "this_year"
    LAST_YEAR = "last_year"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)``: both local midnights of the site's zone (``start.tzinfo``)."""

    start: datetime
    end: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The period's last day (inclusive), in its zone."""
        return self.end.date() - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end.date() - self.start.date()).days

    def months(self) -> tuple[str, ...]:
        """Every month (YYYY-MM) the period touches, oldest first."""
        found: list[str] = []
        year, month = self.first_day.year, self.first_day.month
        last = self.last_day
        while (year, month) <= (last.year, last.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return tuple(found)

    def month_of(self, at: datetime) -> str:
        return at.astimezone(self.start.tzinfo).strftime("%Y-%m")


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February: a year before is 28 February
        return day.replace(year=day.year - 1, day=28)


def period_of(
    preset: str,
    today: date,
    zone: tzinfo,
    first: date | None = None,
    last: date | None = None,
) -> Period | str:
    """The period a person chose, or why not (``unknown_period``, ``custom_needs_days``,
    ``last_before_first``, ``too_long``, ``out_of_range``). ``today`` is the site's local date.

    * last 12 months: the year up to and including today (from the day after the same date a
      year ago);
    * this year, last year: 1 January to 1 January;
    * custom: from ``first`` to ``last``, both days included."""
    if preset == Preset.LAST_12_MONTHS:
        first, last = _year_before(today) + timedelta(days=1), today
    elif preset == Preset.THIS_YEAR:
        first, last = date(today.year, 1, 1), date(today.year, 12, 31)
    elif preset == Preset.LAST_YEAR:
        first, last = date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    elif preset == Preset.CUSTOM:
        if first is None or last is None:
            return "custom_needs_days"
        if last < first:
            return "last_before_first"
        if (last - first).days + 1 > MAX_DAYS:
            return "too_long"
    else:
        return "unknown_period"
    if first < FIRST_DAY or last > LAST_DAY:
        return "out_of_range"
    return Period(_midnight(first, zone), _midnight(last + timedelta(days=1), zone))


# --- the rows --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """An alarm of the site as stored, with the times of every "I'm coming" it got."""

    alarm_id: str
    level: str  # "assist" or "acute"
    source: str  # "button", "sensor", "desktop", "mobile"
    raised_at: datetime
    test: bool = False
    drill: bool = False
    stage: int = 0  # escalation stages taken
    silent: bool = False  # a phone's alarm from a phone set to make no sound
    coming: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class MeetingRow:
    """A meeting registered with its risk assessment (2.2): how many colleagues were asked to
    stand by, and how many confirmed or declined."""

    meeting_id: str
    start: datetime
    asked: int = 0
    confirmed: int = 0
    declined: int = 0
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class ReportRow:
    """An incident report (2.4), as the statistics see it (anonymised ones too)."""

    report_id: str
    occurred_at: datetime
    kinds: tuple[str, ...]
    from_alarm: bool = False
    seen_by_leader: bool = False
    seen_by_safety_rep: bool = False
    follow_up_needed: bool = False
    followed_up: bool = False


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run of the test log (3.5). ``buttons``: the buttons a test round ticked off as
    tested, (device, input)."""

    run_id: str
    kind: str  # device_selftest, e2e_test_alarm, manual_round
    trigger: str  # schedule, manual, round
    started_at: datetime
    result: str  # open, passed, failed, missed, due
    late: bool = False
    buttons: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class DrillRow:
    """A drill on record (4.1): ``at`` when it was (its press; when recorded if its alarm is
    not stored), ``pressed`` its alarm's ``raised_at`` (None: not stored), its "I'm coming"s,
    when a colleague's screen first showed it and when it was resolved."""

    alarm_id: str
    at: datetime
    pressed: datetime | None = None
    coming: tuple[datetime, ...] = ()
    shown: datetime | None = None
    resolved: datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonRow:
    """Someone of the site now: whether they confirmed the routines they are shown now (3.6),
    and the first day they took part in a drill or a training anywhere (None: never; 4.1)."""

    user: str
    read_current: bool = False
    trained_on: date | None = None


@dataclass(frozen=True, slots=True)
class OverdueRow:
    """An item of the test log's overdue list now: its kind and device ("" for the site)."""

    kind: str
    device: str = ""


# --- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Share:
    """``done`` of ``of``."""

    done: int
    of: int

    @property
    def percent(self) -> int | None:
        """Rounded half up; None when there is nothing to count."""
        if self.of == 0:
            return None
        return (200 * self.done + self.of) // (2 * self.of)


@dataclass(frozen=True, slots=True)
class Times:
    """Seconds from the press to the first "I'm coming", over ``count`` answered alarms."""

    count: int
    median_s: float | None
    p90_s: float | None


def median(values: Iterable[float]) -> float | None:
    """The middle value; for an even count, the mean of the two middle values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    if n % 2:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def nearest_rank(values: Iterable[float], percent: int) -> float | None:
    """The ``percent``-th percentile by nearest rank: the ⌈percent/100·n⌉-th smallest value."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


def times(seconds: Iterable[float]) -> Times:
    found = list(seconds)
    return Times(len(found), median(found), nearest_rank(found, 90))


def to_first_coming(pressed: datetime, coming: Iterable[datetime]) -> float | None:
    """Seconds from the press to the first "I'm coming" (None: nobody came)."""
    first = min(coming, default=None)
    return None if first is None else (first - pressed).total_seconds()


@dataclass(frozen=True, slots=True)
class Meetings:
    """2.2: meetings (by their start) registered with a risk assessment."""

    registered: int
    standby_asked: int  # a colleague was asked to stand by
    standby_answered: int  # ... and at least one answered (confirmed or declined)
    standby_confirmed: int  # ... and at least one confirmed
    cancelled: int


@dataclass(frozen=True, slots=True)
class Reports:
    """2.4: incident reports (by when it happened), seen, followed up."""

    filed: int
    from_alarm: int
    seen_by_leader: Share
    seen_by_safety_rep: Share
    seen_by_both: Share
    follow_up_needed: int
    followed_up: int
    open_follow_ups: int  # follow-up needed, and none recorded
    by_kind: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Alarms:
    """3.2: real alarms (neither test nor drill) by level, answered, escalated."""

    total: int
    assist: int
    acute: int
    response: Times
    unanswered: int
    escalated: int
    by_stage: tuple[tuple[int, int], ...]  # (highest stage taken, alarms)
    drills_left_out: int
    tests_left_out: int
    by_month: tuple[tuple[str, int, int], ...]  # (YYYY-MM, acute, all)


@dataclass(frozen=True, slots=True)
class Mobile:
    """3.3: real alarms from the phone (outside the office)."""

    total: int
    silent: int  # from a phone set to make no sound
    response: Times
    unanswered: int


@dataclass(frozen=True, slots=True)
class Desk:
    """3.4: real silent alarms from the desk (digital and telephone meetings)."""

    total: int
    response: Times
    unanswered: int


@dataclass(frozen=True, slots=True)
class SelfTesting:
    """3.5: the test log (by when a run started) and what is overdue now."""

    selftests_on_time: Share  # device self-tests passed on time, of those due (not open)
    selftests_failed: int  # failed or missed
    e2e_done: int
    e2e_passed: int
    rounds_done: int  # test rounds people walked and closed
    rounds_due: int  # the schedule's monthly slots
    buttons_tested: int  # distinct buttons ticked off in those rounds
    overdue_devices: tuple[str, ...]  # now
    site_test_overdue: bool  # the site's end-to-end test alarm, now
    by_month: tuple[tuple[str, int, int], ...]  # (YYYY-MM, self-tests on time, due)


@dataclass(frozen=True, slots=True)
class Routines:
    """3.6: who of the site has confirmed the routines they are shown now (a state, now)."""

    read: Share


@dataclass(frozen=True, slots=True)
class HeldDrill:
    """A drill of the period with its four times (as the drill log has them): the press, and
    seconds from it to the first screen that showed it, the first "I'm coming" and resolved
    (None: not recorded)."""

    alarm_id: str
    at: datetime
    to_shown_s: float | None
    to_coming_s: float | None
    to_resolved_s: float | None


@dataclass(frozen=True, slots=True)
class Drills:
    """4.1: drills held against the plan, their response times, who is trained."""

    held: int
    planned: int | None  # None: no drill plan covers the site
    response: Times
    unanswered: int
    trained: Share  # people of the site now with a drill or training by the period's end
    log: tuple[HeldDrill, ...] = ()  # the drills held, newest first


@dataclass(frozen=True, slots=True)
class Evidence:
    site: str
    period: Period
    made_at: datetime
    meetings: Meetings
    reports: Reports
    alarms: Alarms
    mobile: Mobile
    desk: Desk
    tests: SelfTesting
    routines: Routines
    drills: Drills


# --- computing -------------------------------------------------------------------------------


def meetings_of(rows: Iterable[MeetingRow], period: Period) -> Meetings:
    found = [m for m in rows if m.start in period]
    asked = [m for m in found if m.asked > 0]
    return Meetings(
        registered=len(found),
        standby_asked=len(asked),
        standby_answered=sum(1 for m in asked if m.confirmed + m.declined > 0),
        standby_confirmed=sum(1 for m in asked if m.confirmed > 0),
        cancelled=sum(1 for m in found if m.cancelled),
    )


def reports_of(rows: Iterable[ReportRow], period: Period) -> Reports:
    found = [r for r in rows if r.occurred_at in period]
    n = len(found)
    kinds = Counter(k for r in found for k in set(r.kinds))
    return Reports(
        filed=n,
        from_alarm=sum(1 for r in found if r.from_alarm),
        seen_by_leader=Share(sum(1 for r in found if r.seen_by_leader), n),
        seen_by_safety_rep=Share(sum(1 for r in found if r.seen_by_safety_rep), n),
        seen_by_both=Share(sum(1 for r in found if r.seen_by_leader and r.seen_by_safety_rep), n),
        follow_up_needed=sum(1 for r in found if r.follow_up_needed),
        followed_up=sum(1 for r in found if r.followed_up),
        open_follow_ups=sum(1 for r in found if r.follow_up_needed and not r.followed_up),
        by_kind=tuple((k.value, kinds[k.value]) for k in Kind),
    )


def _response(alarms: Iterable[AlarmRow]) -> tuple[Times, int]:
    seconds: list[float] = []
    unanswered = 0
    for alarm in alarms:
        took = to_first_coming(alarm.raised_at, alarm.coming)
        if took is None:
            unanswered += 1
        else:
            seconds.append(took)
    return times(seconds), unanswered


def alarms_of(rows: Iterable[AlarmRow], period: Period) -> tuple[Alarms, Mobile, Desk]:
    within = [a for a in rows if a.raised_at in period]
    real = [a for a in within if not a.test and not a.drill]
    response, unanswered = _response(real)
    stages = Counter(a.stage for a in real if a.stage > 0)
    months = {m: [0, 0] for m in period.months()}
    for alarm in real:
        counts = months[period.month_of(alarm.raised_at)]
        counts[0] += alarm.level == "acute"
        counts[1] += 1
    mobile = [a for a in real if a.source == "mobile"]
    mobile_response, mobile_unanswered = _response(mobile)
    desk = [a for a in real if a.source == "desktop"]
    desk_response, desk_unanswered = _response(desk)
    return (
        Alarms(
            total=len(real),
            assist=sum(1 for a in real if a.level == "assist"),
            acute=sum(1 for a in real if a.level == "acute"),
            response=response,
            unanswered=unanswered,
            escalated=sum(stages.values()),
            by_stage=tuple(sorted(stages.items())),
            drills_left_out=sum(1 for a in within if a.drill),
            tests_left_out=sum(1 for a in within if a.test and not a.drill),
            by_month=tuple((m, acute, total) for m, (acute, total) in months.items()),
        ),
        Mobile(len(mobile), sum(1 for a in mobile if a.silent), mobile_response, mobile_unanswered),
        Desk(len(desk), desk_response, desk_unanswered),
    )


_FINISHED_ROUND = ("passed", "failed")


def tests_of(rows: Iterable[RunRow], overdue: Iterable[OverdueRow], period: Period) -> SelfTesting:
    found = [r for r in rows if r.started_at in period and r.result != "open"]
    selftests = [r for r in found if r.kind == "device_selftest"]
    on_time = [r for r in selftests if r.result == "passed" and not r.late]
    e2e = [r for r in found if r.kind == "e2e_test_alarm"]
    rounds = [
        r
        for r in found
        if r.kind == "manual_round" and r.trigger != "schedule" and r.result in _FINISHED_ROUND
    ]
    months = {m: [0, 0] for m in period.months()}
    for run in selftests:
        counts = months[period.month_of(run.started_at)]
        counts[0] += run.result == "passed" and not run.late
        counts[1] += 1
    overdue = tuple(overdue)
    return SelfTesting(
        selftests_on_time=Share(len(on_time), len(selftests)),
        selftests_failed=sum(1 for r in selftests if r.result in ("failed", "missed")),
        e2e_done=len(e2e),
        e2e_passed=sum(1 for r in e2e if r.result == "passed"),
        rounds_done=len(rounds),
        rounds_due=sum(1 for r in found if r.kind == "manual_round" and r.trigger == "schedule"),
        buttons_tested=len(frozenset().union(*(r.buttons for r in rounds))),
        overdue_devices=tuple(sorted({o.device for o in overdue if o.device})),
        site_test_overdue=any(o.kind == "e2e_test_alarm" for o in overdue),
        by_month=tuple((m, ok, due) for m, (ok, due) in months.items()),
    )


def planned(per_year: int | None, period: Period) -> int | None:
    """The plan's drills for the period: ``per_year`` × days / 365, rounded half up."""
    if per_year is None:
        return None
    return (2 * per_year * period.days + YEAR_DAYS) // (2 * YEAR_DAYS)


def drills_of(
    rows: Iterable[DrillRow],
    people: Iterable[PersonRow],
    per_year: int | None,
    period: Period,
) -> Drills:
    held = [d for d in rows if d.at in period]
    seconds: list[float] = []
    unanswered = 0
    for drill in held:
        took = None if drill.pressed is None else to_first_coming(drill.pressed, drill.coming)
        if took is None:
            unanswered += 1
        else:
            seconds.append(took)
    everyone = list(people)
    trained = sum(
        1 for p in everyone if p.trained_on is not None and p.trained_on <= period.last_day
    )
    return Drills(
        held=len(held),
        planned=planned(per_year, period),
        response=times(seconds),
        unanswered=unanswered,
        trained=Share(trained, len(everyone)),
        log=tuple(_held(d) for d in sorted(held, key=lambda d: (d.at, d.alarm_id), reverse=True)),
    )


def _held(drill: DrillRow) -> HeldDrill:
    def after(at: datetime | None) -> float | None:
        if drill.pressed is None or at is None:
            return None
        return (at - drill.pressed).total_seconds()

    return HeldDrill(
        drill.alarm_id,
        drill.at,
        after(drill.shown),
        after(min(drill.coming, default=None)),
        after(drill.resolved),
    )


def evidence(
    site: str,
    period: Period,
    made_at: datetime,
    *,
    alarms: Iterable[AlarmRow] = (),
    meetings: Iterable[MeetingRow] = (),
    reports: Iterable[ReportRow] = (),
    runs: Iterable[RunRow] = (),
    overdue: Iterable[OverdueRow] = (),
    people: Iterable[PersonRow] = (),
    drills: Iterable[DrillRow] = (),
    per_year: int | None = None,
) -> Evidence:
    """The figures of ``site`` for ``period``. The rows are the site's (the store reads them
    by site); which of them fall in the period is decided here. ``overdue`` and ``people``
    are as they stand at ``made_at``."""
    everyone = tuple(people)
    real, mobile, desk = alarms_of(alarms, period)
    return Evidence(
        site=site,
        period=period,
        made_at=made_at,
        meetings=meetings_of(meetings, period),
        reports=reports_of(reports, period),
        alarms=real,
        mobile=mobile,
        desk=desk,
        tests=tests_of(runs, overdue, period),
        routines=Routines(Share(sum(1 for p in everyone if p.read_current), len(everyone))),
        drills=drills_of(drills, everyone, per_year, period),
    )
