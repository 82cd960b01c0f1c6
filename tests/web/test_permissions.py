"""Every endpoint × every role (and anonymous), by session cookie and by bearer token.

The endpoints come from the app itself, each with the action its route declares
(``central.auth.routes``), so a new endpoint that declares none fails here (and the guard
refuses it to everyone meanwhile: checked here too).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from central.app import create_app
from central.auth.routes import endpoints, needs
from central.auth.rules import RULES, SOCKET_COMMANDS, WS, Action, allowed, socket_refusal
from central.config import CentralSettings
from central.core import Person, Role
from central.core.model import PEOPLE
from protocol.screen import CommandKind
from tests.central.helpers import alarm_message, mqtt_tester, publish, serve, until
from tests.support import oidc
from tests.support.broker import Broker
from tests.web.console import Console, console, console_settings

FILL = {
    "alarm_id": str(uuid4()),
    "round_id": str(uuid4()),
    "run_id": "x",
    "schedule_id": "x",
    "user_id": "nobody",
    "token_id": "0123456789ab",
    "meeting_id": str(uuid4()),
    "visit_id": str(uuid4()),
    "mode_id": str(uuid4()),
    "report_id": str(uuid4()),
}
BODIES = {
    # Incident reports (central.api.reports): real bodies, so that an allowed role reaches the
    # route (a report is filed; a follow-up of an unknown report is 404).
    "/api/reports": {
        "site": "oslo-sentrum",
        "kinds": ["threat"],
        "place": "office",
        "occurred_at": "2099-01-01T10:00:00Z",
    },
    "/api/reports/{report_id}/follow-up": {"text": "talked"},
    "/api/test-rounds": {"site": "oslo-sentrum"},
    "/api/test-rounds/{round_id}/fail": {"device": "d", "input": "i"},
    # The phone's alarm (central.api.mobile): a real body, so that an allowed role reaches the
    # route (the first raises it, the rest get 409: another user's alarm id).
    "/api/mobile/alarms/{alarm_id}": {"level": "assist", "raised_at": "2025-01-01T10:00:00Z"},
    "/api/mobile/alarms/{alarm_id}/position": {
        "lat": 59.9,
        "lon": 10.7,
        "accuracy_m": 10,
        "at": "2025-01-01T10:00:05Z",
    },
    # The visit timer (central.api.visits): real bodies too (a visit ending in 2099).
    "/api/mobile/visits": {"visit_id": str(uuid4()), "until": "2099-01-01T10:00:00Z"},
    "/api/mobile/visits/{visit_id}/position": {
        "lat": 59.9,
        "lon": 10.7,
        "accuracy_m": 10,
        "at": "2025-01-01T10:00:05Z",
    },
    "/api/mobile/push-subscription": {
        "endpoint": "http://127.0.0.1:9/push",
        "keys": {"p256dh": "x", "auth": "y"},
    },
}


# A bearer token is a machine's credential, never a login (central.auth.guard): it is accepted
# on the API, the screens' socket, /metrics, /healthz and /openapi.json; every other route —
# console pages, the console's socket, /connect*, account and token management — needs a
# session, and refuses a token with 403 whatever the token's owner may do with a session.
TOKEN_ROUTES = frozenset({"/ws", "/metrics", "/healthz", "/openapi.json"})


def _token_accepted(template: str) -> bool:
    return template.startswith("/api/") or template in TOKEN_ROUTES


def _expected(who: str, role: Role | None, template: str, action: Action | None) -> bool:
    """Whether ``who`` (anonymous, session, bearer) of ``role`` may call the route."""
    person = None if role is None else Person("p", "P", "", frozenset({"*"}), frozenset({role}))
    if who == "bearer" and not _token_accepted(template):
        return False
    return action is not None and allowed(person, action)


def _path(template: str) -> str:
    path = re.sub(r"{(\w+)}", lambda m: FILL[m.group(1)], template)
    return "/static/console.css" if path == "/static" else path


def _cases() -> list[tuple[str, str, Action | None]]:
    app = create_app(_plain_settings())
    cases = [(m, e.path, e.action) for e in endpoints(app) for m in sorted(e.methods)]
    # /logout ends the session it is called with: last.
    return sorted(cases, key=lambda c: c[1] == "/logout")


def _plain_settings() -> CentralSettings:
    return CentralSettings.model_validate(
        {
            "mqtt": {"password": "Kq8vN3xZ-only-for-listing"},
            "sites": [{"id": "a", "name": "A"}],
            "registry": {"open": True},
        }
    )


def test_every_endpoint_declares_its_action() -> None:
    cases = _cases()
    missing = [c[:2] for c in cases if c[2] is None]
    assert not missing, f"endpoints that declare no action (needs(Action...)): {missing}"
    assert len(cases) > 40


def test_a_route_without_an_action_has_none() -> None:
    """Nothing declared, or two different actions: no action, so refused to everyone."""
    app = create_app(_plain_settings())

    @app.get("/undeclared")
    async def undeclared() -> None: ...

    @app.get("/twice", dependencies=[needs(Action.PUBLIC), needs(Action.READ_AUDIT)])
    async def twice() -> None: ...

    found = {e.path: e.action for e in endpoints(app)}
    assert found["/undeclared"] is None
    assert found["/twice"] is None
    assert found["/healthz"] is Action.PUBLIC
    assert found["/static"] is Action.PUBLIC


def test_the_phone_endpoints_are_for_every_employee_and_its_login_for_anyone() -> None:
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    assert {k: v for k, v in found.items() if k[0].startswith("/api/mobile/")} == {
        ("/api/mobile/credential", "POST"): Action.PUBLIC,
        ("/api/mobile/alarms/{alarm_id}", "PUT"): Action.RAISE_ALARM,
        ("/api/mobile/alarms/{alarm_id}", "GET"): Action.RAISE_ALARM,
        ("/api/mobile/alarms/{alarm_id}/position", "POST"): Action.RAISE_ALARM,
        ("/api/mobile/push-key", "GET"): Action.RAISE_ALARM,
        ("/api/mobile/push-subscription", "PUT"): Action.RAISE_ALARM,
        ("/api/mobile/visits", "POST"): Action.RAISE_ALARM,
        ("/api/mobile/visits/{visit_id}", "GET"): Action.RAISE_ALARM,
        ("/api/mobile/visits/{visit_id}/checkout", "POST"): Action.RAISE_ALARM,
        ("/api/mobile/visits/{visit_id}/position", "POST"): Action.RAISE_ALARM,
    }
    assert RULES[Action.RAISE_ALARM] == PEOPLE  # every person; not the scraper's account


async def _undeclared() -> dict[str, str]:
    return {"reached": "yes"}


async def _call(console: Console, method: str, template: str, who: str, role: Role | None) -> int:
    """The status a principal gets; 303 to /login counts as 401, a refused socket as 403."""
    path = _path(template)
    cookies, headers = {}, {}
    if who == "session" and role is not None:
        cookies["trygg_session"] = console.sessions[role]
        headers["X-CSRF-Token"] = console.csrf_for(console.sessions[role])
    elif who == "bearer" and role is not None:
        headers["Authorization"] = f"Bearer {console.tokens[role]}"
    if method == WS:
        ws_headers = dict(headers)
        if cookies:
            ws_headers["Cookie"] = f"trygg_session={cookies['trygg_session']}"
        try:
            async with connect(
                console.url.replace("http", "ws") + path,
                additional_headers=ws_headers,
                open_timeout=5,
            ):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code
    async with httpx.AsyncClient(base_url=console.url, cookies=cookies, timeout=10) as client:
        if who == "anonymous" and method == "POST":  # a browser's pre-login CSRF pair
            page = await client.get("/login")
            headers["X-CSRF-Token"] = re.search(r'name="csrf" value="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
        body = BODIES.get(template)
        answer = await client.request(
            method, path, headers=headers, content=json.dumps(body) if body else None
        )
    # The guard sends a browser to log in (and back); a logout goes to the plain login page.
    if answer.status_code == 303 and answer.headers["location"].startswith("/login?next="):
        return 401
    return answer.status_code


async def test_every_endpoint_for_every_role(broker: Broker, tmp_path: Path) -> None:
    wrong: list[str] = []
    checked = 0
    async with console(broker, tmp_path) as c:
        # A route that declares nothing, added to the running app: refused to everyone.
        app = c.running.server.config.loaded_app.app
        app.add_api_route("/undeclared", _undeclared)
        app.state.endpoints = None  # the guard derives its endpoints again
        for method, template, action in [*_cases(), ("GET", "/undeclared", None)]:
            principals: list[tuple[str, Role | None]] = [("anonymous", None)]
            principals += [(who, role) for role in Role for who in ("session", "bearer")]
            for who, role in principals:
                expected = _expected(who, role, template, action)
                status = await _call(c, method, template, who, role)
                checked += 1
                got = status not in (401, 403)
                if got != expected:
                    wrong.append(f"{method} {template} as {who}/{role}: {status}")
                elif not expected and role is not None and status != 403:
                    wrong.append(f"{method} {template} as {who}/{role}: {status}, not 403")
                elif (
                    not expected
                    and role is None
                    and action is not Action.PUBLIC
                    and action is not None
                    and status != (403 if method == WS else 401)
                ):
                    wrong.append(f"{method} {template} anonymous: {status}")
    assert not wrong, "\n".join(wrong)
    assert checked > 400


@pytest.mark.parametrize("role", list(Role))
def test_the_rules_follow_the_standard(role: Role) -> None:
    """Spot checks of what the roles mean (STANDARD 2.4, 3.6)."""
    person = Person("p", "P", "", frozenset({"*"}), frozenset({role}))
    assert allowed(person, Action.READ_ROUTINES) == (role in PEOPLE)  # every employee
    assert allowed(person, Action.MANAGE_ACCOUNTS) == (role is Role.ADMIN)
    assert allowed(person, Action.READ_ALARMS) == (role not in (Role.EMPLOYEE, Role.SCRAPER))
    assert allowed(person, Action.RUN_TESTS) == (role in (Role.FACILITY_MANAGER, Role.ADMIN))


# --- the screen socket: each message kind × each role ------------------------------------


def test_every_socket_message_kind_has_a_rule() -> None:
    kinds = {str(k) for k in CommandKind} | {"raise", "announce", "standby_answer"}
    assert set(SOCKET_COMMANDS) == kinds
    nobody = Person("p", "P", "", frozenset({"*"}), frozenset(Role))
    assert socket_refusal(nobody, "no_such_kind") == "forbidden"


def _frame(kind: str, alarm_id: str) -> str:
    if kind == "raise":
        return json.dumps(
            {
                "type": "raise",
                "alarm_id": alarm_id,
                "level": "assist",
                "site": "oslo-sentrum",
                "room": "Kontor",
                "raised_at": "2025-01-01T10:00:00+00:00",
            }
        )
    if kind == "announce":  # an all clear with nothing announced: forbidden, or done
        return json.dumps({"type": "announce", "site": alarm_id, "kind": "all_clear"})
    if kind == "standby_answer":  # no such meeting: forbidden, or unknown_meeting
        return json.dumps({"type": kind, "meeting_id": alarm_id, "confirm": True})
    return json.dumps({"type": kind, "alarm_id": alarm_id})


async def _refused_over_socket(c: Console, role: Role, kind: str, alarm_id: str) -> bool:
    """Send one message of ``kind`` from a desk of ``role``; then a malformed probe frame.
    Frames to a screen keep their order, so a refusal comes before the probe's error."""
    url = c.url.replace("http", "ws") + "/ws"
    headers = {"Authorization": f"Bearer {c.tokens[role]}"}
    async with connect(url, additional_headers=headers, open_timeout=5) as ws:
        await ws.send(_frame(kind, alarm_id))
        await ws.send("{}")
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame.get("type") != "error":
                continue
            if frame["reason"].startswith("forbidden:"):
                assert frame["reason"] == f"forbidden: {kind} {alarm_id}"
                return True
            return False  # the probe's answer: nothing was refused for the role


async def test_every_socket_message_kind_for_every_role(broker: Broker, tmp_path: Path) -> None:
    """Both ways: allowed kinds pass, refused ones get ``forbidden`` and change nothing."""
    wrong: list[str] = []
    async with console(broker, tmp_path) as c:
        central = c.running.central
        message = alarm_message()
        async with mqtt_tester(broker) as tester:
            await publish(tester, message)
        await until(lambda: central.book.get(message.alarm_id) is not None, what="the alarm")
        alarm = str(message.alarm_id)
        # Refusals first, while the alarm is open; then the roles that may, which resolve it.
        # People's roles: the scraper's account has no desk (its socket is refused, above).
        people = [r for r in Role if r in PEOPLE]
        order = sorted(people, key=lambda r: allowed(_person(r), Action.ANSWER_ALARMS))
        for kind in SOCKET_COMMANDS:
            for role in order:
                target = {"raise": str(uuid4()), "announce": "oslo-sentrum"}.get(kind, alarm)
                expected = socket_refusal(_person(role), kind) is None
                if not expected and kind in ("resolve", "coming"):
                    # Screens see a change once it is stored: let the allowed "can't come"
                    # before this land, so what follows is this refusal's doing alone.
                    await until(
                        lambda: (
                            central.book.get(message.alarm_id).state  # type: ignore[union-attr]
                            in ("received", "raised")
                        ),
                        what="the alarm back to received",
                    )
                refused = await _refused_over_socket(c, role, kind, target)
                if refused == expected:
                    wrong.append(f"{kind} as {role}: {'refused' if refused else 'allowed'}")
                if not expected and kind in ("resolve", "coming"):
                    state = central.book.get(message.alarm_id).state  # type: ignore[union-attr]
                    if state not in ("received", "raised"):
                        wrong.append(f"{kind} refused to {role} yet the alarm is {state}")
        async with c.client(Role.ADMIN) as client:
            page = await client.get("/audit")
        assert "Handling fra skjerm avvist" in page.text  # socket_refused, in words
    assert not wrong, "\n".join(wrong)


def _person(role: Role) -> Person:
    return Person("p", "P", "", frozenset({"*"}), frozenset({role}))


@pytest.mark.parametrize("role", list(Role))
def test_only_those_who_answer_alarms_may_answer_over_the_socket(role: Role) -> None:
    person = _person(role)
    answers = role in (Role.RESPONDER, Role.LEADER, Role.ADMIN)
    for kind in ("coming", "cant_come", "resolve"):
        assert (socket_refusal(person, kind) is None) == answers
    for kind in ("raise", "delivered", "shown"):  # every employee's desk; no machine's
        assert (socket_refusal(person, kind) is None) == (role in PEOPLE)
    assert allowed(person, Action.READ_AUDIT) == (role in (Role.ADMIN, Role.SAFETY_REP))


def test_the_meeting_endpoints_and_who_may_use_them() -> None:
    """Standby for risky meetings (2.2): every employee registers their own; those who answer
    alarms stand by; responders, leaders and the safety representative read the site's."""
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    assert {k: v for k, v in found.items() if "meetings" in k[0]} == {
        ("/api/meetings", "POST"): Action.REGISTER_MEETING,
        ("/api/meetings", "GET"): Action.REGISTER_MEETING,
        ("/api/meetings/site", "GET"): Action.READ_MEETINGS,
        ("/api/meetings/{meeting_id}/answer", "POST"): Action.ANSWER_STANDBY,
        ("/api/meetings/{meeting_id}/end", "POST"): Action.REGISTER_MEETING,
        ("/api/meetings/{meeting_id}/cancel", "POST"): Action.REGISTER_MEETING,
        ("/meetings", "GET"): Action.REGISTER_MEETING,
        ("/meetings", "POST"): Action.REGISTER_MEETING,
        ("/meetings/{meeting_id}/answer", "POST"): Action.ANSWER_STANDBY,
        ("/meetings/{meeting_id}/end", "POST"): Action.REGISTER_MEETING,
        ("/meetings/{meeting_id}/cancel", "POST"): Action.REGISTER_MEETING,
    }
    for role in Role:
        person = _person(role)
        assert allowed(person, Action.REGISTER_MEETING) == (role in PEOPLE)
        stands_by = role in (Role.RESPONDER, Role.LEADER, Role.ADMIN)
        assert allowed(person, Action.ANSWER_STANDBY) == stands_by
        assert (socket_refusal(person, "standby_answer") is None) == stands_by
        reads = role in (Role.RESPONDER, Role.LEADER, Role.SAFETY_REP, Role.ADMIN)
        assert allowed(person, Action.READ_MEETINGS) == reads


def test_metrics_are_for_those_who_run_the_system() -> None:
    """/metrics (central.metrics): its own action, for facility managers, admins and the
    scraper's account (Prometheus); the matrix above checks it live, both ways."""
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    assert found[("/metrics", "GET")] is Action.READ_METRICS
    for role in Role:
        may_read = role in (Role.FACILITY_MANAGER, Role.ADMIN, Role.SCRAPER)
        assert allowed(_person(role), Action.READ_METRICS) == may_read


def test_the_scraper_s_role_reads_metrics_and_does_nothing_else() -> None:
    """A machine's account: its token, kept by Prometheus, can neither announce nor run tests,
    open a desk, raise an alarm or see a console page; every other role is a person's."""
    scraper = _person(Role.SCRAPER)
    assert {a for a in Action if allowed(scraper, a)} == {Action.PUBLIC, Action.READ_METRICS}
    assert frozenset(Role) - {Role.SCRAPER} == PEOPLE
    assert all(socket_refusal(scraper, kind) == "forbidden" for kind in SOCKET_COMMANDS)


def test_the_report_endpoints_and_who_may_use_them() -> None:
    """Incident reports (2.4): every employee files and opens their own (the route checks
    whose: deny by default, tests/web/test_reports.py); the site's leader, safety
    representative and admin read and export the site's; leader and safety representative
    mark seen; the leader follows up; the read log and retention runs are the safety
    representative's and the admin's."""
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    assert {k: v for k, v in found.items() if "reports" in k[0]} == {
        ("/api/reports", "POST"): Action.FILE_REPORT,
        ("/api/reports", "GET"): Action.FILE_REPORT,
        ("/api/reports/asked", "GET"): Action.FILE_REPORT,
        ("/api/reports/asked/{alarm_id}/not-needed", "POST"): Action.FILE_REPORT,
        ("/api/reports/{report_id}", "GET"): Action.FILE_REPORT,
        ("/api/reports/{report_id}/seen", "POST"): Action.MARK_REPORT_SEEN,
        ("/api/reports/{report_id}/follow-up", "POST"): Action.FOLLOW_UP_REPORT,
        ("/api/reports/{report_id}/reads", "GET"): Action.READ_REPORT_LOG,
        ("/api/reports/retention-runs", "GET"): Action.READ_REPORT_LOG,
        ("/api/reports.csv", "GET"): Action.READ_REPORTS,
        ("/api/reports.json", "GET"): Action.READ_REPORTS,
        ("/reports", "GET"): Action.FILE_REPORT,
        ("/reports/new", "GET"): Action.FILE_REPORT,
        ("/reports/new", "POST"): Action.FILE_REPORT,
        ("/reports/retention", "GET"): Action.READ_REPORT_LOG,
        ("/reports/asked/{alarm_id}/not-needed", "POST"): Action.FILE_REPORT,
        ("/reports/{report_id}", "GET"): Action.FILE_REPORT,
        ("/reports/{report_id}/seen", "POST"): Action.MARK_REPORT_SEEN,
        ("/reports/{report_id}/follow-up", "POST"): Action.FOLLOW_UP_REPORT,
    }
    for role in Role:
        person = _person(role)
        assert allowed(person, Action.FILE_REPORT) == (role in PEOPLE)
        reads = role in (Role.LEADER, Role.SAFETY_REP, Role.ADMIN)
        assert allowed(person, Action.READ_REPORTS) == reads
        assert allowed(person, Action.MARK_REPORT_SEEN) == (role in (Role.LEADER, Role.SAFETY_REP))
        assert allowed(person, Action.FOLLOW_UP_REPORT) == (role is Role.LEADER)
        assert allowed(person, Action.READ_REPORT_LOG) == (role in (Role.SAFETY_REP, Role.ADMIN))


def test_the_drill_endpoints_and_who_may_use_them() -> None:
    """Drills and training (4.1, 4.2): the leader runs them; the leader, the safety
    representative and the admin read the log, the plan and the register; every employee
    confirms the routines, and the safety representative sees who has read them (1.1, 3.6)."""
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    drills = {"/drills", "/training", "/routines/read", "/routines/readers"}
    assert {k: v for k, v in found.items() if k[0].startswith("/drills") or k[0] in drills} == {
        ("/drills", "GET"): Action.READ_DRILLS,
        ("/drills/log.csv", "GET"): Action.READ_DRILLS,
        ("/drills/mode", "POST"): Action.RUN_DRILLS,
        ("/drills/mode/{mode_id}/end", "POST"): Action.RUN_DRILLS,
        ("/drills/raise", "POST"): Action.RUN_DRILLS,
        ("/drills/{alarm_id}/evaluation", "POST"): Action.RUN_DRILLS,
        ("/training", "GET"): Action.READ_DRILLS,
        ("/training", "POST"): Action.RUN_DRILLS,
        ("/routines/read", "POST"): Action.READ_ROUTINES,
        ("/routines/readers", "GET"): Action.READ_ROUTINE_READS,
    }
    for role in Role:
        person = _person(role)
        assert allowed(person, Action.RUN_DRILLS) == (role in (Role.LEADER, Role.ADMIN))
        reads = role in (Role.LEADER, Role.SAFETY_REP, Role.ADMIN)
        assert allowed(person, Action.READ_DRILLS) == reads
        assert allowed(person, Action.READ_ROUTINE_READS) == reads


def test_the_evidence_endpoints_and_who_may_use_them() -> None:
    """The evidence for the yearly review (docs/evidence.md): its page, JSON and PDF are for the
    leader, the safety representative and the admin; not the facility manager or responders
    (its 2.4 figures count incident reports). The matrix above checks them live."""
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    assert {k: v for k, v in found.items() if "evidence" in k[0]} == {
        ("/evidence", "GET"): Action.READ_EVIDENCE,
        ("/api/evidence", "GET"): Action.READ_EVIDENCE,
        ("/api/evidence.pdf", "GET"): Action.READ_EVIDENCE,
    }
    for role in Role:
        reads = role in (Role.LEADER, Role.SAFETY_REP, Role.ADMIN)
        assert allowed(_person(role), Action.READ_EVIDENCE) == reads


def test_the_sign_on_and_desk_pairing_endpoints_and_who_may_use_them() -> None:
    """Single sign-on and pairing (docs/sso.md): signing in is for anyone (nobody is signed in
    yet); a desk asks for its pairing and polls without a credential (that is the point);
    connecting a desk — and revoking one's own desk tokens — is for whoever may have a desk."""
    app = create_app(_plain_settings())
    found = {(e.path, m): e.action for e in endpoints(app) for m in e.methods}
    mine = ("/sso/", "/connect", "/api/desk/")
    assert {k: v for k, v in found.items() if k[0].startswith(mine)} == {
        ("/sso/login", "GET"): Action.PUBLIC,
        ("/sso/callback", "GET"): Action.PUBLIC,
        ("/api/desk/pairings", "POST"): Action.PUBLIC,
        ("/api/desk/pairings/token", "POST"): Action.PUBLIC,
        ("/connect", "GET"): Action.SCREEN,
        ("/connect", "POST"): Action.SCREEN,
        ("/connect/approve", "POST"): Action.SCREEN,
        ("/connect/deny", "POST"): Action.SCREEN,
        ("/connect/tokens/{token_id}/revoke", "POST"): Action.SCREEN,
    }
    assert RULES[Action.SCREEN] == PEOPLE


async def _sso_principal(c: Console, idp: oidc.Provider, role: Role) -> None:
    """A person of ``role`` signed in through the provider (their group gives the role, at
    every site), with a desk they paired themselves: their session and their desk token."""
    sub = f"sub-matrix-{role.value}"
    idp.set_user(sub, preferred_username=f"sso-{role.value}", groups=[f"g-{role.value}"])
    async with httpx.AsyncClient(base_url=c.url, timeout=10) as browser:
        signed_in = await oidc.sign_in(browser, c.url, sub, "/")
        assert signed_in.status_code == 303, signed_in.text
        c.sessions[role] = browser.cookies["trygg_session"]
        started = (await browser.post("/api/desk/pairings", json={"label": "matrix"})).json()
        page = await browser.get("/connect")
        csrf = re.search(r'name="csrf" value="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
        approved = await browser.post(
            "/connect/approve", data={"code": started["user_code"], "csrf": csrf}
        )
        assert approved.status_code == 303, approved.text
        token = await browser.post(
            "/api/desk/pairings/token", json={"device_code": started["device_code"]}
        )
        assert token.status_code == 200, token.text
        c.tokens[role] = token.json()["token"]


async def _sso_matrix(c: Console, role: Role) -> list[tuple[str, str, str, int, bool]]:
    """(method, template, principal, status, expected) of every endpoint for ``role``'s SSO
    session (one client, so the matrix stays quick), and of the socket and an API read for
    the desk token they paired (a desk token is a token: the local matrix covers the rest)."""
    found = []
    session = c.sessions[role]
    headers = {"X-CSRF-Token": c.csrf_for(session)}
    cookies = {"trygg_session": session}
    async with httpx.AsyncClient(base_url=c.url, cookies=cookies, timeout=10) as client:
        for method, template, action in _cases():
            expected = action is not None and allowed(_person(role), action)
            if method == WS:
                status = await _call(c, method, template, "session", role)
            else:
                body = BODIES.get(template)
                answer = await client.request(
                    method,
                    _path(template),
                    headers=headers,
                    content=json.dumps(body) if body else None,
                )
                status = answer.status_code
                location = answer.headers.get("location", "")
                if status == 303 and location.startswith("/login?next="):
                    status = 401
            found.append((method, template, f"session/{role}", status, expected))
            if method == WS or template in ("/api/alarms", "/admin/users", "/connect"):
                status = await _call(c, method, template, "bearer", role)
                by_token = _expected("bearer", role, template, action)
                found.append((method, template, f"bearer/{role}", status, by_token))
    return found


async def test_every_endpoint_for_every_role_signed_in_by_sso(
    broker: Broker, tmp_path: Path
) -> None:
    """The matrix for people of the organisation's provider: each role from a group of its own
    (``[[sso.groups]]``), by their SSO session and by the desk token they paired. Their roles
    come from the groups only, and then pass the same rules as everyone's. People's roles: the
    scraper's is a machine's account (``trygg-central user add``), not a person signing in."""
    people = [r for r in Role if r in PEOPLE]
    groups = [{"group": f"g-{r.value}", "roles": [r.value], "sites": ["*"]} for r in people]
    os.environ[oidc.SECRET_ENV] = oidc.CLIENT_SECRET
    try:
        with oidc.provider() as idp:
            sso = {"sso": oidc.sso_section(idp.url, groups=groups)}
            async with serve(console_settings(broker, tmp_path, sso)) as running:
                c = Console(running)
                for role in people:
                    await _sso_principal(c, idp, role)
                checked = [row for role in people for row in await _sso_matrix(c, role)]
                wrong = [
                    f"{method} {template} as sso {who}: {status}"
                    for method, template, who, status, expected in checked
                    if (status not in (401, 403)) != expected
                ]
    finally:
        os.environ.pop(oidc.SECRET_ENV, None)
    assert not wrong, "\n".join(wrong)
    assert len(checked) > 500
