"""Which site an audit row is about (central.audit.sites), as the console's /audit filters a
safety representative's view: each action's site read from where that action has always put
it; a row naming no site is shown only to those who read the whole trail; deny by default."""

from __future__ import annotations

import pytest

from central.audit.chain import Row
from central.audit.sites import sees_whole_trail, shown_to, site_of
from central.core import Person, Role

OSLO, BERGEN = "oslo-sentrum", "bergen"


def row(action: str, target: str = "", detail: str = "", actor: str = "lina") -> Row:
    return Row(1, "2025-03-03T12:00:00+00:00", actor, action, target, detail, "0", "1")


@pytest.mark.parametrize(
    ("found", "site"),
    [
        (row("report_filed", OSLO, actor=""), OSLO),
        (row("report_read", OSLO, "leader"), OSLO),
        (row("report_seen", BERGEN, "safety_rep"), BERGEN),
        (row("report_followed_up", OSLO), OSLO),
        (row("report_asked", "a1", f"site={OSLO}; 1 asked (raiser)", "central"), OSLO),
        (row("report_asked", "a1", f"anne (raiser, site={BERGEN})", "central"), BERGEN),  # old
        (row("report_filed", "6f1c0a4e-9b1d-4d2a-8c3e-5f7a9b1c3d5e", f"site={OSLO}"), None),  # old
        (row("reports_exported", OSLO, "3 reports; site=oslo-sentrum"), OSLO),
        (row("reports_exported", "*", "9 reports"), "*"),
        (row("announced", BERGEN, "lockdown (desk)"), BERGEN),
        (row("round_started", "r1", OSLO), OSLO),
        (row("drill_raised", "a2", f"{OSLO} Møterom 101"), OSLO),
        (row("drill_mode_started", "Møterom 101", f"{BERGEN} 2025-03-03T13:00"), BERGEN),
        (row("socket_refused", BERGEN, "announce"), BERGEN),
        (row("socket_refused", "a3", "resolve"), None),
        (row("login", "lina", "from 10.0.0.7"), None),
        (row("report_not_needed", "a4", actor="anne"), None),
        (row("something_new", OSLO), None),  # an action the table does not know: no site
    ],
)
def test_the_site_a_row_is_about(found: Row, site: str | None) -> None:
    assert site_of(found) == site


def person(roles: set[Role], sites: set[str]) -> Person:
    return Person("p", "P", "", frozenset(sites), frozenset(roles))


def test_a_safety_rep_of_one_site_reads_that_sites_rows_an_admin_every_row() -> None:
    rows = [
        row("report_filed", OSLO, actor=""),
        row("report_filed", BERGEN, actor=""),
        row("login", "bo", "from 10.0.0.9"),
        row("reports_exported", "*", "9 reports"),
    ]
    oslo_rep = person({Role.SAFETY_REP}, {OSLO})
    assert shown_to(oslo_rep, rows) == rows[:1]
    assert shown_to(person({Role.SAFETY_REP}, {BERGEN}), rows) == rows[1:2]
    assert not sees_whole_trail(oslo_rep)
    for whole in (person({Role.ADMIN}, {OSLO}), person({Role.SAFETY_REP}, {"*"})):
        assert sees_whole_trail(whole)
        assert shown_to(whole, rows) == rows
