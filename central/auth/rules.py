"""Who may do what: every page, API endpoint and socket of central, and the roles it takes.

This is the one place where permissions live. The guard (``central.auth.guard``) looks up the
route a request matched in :data:`ENDPOINTS` and lets it through only if the person's roles
allow the action; a route with no entry here is refused to everyone (and the endpoint × role
test fails), so a new endpoint cannot slip out unguarded. The screen socket's messages pass
the same table through :data:`SOCKET_COMMANDS` (``central.service`` asks
:func:`socket_refusal` for each one), so a desk can do no more than its owner's console.
Site checks (which sites a person covers) stay with the data, in the routes.
"""

from __future__ import annotations

from enum import StrEnum

from central.core.model import ALL_SITES, Person, Role

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


_EVERYONE = frozenset(Role)
# Insight into alarms, devices and tests: the safety representative and the leader must have
# it (STANDARD 2.4); responders see the record of the alarms they answer.
_INSIGHT = frozenset(
    {Role.RESPONDER, Role.FACILITY_MANAGER, Role.SAFETY_REP, Role.LEADER, Role.ADMIN}
)

RULES: dict[Action, frozenset[Role]] = {
    Action.SIGNED_IN: _EVERYONE,
    Action.SCREEN: _EVERYONE,  # every employee may have a desk that gets alarms
    Action.RAISE_ALARM: _EVERYONE,  # every employee may raise a silent alarm from a desk (3.4)
    Action.VIEW_BOARD: _INSIGHT,
    Action.ANSWER_ALARMS: frozenset({Role.RESPONDER, Role.LEADER, Role.ADMIN}),
    Action.READ_ALARMS: _INSIGHT,
    Action.READ_DEVICES: _INSIGHT,
    Action.READ_TESTS: _INSIGHT,
    Action.RUN_TESTS: frozenset({Role.FACILITY_MANAGER, Role.ADMIN}),
    Action.READ_ROUTINES: _EVERYONE,  # 3.6: measures are available to all staff
    Action.MANAGE_ACCOUNTS: frozenset({Role.ADMIN}),
    # Who did what to accounts and sessions: the admin, and the safety representative who
    # must be able to check it (2.4).
    Action.READ_AUDIT: frozenset({Role.ADMIN, Role.SAFETY_REP}),
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
}
FORBIDDEN = "forbidden"  # the error frame's reason: "forbidden: <type> <alarm id>"

# (method, path template) → action. Paths are the routes' own templates, as FastAPI has them.
ENDPOINTS: dict[tuple[str, str], Action] = {
    # supervision and the JSON API
    ("GET", "/healthz"): Action.PUBLIC,
    ("GET", "/openapi.json"): Action.PUBLIC,
    ("GET", "/api/alarms"): Action.READ_ALARMS,
    ("GET", "/api/devices"): Action.READ_DEVICES,
    ("GET", "/api/coverage"): Action.READ_DEVICES,
    ("GET", "/api/schedules"): Action.READ_TESTS,
    ("POST", "/api/schedules/{schedule_id}/run"): Action.RUN_TESTS,
    ("GET", "/api/tests"): Action.READ_TESTS,
    ("GET", "/api/tests.csv"): Action.READ_TESTS,
    ("GET", "/api/tests.pdf"): Action.READ_TESTS,
    ("GET", "/api/tests/overdue"): Action.READ_TESTS,
    ("GET", "/api/tests/{run_id}"): Action.READ_TESTS,
    ("POST", "/api/test-rounds"): Action.RUN_TESTS,
    ("GET", "/api/test-rounds"): Action.READ_TESTS,
    ("GET", "/api/test-rounds/{round_id}"): Action.READ_TESTS,
    ("POST", "/api/test-rounds/{round_id}/fail"): Action.RUN_TESTS,
    ("POST", "/api/test-rounds/{round_id}/close"): Action.RUN_TESTS,
    (WS, "/ws"): Action.SCREEN,
    # the console's pages
    ("GET", "/static"): Action.PUBLIC,
    ("GET", "/login"): Action.PUBLIC,
    ("POST", "/login"): Action.PUBLIC,
    ("POST", "/language"): Action.PUBLIC,
    ("POST", "/logout"): Action.SIGNED_IN,
    ("GET", "/"): Action.SIGNED_IN,
    ("GET", "/board"): Action.VIEW_BOARD,
    ("GET", "/board/live"): Action.VIEW_BOARD,
    (WS, "/board/feed"): Action.VIEW_BOARD,
    ("POST", "/alarms/{alarm_id}/coming"): Action.ANSWER_ALARMS,
    ("POST", "/alarms/{alarm_id}/resolve"): Action.ANSWER_ALARMS,
    ("GET", "/alarms"): Action.READ_ALARMS,
    ("GET", "/alarms/{alarm_id}"): Action.READ_ALARMS,
    ("GET", "/devices"): Action.READ_DEVICES,
    ("GET", "/tests"): Action.READ_TESTS,
    ("POST", "/tests/rounds"): Action.RUN_TESTS,
    ("POST", "/tests/rounds/{round_id}/close"): Action.RUN_TESTS,
    ("GET", "/routines"): Action.READ_ROUTINES,
    ("GET", "/admin/users"): Action.MANAGE_ACCOUNTS,
    ("POST", "/admin/users"): Action.MANAGE_ACCOUNTS,
    ("POST", "/admin/users/{user_id}/roles"): Action.MANAGE_ACCOUNTS,
    ("POST", "/admin/users/{user_id}/disable"): Action.MANAGE_ACCOUNTS,
    ("GET", "/admin/users/{user_id}/tokens"): Action.MANAGE_ACCOUNTS,
    ("POST", "/admin/tokens/{token_id}/revoke"): Action.MANAGE_ACCOUNTS,
    ("GET", "/audit"): Action.READ_AUDIT,
}


def rule_for(method: str, path: str) -> Action | None:
    """The action of a route (HEAD is read as GET); None: no rule, so nobody may use it."""
    method = "GET" if method == "HEAD" else method
    return ENDPOINTS.get((method, path))


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
    (an account of every site, "*", is not). The role check is the route's, in ENDPOINTS."""
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
