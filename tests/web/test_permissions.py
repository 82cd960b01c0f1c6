"""Every endpoint × every role (and anonymous), by session cookie and by bearer token.

The endpoints come from the app itself, so a new endpoint without a rule in
``central.auth.rules`` fails here (and the guard refuses it to everyone meanwhile).
"""

from __future__ import annotations

import json
import re
from uuid import uuid4

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from central.app import create_app
from central.auth.routes import endpoints
from central.auth.rules import ENDPOINTS, WS, Action, allowed, rule_for
from central.core import Person, Role
from tests.web.console import Console, console

FILL = {
    "alarm_id": str(uuid4()),
    "round_id": str(uuid4()),
    "run_id": "x",
    "schedule_id": "x",
    "user_id": "nobody",
}
BODIES = {
    "/api/test-rounds": {"site": "oslo-sentrum"},
    "/api/test-rounds/{round_id}/fail": {"device": "d", "input": "i"},
}


def _path(template: str) -> str:
    path = re.sub(r"{(\w+)}", lambda m: FILL[m.group(1)], template)
    return "/static/console.css" if path == "/static" else path


def _cases() -> list[tuple[str, str]]:
    app = create_app(_plain_settings())
    cases = [(m, e.path) for e in endpoints(app) for m in sorted(e.methods)]
    # /logout ends the session it is called with: last.
    return sorted(cases, key=lambda c: c[1] == "/logout")


def _plain_settings():  # type: ignore[no-untyped-def]
    from central.config import CentralSettings

    return CentralSettings.model_validate(
        {"mqtt": {"password": "Kq8vN3xZ-only-for-listing"}, "sites": [{"id": "a", "name": "A"}]}
    )


def test_every_endpoint_has_a_rule_and_every_rule_an_endpoint() -> None:
    cases = _cases()
    missing = [c for c in cases if rule_for(*c) is None]
    assert not missing, f"endpoints without a rule in central.auth.rules: {missing}"
    stale = sorted(set(ENDPOINTS) - set(cases))
    assert not stale, f"rules for endpoints that do not exist: {stale}"


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


async def test_every_endpoint_for_every_role(broker, tmp_path) -> None:
    wrong: list[str] = []
    checked = 0
    async with console(broker, tmp_path) as c:
        for method, template in _cases():
            action = rule_for(method, template)
            assert action is not None
            principals: list[tuple[str, Role | None]] = [("anonymous", None)]
            principals += [(who, role) for role in Role for who in ("session", "bearer")]
            for who, role in principals:
                person = (
                    None
                    if role is None
                    else Person("p", "P", "", frozenset({"*"}), frozenset({role}))
                )
                expected = allowed(person, action)
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
                    and status != (403 if method == WS else 401)
                ):
                    wrong.append(f"{method} {template} anonymous: {status}")
    assert not wrong, "\n".join(wrong)
    assert checked > 400


@pytest.mark.parametrize("role", list(Role))
def test_the_rules_follow_the_standard(role: Role) -> None:
    """Spot checks of what the roles mean (STANDARD 2.4, 3.6)."""
    person = Person("p", "P", "", frozenset({"*"}), frozenset({role}))
    assert allowed(person, Action.READ_ROUTINES)  # every employee
    assert allowed(person, Action.MANAGE_ACCOUNTS) == (role is Role.ADMIN)
    assert allowed(person, Action.READ_ALARMS) == (role is not Role.EMPLOYEE)
    assert allowed(person, Action.RUN_TESTS) == (role in (Role.FACILITY_MANAGER, Role.ADMIN))
