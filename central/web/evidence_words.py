"""The evidence (central.core.evidence) in words, requirement by requirement: what the page and
its PDF show, said once so that the two cannot disagree.

Each requirement of the standard gets its title, what the standard asks in one line, its
figures (a label, the value in words, the raw value the page carries in ``data-value``, a
percentage to draw as a bar, and a link to the records the figure counts), and one line on
how the figures are computed (docs/evidence.md says it in full). The links go to the pages
that list those records, filtered to the site and the period where the page has filters:
the alarm history, the test log; the reports, meetings, drill log, training register and
readers list show the viewer's sites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from central.core.evidence import Evidence, Period, Share, Times
from central.web.chart import SiteChart, on_time_chart

#: The longest run of months a chart shows (a custom period of years shows its last two).
CHART_MONTHS = 24


@dataclass(frozen=True, slots=True)
class Figure:
    """One line: ``label`` and ``text`` (the value in words); ``value`` the raw value (what
    ``data-value`` carries); ``percent`` drawn as a bar; ``href`` the records it counts."""

    key: str
    label: str
    text: str
    value: str
    percent: int | None = None
    href: str = ""


@dataclass(frozen=True, slots=True)
class Requirement:
    number: str
    title: str
    asks: str  # what the standard asks, in one line
    figures: tuple[Figure, ...]
    how: str  # how the figures are computed, in one line
    records: tuple[tuple[str, str], ...] = ()  # (link text, href)
    chart: SiteChart | None = None
    chart_legend: tuple[str, str] = ("", "")
    listing: Listing | None = None  # the records themselves, where they are few (drills)


@dataclass(frozen=True, slots=True)
class Row:
    """A record in a listing: its id, where it opens, its time, and named cells."""

    key: str
    href: str
    first: str
    cells: tuple[tuple[str, str], ...]  # (name, text)


@dataclass(frozen=True, slots=True)
class Listing:
    caption: str
    head: tuple[str, ...]
    rows: tuple[Row, ...]


def _number(value: float, language: str) -> str:
    shown = f"{value:.1f}"
    return shown.replace(".", ",") if language == "nb" else shown


def seconds_text(value: float | None, language: str) -> str:
    return "–" if value is None else f"{_number(value, language)} s"


def share_text(share: Share, _: Callable[[str], str]) -> str:
    if share.percent is None:
        return _("none to count")
    return _("{done} of {of} ({percent} %)").format(
        done=share.done, of=share.of, percent=share.percent
    )


def _raw(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Share):
        return f"{value.done}/{value.of}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _links(site: str, period: Period) -> dict[str, str]:
    """The records behind each figure: the pages that list them, filtered where they can be."""
    days = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}

    def alarms(**more: str) -> str:
        return "/alarms?" + urlencode({"site": site, "kind": "real", **days, **more})

    tests = {
        "site": site,
        "from": period.first_day.isoformat(),
        "to": period.end.date().isoformat(),
    }
    return {
        "meetings": "/meetings",
        "reports": "/reports",
        "alarms": alarms(),
        "acute": alarms(level="acute"),
        "assist": alarms(level="assist"),
        "escalated": alarms(escalated="yes"),
        "drills_left_out": "/alarms?" + urlencode({"site": site, "kind": "drill", **days}),
        "tests_left_out": "/alarms?" + urlencode({"site": site, "tests": "true", **days}),
        "mobile": alarms(source="mobile"),
        "desk": alarms(source="desktop"),
        "selftests": "/tests?" + urlencode({**tests, "kind": "device_selftest"}),
        "e2e": "/tests?" + urlencode({**tests, "kind": "e2e_test_alarm"}),
        "rounds": "/tests?" + urlencode({**tests, "kind": "manual_round"}),
        "overdue": "/tests#overdue-h",
        "readers": "/routines/readers",
        "drills": "/drills",
        "training": "/training",
    }


def _times(
    prefix: str, found: Times, language: str, _: Callable[[str], str], href: str
) -> tuple[Figure, ...]:
    return (
        Figure(
            f"{prefix}.response.median_s",
            _("Time to the first “I'm coming”, median"),
            seconds_text(found.median_s, language),
            _raw(found.median_s),
            href=href,
        ),
        Figure(
            f"{prefix}.response.p90_s",
            _("Time to the first “I'm coming”, 90 % within"),
            seconds_text(found.p90_s, language),
            _raw(found.p90_s),
            href=href,
        ),
        Figure(
            f"{prefix}.response.count",
            _("Answered with “I'm coming”"),
            str(found.count),
            str(found.count),
            href=href,
        ),
    )


def _share(key: str, label: str, found: Share, _: Callable[[str], str], href: str) -> Figure:
    return Figure(key, label, share_text(found, _), _raw(found), found.percent, href)


def _count(key: str, label: str, found: int, href: str = "") -> Figure:
    return Figure(key, label, str(found), str(found), href=href)


Words = Callable[[str], str]


def _meetings(found: Evidence, _: Words, link: dict[str, str]) -> Requirement:
    m, href = found.meetings, link["meetings"]
    return Requirement(
        "2.2",
        _("Risk assessment before meetings: standby"),
        _("A risk assessment before each meeting; colleagues on standby when the risk is raised."),
        (
            _count(
                "meetings.registered",
                _("Meetings registered with a risk assessment"),
                m.registered,
                href,
            ),
            _count(
                "meetings.standby_asked", _("Colleagues asked to stand by"), m.standby_asked, href
            ),
            _count(
                "meetings.standby_answered", _("A colleague answered"), m.standby_answered, href
            ),
            _count(
                "meetings.standby_confirmed",
                _("A colleague confirmed standby"),
                m.standby_confirmed,
                href,
            ),
            _count(
                "meetings.cancelled",
                _("Cancelled (the employee decided not to hold it)"),
                m.cancelled,
                href,
            ),
        ),
        _("Meetings counted by their start; each is counted once, whatever happened to it later."),
        ((_("The meetings"), href),),
    )


def _reports(found: Evidence, _: Words, link: dict[str, str]) -> Requirement:
    r, href = found.reports, link["reports"]
    kinds = {
        "threat": _("Threats"),
        "violence": _("Violence"),
        "harassment": _("Harassment"),
        "damage": _("Damage to property"),
        "other": _("Other"),
    }
    return Requirement(
        "2.4",
        _("Incident reports to the leader and the safety representative"),
        _(
            "Staff report violence and threats; the leader and the safety representative both"
            " get insight."
        ),
        (
            _count("reports.filed", _("Reports filed"), r.filed, href),
            _count("reports.from_alarm", _("Of them after an alarm"), r.from_alarm, href),
            _share("reports.seen_by_leader", _("Seen by the leader"), r.seen_by_leader, _, href),
            _share(
                "reports.seen_by_safety_rep",
                _("Seen by the safety representative"),
                r.seen_by_safety_rep,
                _,
                href,
            ),
            _share("reports.seen_by_both", _("Seen by both"), r.seen_by_both, _, href),
            _count("reports.follow_up_needed", _("Follow-up needed"), r.follow_up_needed, href),
            _count("reports.followed_up", _("Followed up by the leader"), r.followed_up, href),
            _count(
                "reports.open_follow_ups",
                _("Follow-up needed and not recorded yet"),
                r.open_follow_ups,
                href,
            ),
            *(_count(f"reports.kind.{kind}", kinds[kind], n, href) for kind, n in r.by_kind),
        ),
        _(
            "Reports counted by when it happened; a report of several kinds counts once under"
            " each. Anonymised reports are counted too."
        ),
        ((_("The incident reports"), href),),
    )


def _alarms(
    found: Evidence, _: Words, link: dict[str, str], language: str, chart: SiteChart | None
) -> Requirement:
    a, href = found.alarms, link["alarms"]
    stages = ", ".join(_("stage {stage}: {count}").format(stage=s, count=n) for s, n in a.by_stage)
    return Requirement(
        "3.2",
        _("Alarms in the office, by level"),
        _("A system to call for help in the office, for threats and for ongoing violence."),
        (
            _count("alarms.total", _("Real alarms"), a.total, href),
            _count("alarms.acute", _("Acute (ongoing violence)"), a.acute, link["acute"]),
            _count("alarms.assist", _("Assistance"), a.assist, link["assist"]),
            *_times("alarms", a.response, language, _, href),
            _count("alarms.unanswered", _("Nobody answered “I'm coming”"), a.unanswered, href),
            Figure(
                "alarms.escalated",
                _("Escalated (nobody answered in time)"),
                f"{a.escalated} ({stages})" if stages else str(a.escalated),
                str(a.escalated),
                href=link["escalated"],
            ),
            _count(
                "alarms.drills_left_out",
                _("Drills, not counted as alarms"),
                a.drills_left_out,
                link["drills_left_out"],
            ),
            _count(
                "alarms.tests_left_out",
                _("Test alarms, not counted as alarms"),
                a.tests_left_out,
                link["tests_left_out"],
            ),
        ),
        _(
            "Real alarms only: drills and test alarms are left out. Response time: seconds from"
            " the press to the first “I'm coming”; median = the middle value, 90 % = the nearest"
            " rank (the ⌈0.9·n⌉-th fastest)."
        ),
        ((_("The alarm history"), href),),
        chart,
        (_("Acute"), _("All alarms")),
    )


def _mobile(found: Evidence, _: Words, link: dict[str, str], language: str) -> Requirement:
    mob, href = found.mobile, link["mobile"]
    return Requirement(
        "3.3",
        _("The mobile alarm, outside the office"),
        _("A system to call for help on home visits and outside the office."),
        (
            _count("mobile.total", _("Alarms from the phone"), mob.total, href),
            _count(
                "mobile.silent",
                _("Of them from a phone set to make no sound"),
                mob.silent,
                href,
            ),
            *_times("mobile", mob.response, language, _, href),
            _count("mobile.unanswered", _("Nobody answered “I'm coming”"), mob.unanswered, href),
        ),
        _("Real alarms raised from the phone page; they are among the alarms of 3.2 too."),
        ((_("The phone's alarms"), href),),
    )


def _desk(found: Evidence, _: Words, link: dict[str, str], language: str) -> Requirement:
    desk, href = found.desk, link["desk"]
    return Requirement(
        "3.4",
        _("The silent alarm in phone and video meetings"),
        _("A system to call for help in digital and telephone meetings."),
        (
            _count("desk.total", _("Silent alarms from the desk"), desk.total, href),
            *_times("desk", desk.response, language, _, href),
            _count("desk.unanswered", _("Nobody answered “I'm coming”"), desk.unanswered, href),
        ),
        _(
            "Real alarms raised from the desk (hotkey or menu); they are among the alarms of 3.2"
            " too."
        ),
        ((_("The desk's alarms"), href),),
    )


def _tests(found: Evidence, _: Words, link: dict[str, str], chart: SiteChart | None) -> Requirement:
    t = found.tests
    devices = len(t.overdue_devices)
    return Requirement(
        "3.5",
        _("Measures maintained and tested"),
        _("Security measures are maintained, evaluated and tested regularly."),
        (
            _share(
                "tests.selftests_on_time",
                _("Device self-tests passed on time"),
                t.selftests_on_time,
                _,
                link["selftests"],
            ),
            _count(
                "tests.selftests_failed",
                _("Device self-tests failed or missed"),
                t.selftests_failed,
                link["selftests"],
            ),
            _count("tests.e2e_done", _("End-to-end test alarms"), t.e2e_done, link["e2e"]),
            _count(
                "tests.e2e_passed", _("End-to-end test alarms passed"), t.e2e_passed, link["e2e"]
            ),
            _count(
                "tests.rounds_done", _("Manual test rounds done"), t.rounds_done, link["rounds"]
            ),
            _count(
                "tests.rounds_due",
                _("Manual test rounds due by the schedule"),
                t.rounds_due,
                link["rounds"],
            ),
            _count(
                "tests.buttons_tested",
                _("Buttons tested in the rounds"),
                t.buttons_tested,
                link["rounds"],
            ),
            Figure(
                "tests.overdue_devices",
                _("Devices overdue now"),
                f"{devices} ({', '.join(t.overdue_devices)})" if devices else "0",
                _raw(t.overdue_devices),
                href=link["overdue"],
            ),
            Figure(
                "tests.site_test_overdue",
                _("The site's test alarm overdue now"),
                _("yes") if t.site_test_overdue else _("no"),
                _raw(t.site_test_overdue),
                href=link["overdue"],
            ),
        ),
        _(
            "Runs counted by when they started; open runs are left out. On time: passed, and not"
            " run late after downtime. Overdue: the test log's list when this was made."
        ),
        ((_("The test log"), link["selftests"]),),
        chart,
        (_("On time"), _("Due in all")),
    )


def _routines(found: Evidence, _: Words, link: dict[str, str]) -> Requirement:
    return Requirement(
        "3.6",
        _("Routines known to everyone"),
        _("All security measures documented and available to all staff."),
        (
            _share(
                "routines.read",
                _("Staff who confirmed the current routines"),
                found.routines.read,
                _,
                link["readers"],
            ),
        ),
        _(
            "Everyone of the site now; read means they confirmed the version they are shown now"
            " (a changed routine asks again)."
        ),
        ((_("Who has read the routines"), link["readers"]),),
    )


def _drills(found: Evidence, _: Words, link: dict[str, str], language: str) -> Requirement:
    d, href = found.drills, link["drills"]
    held = (
        str(d.held)
        if d.planned is None
        else _("{held} of {planned} planned").format(held=d.held, planned=d.planned)
    )
    return Requirement(
        "4.1",
        _("Training and drills"),
        _("All staff get systematic training and drills, before they hold meetings."),
        (
            Figure("drills.held", _("Drills held"), held, str(d.held), href=href),
            Figure(
                "drills.planned",
                _("Drills planned for the period"),
                "–" if d.planned is None else str(d.planned),
                _raw(d.planned),
                href=href,
            ),
            *_times("drills", d.response, language, _, href),
            _count("drills.unanswered", _("Drills nobody answered"), d.unanswered, href),
            _share(
                "drills.trained",
                _("Staff with a drill or training"),
                d.trained,
                _,
                link["training"],
            ),
        ),
        _(
            "Drills counted by their press. Planned: the drill plan's drills a year × the"
            " period's days / 365, rounded. Trained: everyone of the site now who took part in a"
            " drill or a training (at any office) by the period's last day."
        ),
        ((_("The drill log"), href), (_("The training register"), link["training"])),
        listing=_drill_listing(found, _, language),
    )


def _drill_listing(found: Evidence, _: Words, language: str) -> Listing | None:
    """Each drill of the period with its four times, as the drill log shows them."""
    if not found.drills.log:
        return None
    zone = found.period.start.tzinfo
    return Listing(
        _("The drills of the period: seconds from the press"),
        (_("Pressed"), _("First screen"), _("First “I'm coming”"), _("Resolved")),
        tuple(
            Row(
                d.alarm_id,
                f"/alarms/{d.alarm_id}",
                d.at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
                (
                    ("shown", seconds_text(d.to_shown_s, language)),
                    ("coming", seconds_text(d.to_coming_s, language)),
                    ("resolved", seconds_text(d.to_resolved_s, language)),
                ),
            )
            for d in found.drills.log
        ),
    )


def requirements(
    found: Evidence, gettext: Words, language: str, site_name: str
) -> tuple[Requirement, ...]:
    """The evidence in words, requirement by requirement (the page and the PDF both show it)."""
    link = _links(found.site, found.period)
    a, t = found.alarms, found.tests
    alarm_chart = _chart(found, "alarms", {x: (acute, n) for x, acute, n in a.by_month}, site_name)
    test_chart = _chart(found, "tests", {x: (ok, n) for x, ok, n in t.by_month}, site_name)
    return (
        _meetings(found, gettext, link),
        _reports(found, gettext, link),
        _alarms(found, gettext, link, language, alarm_chart),
        _mobile(found, gettext, link, language),
        _desk(found, gettext, link, language),
        _tests(found, gettext, link, test_chart),
        _routines(found, gettext, link),
        _drills(found, gettext, link, language),
    )


def _chart(
    found: Evidence, which: str, months: dict[str, tuple[int, int]], site_name: str
) -> SiteChart | None:
    if not any(n for _, n in months.values()):
        return None
    [chart] = on_time_chart(
        {found.site: months}, lambda s: s, {found.site: site_name}, CHART_MONTHS
    )
    summary = "; ".join(f"{b.label}: {b.on_time}/{b.due}" for b in chart.bars)
    return replace(chart, site=f"{which}-{found.site}", summary=summary)
