"""Who may do what: the actions, the roles each one takes, and the screen socket's messages.

Each route declares the one action it needs, where it is written
(``dependencies=[needs(Action.RUN_TESTS)]``, ``central.auth.routes``); the guard
(``central.auth.guard``) reads it from the route a request matched and lets the request
through only if the person's roles allow it (:data:`RULES`). A route that declares nothing is
refused to everyone (and the endpoint × role test fails), so a new endpoint cannot slip out
unguarded. The screen socket's messages pass the same rules through :data:`SOCKET_COMMANDS`
(``central.service`` asks :func:`socket_refusal` for each one), so a desk can do no more than
its owner's console. Site checks (which sites a person covers) stay with the data, in the
routes.
"""

from __future__ import annotations

from enum import StrEnum

from central.core.model import ALL_SITES, PEOPLE, Person, Role

WS = "WS"  # the "method" of a websocket route


class Action(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not: health, login, static files
    SIGNED_IN = "signed_in"  # any account: home, logout, language
    SCREEN = "screen"  # a desk's socket: get alarms, send receipts (delivered, shown)
    RAISE_ALARM = "raise_alarm"  # the silent alarm from a desk (3.4)
    VIEW_BOARD = "view_board"
    ANSWER_ALARMS = "answer_alarms"
    READ_ALARMS = "read_alarms"
    READ_DEVICES = "read_devices"
    READ_TESTS = "read_tests"
    RUN_TESTS = "run_tests"
    READ_ROUTINES = "read_routines"
    MANAGE_ACCOUNTS = "manage_accounts"
    READ_AUDIT = "read_audit"
    ANNOUNCE = "announce"  # evacuate / lock down / all clear for a site (3.2)
    # Standby for a risky meeting (2.2, central.core.standby): register one's own meetings
    # (and read, end, cancel them); answer a standby request (the core checks it is the
    # colleague asked); read the meetings of one's sites.
    REGISTER_MEETING = "register_meeting"
    ANSWER_STANDBY = "answer_standby"
    READ_MEETINGS = "read_meetings"
    # Drills and training (4.1, 4.2; central.core.drills): a leader runs drills (drill mode
    # for a room, a drill raised from the console, the evaluation) and records trainings; the
    # leader, the safety representative and the admin read the drill log, the plan and the
    # training register. Who has read the routines (1.1, 3.6) is theirs to see too.
    RUN_DRILLS = "run_drills"
    READ_DRILLS = "read_drills"
    READ_ROUTINE_READS = "read_routine_reads"
    # Incident reports (2.4, central.core.reports): every employee files reports and reads
    # their own (the route checks whose); the site's leaders, safety representatives and
    # admins read (and export) the site's; the read log and the retention runs are the safety
    # representative's (and the admin's) to check.
    FILE_REPORT = "file_report"
    READ_REPORTS = "read_reports"
    MARK_REPORT_SEEN = "mark_report_seen"
    FOLLOW_UP_REPORT = "follow_up_report"
    READ_REPORT_LOG = "read_report_log"
    # The evidence for the yearly review (central.core.evidence): per site and period, the
    # figures requirement by requirement, as a page, JSON and a PDF for the safety committee.
    READ_EVIDENCE = "read_evidence"
    READ_METRICS = "read_metrics"  # /metrics: Prometheus scrapes it with a bearer token


# Insight into alarms, devices and tests: the safety representative and the leader must have
# it (STANDARD 2.4); responders see the record of the alarms they answer.
_INSIGHT = frozenset(
    {Role.RESPONDER, Role.FACILITY_MANAGER, Role.SAFETY_REP, Role.LEADER, Role.ADMIN}
)

# PEOPLE: every role of a person, never a machine's (Role.SCRAPER may read /metrics only).
RULES: dict[Action, frozenset[Role]] = {
    Action.SIGNED_IN: PEOPLE,
    Action.SCREEN: PEOPLE,  # every employee may have a desk that gets alarms
    Action.RAISE_ALARM: PEOPLE,  # every employee may raise a silent alarm from a desk (3.4)
    Action.VIEW_BOARD: _INSIGHT,
    Action.ANSWER_ALARMS: frozenset({Role.RESPONDER, Role.LEADER, Role.ADMIN}),
    Action.READ_ALARMS: _INSIGHT,
    Action.READ_DEVICES: _INSIGHT,
    Action.READ_TESTS: _INSIGHT,
    Action.RUN_TESTS: frozenset({Role.FACILITY_MANAGER, Role.ADMIN}),
    Action.READ_ROUTINES: PEOPLE,  # 3.6: measures are available to all staff
    Action.MANAGE_ACCOUNTS: frozenset({Role.ADMIN}),
    # Who did what to accounts and sessions: the admin, and the safety representative who
    # must be able to check it (2.4).
    Action.READ_AUDIT: frozenset({Role.ADMIN, Role.SAFETY_REP}),
    # Telling a whole site to leave or to lock down: those who lead a response on site.
    Action.ANNOUNCE: frozenset({Role.LEADER, Role.FACILITY_MANAGER, Role.RESPONDER, Role.ADMIN}),
    # Every employee registers their own meetings; those who answer alarms stand by; those who
    # lead the response or check the measures (2.4) read the site's meetings.
    Action.REGISTER_MEETING: PEOPLE,
    Action.ANSWER_STANDBY: frozenset({Role.RESPONDER, Role.LEADER, Role.ADMIN}),
    Action.READ_MEETINGS: frozenset({Role.RESPONDER, Role.LEADER, Role.SAFETY_REP, Role.ADMIN}),
    # Drills: the unit's manager runs them (the employer's duty, 4.1); the safety
    # representative watches over training and routines (1.1) and reads, never runs.
    Action.RUN_DRILLS: frozenset({Role.LEADER, Role.ADMIN}),
    Action.READ_DRILLS: frozenset({Role.LEADER, Role.SAFETY_REP, Role.ADMIN}),
    Action.READ_ROUTINE_READS: frozenset({Role.LEADER, Role.SAFETY_REP, Role.ADMIN}),
    # Incident reports: deny by default. Not responders, facility managers or colleagues: a
    # report is for the manager and the safety representative (STANDARD 2.4); the admin of a
    # site reads and exports them for the employer's own system, and is in the read log.
    Action.FILE_REPORT: PEOPLE,
    Action.READ_REPORTS: frozenset({Role.LEADER, Role.SAFETY_REP, Role.ADMIN}),
    Action.MARK_REPORT_SEEN: frozenset({Role.LEADER, Role.SAFETY_REP}),
    Action.FOLLOW_UP_REPORT: frozenset({Role.LEADER}),
    Action.READ_REPORT_LOG: frozenset({Role.SAFETY_REP, Role.ADMIN}),
    # The evidence: the leader accounts for the unit's measures and hands it to the safety
    # committee (the working environment committee, AMU); the safety representative checks it
    # and sits on that committee; the admin of the site too. Not the facility manager or the
    # responders: its 2.4 figures are counts of incident reports, which are for the leader and
    # the safety representative only (at a small office a count can point at a person), and
    # the facility manager has the records of 3.5 on the test log already.
    Action.READ_EVIDENCE: frozenset({Role.LEADER, Role.SAFETY_REP, Role.ADMIN}),
    # The system's health in numbers (central.metrics): those who run it and get its faults,
    # and the scraper's account, whose role may do this and nothing else (its token, kept by
    # Prometheus, cannot announce, run tests or open a desk). The route also asks for an
    # account of every site: the numbers cover every site.
    Action.READ_METRICS: frozenset({Role.FACILITY_MANAGER, Role.ADMIN, Role.SCRAPER}),
}

# The screen socket's messages (their ``type``) → action: the same rules as the console's
# routes, so an employee's desk can neither answer nor clear an alarm.
SOCKET_COMMANDS: dict[str, Action] = {
    "delivered": Action.SCREEN,
    "shown": Action.SCREEN,
    "raise": Action.RAISE_ALARM,
    "coming": Action.ANSWER_ALARMS,
    "cant_come": Action.ANSWER_ALARMS,
    "resolve": Action.ANSWER_ALARMS,
    "announce": Action.ANNOUNCE,  # evacuate / lock down / all clear from the desk's menu
    "standby_answer": Action.ANSWER_STANDBY,  # confirm / decline a meeting's standby request
}
FORBIDDEN = "forbidden"  # the error frame's reason: "forbidden: <type> <alarm id>"


def allowed(person: Person | None, action: Action) -> bool:
    if action is Action.PUBLIC:
        return True
    if person is None:
        return False
    return bool(person.roles & RULES[action])


def may(person: Person | None, action: str) -> bool:
    """For templates: ``may(person, "run_tests")`` decides whether a link or button is shown."""
    return allowed(person, Action(action))


def manages(admin: Person, sites: frozenset[str] | set[str] | list[str]) -> bool:
    """Whether ``admin`` may act on an account (or grant one) of ``sites``: an admin of every
    site may; an admin of some sites only when each of the account's sites is one of theirs
    (an account of every site, "*", is not). The role check is the route's (its action)."""
    if admin.everywhere:
        return True
    return bool(sites) and all(s != ALL_SITES and admin.covers(s) for s in sites)


def socket_refusal(person: Person, kind: str) -> str | None:
    """None if ``person`` may send a socket message of ``kind``; else the refusal's reason.
    A kind with no entry is refused, as a route with no rule is."""
    action = SOCKET_COMMANDS.get(kind)
    if action is None or not allowed(person, action):
        return FORBIDDEN
    return None
