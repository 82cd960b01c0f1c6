"""Incident reports' pure rules (central.core.reports): the form's limits, who is asked after an
alarm, who may read, mark and follow up, who gets the e-mail and what it says, and retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from central.core import Person, Role
from central.core.reports import (
    DEFAULT_RETENTION_DAYS,
    FIRST_RETRY,
    MAX_TEXT,
    Ask,
    Draft,
    FollowUp,
    Injuries,
    Kind,
    Place,
    Report,
    Seat,
    Seen,
    Why,
    alarm_refusal,
    anonymised,
    asks_for,
    check,
    closes,
    due_for_retention,
    file,
    follow_up,
    mail_text,
    mark_seen,
    may_read,
    may_read_log,
    meeting_owners,
    recipients,
    retry_after,
)
from central.core.standby import Concern, Meeting
from protocol import AlarmLevel, AlarmSource
from protocol.messages import Responder
from protocol.screen import AlarmState, AlarmView

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
REPORT = UUID("00000000-0000-4000-8000-000000000001")
ALARM = UUID("00000000-0000-4000-8000-0000000000a1")
NEW_ID = UUID("00000000-0000-4000-8000-00000000ffff")
OSLO, BERGEN = "oslo-sentrum", "bergen"


def person(user: str, *roles: Role, sites: tuple[str, ...] = (OSLO,)) -> Person:
    return Person(user, user.title(), "", frozenset(sites), frozenset(roles or {Role.EMPLOYEE}))


ANNE = person("anne")
LINA = person("lina", Role.LEADER)
VERA = person("vera", Role.SAFETY_REP)
BO = person("bo", Role.LEADER, sites=(BERGEN,))
KARI = person("kari", Role.RESPONDER)
ADMIN = person("root", Role.ADMIN)


def draft(**changes: object) -> Draft:
    base = Draft(
        site=OSLO,
        kinds=(Kind.VIOLENCE, Kind.THREAT),
        place=Place.OFFICE,
        occurred_at=NOW - timedelta(minutes=30),
        injuries=Injuries.MINOR,
        police=True,
        follow_up_needed=True,
        text="  Kicked the door, shouted threats.  ",
        room="Møterom 101",
        alarm_id=ALARM,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def filed(**changes: object) -> Report:
    found = file(REPORT, ANNE, draft(**changes), NOW)
    assert isinstance(found, Report)
    return found


def test_a_report_is_filed_whole_its_text_trimmed_and_its_kinds_in_one_order() -> None:
    report = filed()
    assert report.filed_by == "anne"
    assert report.filed_at == NOW
    assert report.kinds == (Kind.THREAT, Kind.VIOLENCE)
    assert report.text == "Kicked the door, shouted threats."
    assert report.from_alarm
    assert report.seen == ()
    assert report.follow_up is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kinds": ()}, "no_kind"),
        ({"kinds": (Kind.THREAT, Kind.THREAT)}, "kind_repeated"),
        ({"text": "x" * (MAX_TEXT + 1)}, "text_too_long"),
        ({"room": "r" * 101}, "room_too_long"),
        ({"occurred_at": NOW + timedelta(hours=1)}, "in_the_future"),
        ({"occurred_at": NOW - timedelta(days=400)}, "too_old"),
        ({"occurred_at": datetime(2025, 3, 3, 11, 0)}, "time_without_zone"),
    ],
)
def test_a_bad_draft_is_refused_with_its_reason(changes: dict[str, object], reason: str) -> None:
    assert check(draft(**changes), NOW) == reason
    assert file(REPORT, ANNE, draft(**changes), NOW) == reason


def test_a_few_minutes_ahead_and_a_full_text_are_fine() -> None:
    assert check(draft(occurred_at=NOW + timedelta(minutes=5), text="x" * MAX_TEXT), NOW) is None


# --- who may see what ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "reads"),
    [
        (ANNE, True),  # filed it
        (LINA, True),  # the site's leader
        (VERA, True),  # the site's safety representative
        (ADMIN, True),  # the site's admin (export, retention)
        (BO, False),  # another site's leader
        (KARI, False),  # a responder of the site: no
        (person("eva"), False),  # another employee of the site: no
        (person("fm", Role.FACILITY_MANAGER), False),
        (person("sr", Role.SAFETY_REP, sites=(BERGEN,)), False),
        (person("all", Role.LEADER, sites=("*",)), True),  # a leader of every site
    ],
)
def test_deny_by_default(who: Person, reads: bool) -> None:
    assert may_read(who, filed()) is reads


def test_an_anonymised_report_is_no_longer_its_filers() -> None:
    gone = anonymised(filed(), NOW, NEW_ID)
    assert not may_read(ANNE, gone)
    assert may_read(LINA, gone)


def test_the_read_log_is_the_safety_representatives_and_the_admins() -> None:
    assert may_read_log(VERA, OSLO)
    assert may_read_log(ADMIN, OSLO)
    assert not may_read_log(LINA, OSLO)
    assert not may_read_log(ANNE, OSLO)
    assert not may_read_log(person("sr", Role.SAFETY_REP, sites=(BERGEN,)), OSLO)


def test_leader_and_safety_rep_each_mark_seen_once_others_may_not() -> None:
    report = filed()
    marks = mark_seen(report, LINA, NOW)
    assert marks == (Seen(Seat.LEADER, "lina", "Lina", NOW),)
    report = replace(report, seen=marks)
    assert mark_seen(report, LINA, NOW) == ()  # already
    both = person("ida", Role.LEADER, Role.SAFETY_REP)
    assert [m.seat for m in mark_seen(report, both, NOW)] == [Seat.LEADER, Seat.SAFETY_REP]  # type: ignore[union-attr]
    assert mark_seen(report, ADMIN, NOW) == "not_leader_or_safety_rep"
    assert mark_seen(report, BO, NOW) == "not_leader_or_safety_rep"
    assert mark_seen(report, ANNE, NOW) == "not_leader_or_safety_rep"
    assert mark_seen(anonymised(report, NOW, NEW_ID), VERA, NOW) == "anonymised"


def test_only_the_sites_leader_records_the_follow_up() -> None:
    report = filed()
    assert follow_up(report, LINA, " Talked with Anne. ", NOW) == FollowUp(
        "Talked with Anne.", "lina", "Lina", NOW
    )
    assert follow_up(report, VERA, "x", NOW) == "not_leader"
    assert follow_up(report, BO, "x", NOW) == "not_leader"
    assert follow_up(report, LINA, "   ", NOW) == "follow_up_empty"
    assert follow_up(report, LINA, "x" * 3000, NOW) == "follow_up_too_long"


# --- asks after an alarm -------------------------------------------------------------------


def alarm(**changes: object) -> AlarmView:
    base = AlarmView(
        alarm_id=ALARM,
        site=OSLO,
        device="rom-101",
        room="Møterom 101",
        level=AlarmLevel.ACUTE,
        source=AlarmSource.BUTTON,
        input="desk",
        raised_at=NOW - timedelta(minutes=10),
        state=AlarmState.RESOLVED,
        resolved_at=NOW,
        responders=(Responder(user="kari", name="Kari", at=NOW),),
    )
    return base.model_copy(update=changes)


def test_the_raiser_is_asked() -> None:
    view = alarm(raised_by="anne", source=AlarmSource.DESKTOP)
    assert asks_for(view, ("someone",)) == (Ask(ALARM, OSLO, "anne", Why.RAISER),)


def test_a_buttons_alarm_asks_whoever_held_a_meeting_there_else_those_who_came() -> None:
    assert asks_for(alarm(), ("anne",)) == (Ask(ALARM, OSLO, "anne", Why.MEETING),)
    assert asks_for(alarm()) == (Ask(ALARM, OSLO, "kari", Why.RESPONDER),)
    assert asks_for(alarm(responders=())) == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"test": True},
        {"drill": True},
        {"state": AlarmState.ACKNOWLEDGED, "resolved_at": None},
        {"merged_into": UUID(int=7)},
    ],
)
def test_tests_drills_unresolved_and_merged_alarms_ask_nobody(changes: dict[str, object]) -> None:
    assert asks_for(alarm(raised_by="anne", **changes)) == ()


def meeting(
    owner: str, room: str | None, start: datetime, end: datetime, **more: object
) -> Meeting:
    return Meeting(
        meeting_id=UUID(int=hash((owner, room, start)) & (2**64 - 1)),
        owner=owner,
        owner_name=owner.title(),
        site=OSLO,
        room=room,
        address="",
        start=start,
        end=end,
        concern=Concern.HIGH,
        note="",
        any_responder=True,
        colleagues=(),
        registered_at=start - timedelta(hours=1),
        **more,  # type: ignore[arg-type]
    )


def test_meeting_owners_are_those_in_the_room_at_the_press() -> None:
    at = NOW - timedelta(minutes=10)
    rooms = frozenset({"Møterom 101"})
    meetings = [
        meeting("anne", "Møterom 101", at - timedelta(minutes=20), at + timedelta(minutes=40)),
        meeting("eva", "Møterom 102", at - timedelta(minutes=20), at + timedelta(minutes=40)),
        meeting("ola", "Møterom 101", at + timedelta(minutes=5), at + timedelta(hours=1)),
        meeting(
            "per",
            "Møterom 101",
            at - timedelta(hours=1),
            at + timedelta(hours=1),
            ended_at=at - timedelta(minutes=1),
        ),
        meeting(
            "siv",
            "Møterom 101",
            at - timedelta(hours=1),
            at + timedelta(hours=1),
            ended_at=at + timedelta(minutes=1),  # ended after the press: still there then
        ),
    ]
    assert meeting_owners(meetings, OSLO, rooms, at) == ("anne", "siv")
    assert meeting_owners(meetings, BERGEN, rooms, at) == ()


def test_filing_closes_ones_own_ask_and_every_responders_ask() -> None:
    report = filed()
    assert closes(Ask(ALARM, OSLO, "anne", Why.RAISER), report)
    assert not closes(Ask(ALARM, OSLO, "eva", Why.MEETING), report)
    assert closes(Ask(ALARM, OSLO, "kari", Why.RESPONDER), report)
    assert not closes(Ask(UUID(int=9), OSLO, "anne", Why.RAISER), report)


# --- e-mail --------------------------------------------------------------------------------


def test_the_mail_goes_to_the_sites_leaders_and_safety_reps_with_an_address() -> None:
    people = [ANNE, LINA, VERA, BO, KARI, ADMIN, person("nomail", Role.LEADER)]
    emails = {p.user_id: f"{p.user_id}@nav.test" for p in people if p.user_id != "nomail"}
    assert recipients(OSLO, people, emails) == (
        ("lina", "lina@nav.test"),
        ("vera", "vera@nav.test"),
    )
    assert recipients(BERGEN, people, emails) == (("bo", "bo@nav.test"),)


def test_the_mail_says_only_where_and_the_link() -> None:
    subject, body = mail_text("NAV Oslo sentrum", "https://trygg.nav.test/reports/x")
    assert "NAV Oslo sentrum" in subject
    assert "https://trygg.nav.test/reports/x" in body
    for word in ("Vold", "vold", "violence", "Kicked", "Anne", "Møterom"):
        assert word not in subject + body


def test_retries_double_up_to_the_cap() -> None:
    cap = timedelta(minutes=1)
    assert [retry_after(n, cap) for n in (1, 2, 3, 4, 5)] == [
        FIRST_RETRY,
        FIRST_RETRY * 2,
        FIRST_RETRY * 4,
        FIRST_RETRY * 8,
        cap,
    ]
    assert retry_after(1000, cap) == cap


# --- retention -----------------------------------------------------------------------------


def test_a_report_is_due_once_older_than_the_setting() -> None:
    report = filed()
    days = 30
    assert not due_for_retention(report, NOW + timedelta(days=days) - timedelta(seconds=1), days)
    assert due_for_retention(report, NOW + timedelta(days=days), days)
    assert not due_for_retention(anonymised(report, NOW, NEW_ID), NOW + timedelta(days=99), days)
    assert DEFAULT_RETENTION_DAYS == 1826


def test_anonymised_keeps_the_statistics_and_nothing_that_names_anyone_or_links_back() -> None:
    """Its id and exact times are what the audit trail, e-mails' links and logs know it by: a
    new id, and days only."""
    at = NOW + timedelta(hours=3, minutes=17, seconds=5)
    report = replace(
        filed(),
        filed_at=NOW + timedelta(minutes=41, seconds=3),
        seen=(Seen(Seat.LEADER, "lina", "Lina", at), Seen(Seat.SAFETY_REP, "vera", "Vera", at)),
        follow_up=FollowUp("Talked with Anne", "lina", "Lina", at),
    )
    later = NOW + timedelta(days=2000, hours=2, minutes=3)
    gone = anonymised(report, later, NEW_ID)
    day = datetime(2025, 3, 3, tzinfo=UTC)
    assert gone.report_id == NEW_ID != report.report_id
    assert (gone.filed_by, gone.filed_by_name, gone.text, gone.room) == ("", "", "", "")
    assert gone.alarm_id is None
    assert gone.from_alarm
    assert gone.occurred_at == day
    assert gone.filed_at == day
    assert [(s.seat, s.user, s.name, s.at) for s in gone.seen] == [
        (Seat.LEADER, "", "", day),
        (Seat.SAFETY_REP, "", "", day),
    ]
    assert gone.follow_up == FollowUp("", "", "", day)
    assert (gone.kinds, gone.place, gone.injuries, gone.police, gone.follow_up_needed) == (
        report.kinds,
        report.place,
        report.injuries,
        report.police,
        report.follow_up_needed,
    )
    assert gone.anonymised_at == datetime(2030, 8, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("site", "alarm_site", "real", "reason"),
    [
        (OSLO, OSLO, True, None),
        (BERGEN, OSLO, True, "alarm_other_site"),
        (OSLO, OSLO, False, "alarm_not_real"),
        (BERGEN, OSLO, False, "alarm_not_real"),
    ],
)
def test_a_report_naming_an_alarm_is_of_its_site_and_of_a_real_alarm(
    site: str, alarm_site: str, real: bool, reason: str | None
) -> None:
    assert alarm_refusal(site, alarm_site, real=real) == reason
