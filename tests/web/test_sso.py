"""Single sign-on end to end: a real OpenID Connect provider (tests/support/oidc.py), central on
a real socket, sign-ins through the provider's own form with httpx, and one in a real browser.

One provider and one central for the module (they start in a few seconds and every test uses
its own people). What is proved: mapped roles reach the board; a person whose groups give no
role is refused with a page that says so, and one removed from a group loses the role at the
next sign-in — and, removed from the last one, their sessions and desk sockets end; a forged
``state``, a lost flow, a token for another audience, with another nonce, from another issuer
or expired are all refused; local accounts keep working beside it and cannot be taken over.
Anonymous junk (finding 7): a replayed flow cookie is refused without central calling the
provider's token endpoint again (counted at the provider), the routes are throttled per
address (an IPv6 client by its /64; other addresses through ``X-Forwarded-For``, which
uvicorn takes from a loopback proxy as from nginx), and refusals that name nobody are
counted in /metrics' registry, never written to the audit trail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect
from sqlite_utils import Database
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from central.audit import log as audit_log
from central.audit.chain import Row
from central.core import Role
from central.store import accounts as rows
from tests.central.helpers import Running, until
from tests.support import oidc
from tests.support.audited import audited as audited_rows
from tests.support.audited import rows_of
from tests.web.browser import ARGS, chromium_path
from tests.web.console import PASSWORD, add_account, log_in
from tests.web.test_console_language import problems_in

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def idp() -> Iterator[oidc.Provider]:
    with oidc.provider() as found:
        yield found


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def central(
    idp: oidc.Provider, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    broker_dir, central_dir = tmp_path_factory.mktemp("broker"), tmp_path_factory.mktemp("central")
    async with oidc.central_with_sso(
        idp, broker_dir, central_dir, {"break-glass": frozenset({Role.ADMIN})}
    ) as running:
        yield running


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=15)


async def audited(running: Running, action: str, match: Callable[[Row], bool]) -> Row:
    return (await audited_rows(running, action, match))[0]


async def closed(socket: ClientConnection) -> bool:
    """True once central closes ``socket`` (frames before that are read and dropped)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    except ConnectionClosed:
        return True


async def test_mapped_roles_reach_the_board(idp: oidc.Provider, central: Running) -> None:
    idp.set_user(
        "sub-kari",
        preferred_username="Kari.Nordmann@nav.example",
        name="Kari Nordmann",
        groups=[oidc.G_OSLO, oidc.G_RESPONDERS, oidc.G_LEADERS, "unmapped-group"],
    )
    async with client() as browser:
        login = await browser.get(f"{central.http}/login")
        assert "Logg inn med organisasjonskonto" in login.text
        assert problems_in(login.text) == []
        answer = await oidc.sign_in(browser, central.http, "sub-kari")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/board"
        board = await browser.get(f"{central.http}/board")
        assert board.status_code == 200
        assert "Kari Nordmann" in board.text
        admin = await browser.get(f"{central.http}/admin/users")
        assert admin.status_code == 403  # a leader is not an administrator
    account = await central.central.read(lambda db: rows.account(db, "kari.nordmann@nav.example"))
    assert account is not None
    assert account.roles == {Role.RESPONDER, Role.LEADER}
    assert account.sites == {"oslo-sentrum"}
    assert account.password_hash == ""  # no password: it cannot log in locally
    row = await audited(central, "sso_login", lambda r: r.actor == account.user_id)
    assert "leader,responder @ oslo-sentrum" in row.detail


async def test_a_person_whose_groups_give_no_role_is_refused_with_a_clear_page(
    idp: oidc.Provider, central: Running
) -> None:
    idp.set_user("sub-nils", preferred_username="nils@nav.example", groups=[oidc.G_OSLO])
    async with client() as browser:
        answer = await oidc.sign_in(browser, central.http, "sub-nils")
        assert answer.status_code == 403
        assert "Innlogging avvist" in answer.text
        assert "ikke med i en gruppe som gir tilgang til Trygg" in answer.text
        assert problems_in(answer.text) == []  # all of it in Norwegian, no raw ids
        assert "trygg_session" not in answer.cookies
        board = await browser.get(f"{central.http}/board")
        assert board.status_code == 303  # still nobody: to the login page
        browser.cookies.set("trygg_lang", "en")
        again = await oidc.sign_in(browser, central.http, "sub-nils")
        assert "is not in a group that gives access to Trygg" in again.text
    await audited(
        central,
        "sso_refused",
        lambda r: r.actor == "nils@nav.example" and r.detail.startswith("no_role"),
    )
    assert await central.central.read(lambda db: rows.account(db, "nils@nav.example")) is None


async def test_a_person_removed_from_a_group_loses_the_role_at_the_next_sign_in(
    idp: oidc.Provider, central: Running
) -> None:
    user = "ola@nav.example"
    idp.set_user(
        "sub-ola", preferred_username=user, groups=[oidc.G_OSLO, oidc.G_RESPONDERS, oidc.G_LEADERS]
    )
    async with client() as first:
        assert (await oidc.sign_in(first, central.http, "sub-ola")).status_code == 303
        old_session = first.cookies["trygg_session"]
    token = "desk-token-of-ola-7e1c9a3f5b2d8e4a"
    now = central.central.clock()

    def keep(db: Database) -> None:
        rows.add_token(db, user, token, "desk", now)

    await central.central.write(keep)
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(central.ws, additional_headers=headers, open_timeout=5) as leaders_desk:
        # Out of the leaders' group: a responder from the next sign-in on; the session opened
        # as a leader has ended, and the desk's socket (opened as a leader) is cut.
        idp.set_user("sub-ola", preferred_username=user, groups=[oidc.G_OSLO, oidc.G_RESPONDERS])
        async with client() as second:
            assert (await oidc.sign_in(second, central.http, "sub-ola")).status_code == 303
        assert await closed(leaders_desk)
    account = await central.central.read(lambda db: rows.account(db, user))
    assert account is not None
    assert account.roles == {Role.RESPONDER}
    async with httpx.AsyncClient(cookies={"trygg_session": old_session}) as stale:
        assert (await stale.get(f"{central.http}/board")).status_code == 303
    changed = await audited(central, "sso_roles_changed", lambda r: r.actor == user)
    assert "leader,responder" in changed.detail
    assert "→ responder" in changed.detail
    # The desk's token still works: it reconnects, now as a responder.
    async with connect(central.ws, additional_headers=headers, open_timeout=5) as desk:
        hub = central.central.hub
        await until(lambda: any(s.person.user_id == user for s in hub.all_screens()))
        [screen] = [s for s in hub.all_screens() if s.person.user_id == user]
        assert screen.person.roles == {Role.RESPONDER}
        # Out of the responders' group too: no role at all. Refused, and the desk's socket
        # and token end with the account's access.
        idp.set_user("sub-ola", preferred_username=user, groups=[oidc.G_OSLO])
        async with client() as third:
            refused = await oidc.sign_in(third, central.http, "sub-ola")
        assert refused.status_code == 403
        assert "Øktene og skjermtilkoblingene dine i Trygg er avsluttet" in refused.text
        assert await closed(desk)
    with pytest.raises(InvalidStatus):
        async with connect(central.ws, additional_headers=headers, open_timeout=5):
            pass
    account = await central.central.read(lambda db: rows.account(db, user))
    assert account is not None
    assert not account.roles
    assert not account.sites
    await audited(central, "sso_access_removed", lambda r: r.actor == user)
    # Back in the groups: back in, with exactly what the groups give now.
    idp.set_user("sub-ola", preferred_username=user, groups=[oidc.G_OSLO, oidc.G_LEADERS])
    async with client() as fourth:
        assert (await oidc.sign_in(fourth, central.http, "sub-ola")).status_code == 303
    account = await central.central.read(lambda db: rows.account(db, user))
    assert account is not None
    assert account.roles == {Role.LEADER}


async def test_a_forged_state_or_a_lost_flow_is_refused(
    idp: oidc.Provider, central: Running
) -> None:
    idp.set_user(
        "sub-per", preferred_username="per@nav.example", groups=[oidc.G_OSLO, oidc.G_ADMINS]
    )
    mismatched, lost = refused(central, "state_mismatch"), refused(central, "flow_lost")
    async with client() as browser:
        callback = await oidc.to_callback(browser, central.http, "sub-per", "/board")
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        forged = parts._replace(query=urlencode({**query, "state": "forged-" + query["state"]}))
        answer = await browser.get(forged.geturl())
        assert answer.status_code == 400
        assert "Innloggingen tok for lang tid" in answer.text
        # The flow's cookie is gone with that answer: the genuine callback is refused too.
        assert (await browser.get(callback)).status_code == 400
    async with client() as other_browser:  # someone else's callback: no cookie of theirs
        callback = await oidc.to_callback(other_browser, central.http, "sub-per", "/board")
    async with client() as victim:
        assert (await victim.get(callback)).status_code == 400
        assert "trygg_session" not in victim.cookies
    # Refusals that name nobody are counted, not audited (see the junk test below).
    assert refused(central, "state_mismatch") == mismatched + 1
    assert refused(central, "flow_lost") == lost + 2
    assert await central.central.read(lambda db: rows.account(db, "per@nav.example")) is None


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "another-application"}, "'aud'"),
        ({"nonce": "not-the-nonce-central-sent"}, "'nonce'"),
        ({"iss": "http://localhost:1"}, "'iss'"),
        ({"exp": int(time.time()) - 3600}, "expired"),
    ],
)
async def test_a_token_that_does_not_validate_is_refused(
    idp: oidc.Provider,
    central: Running,
    claims: dict[str, object],
    why: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sub = f"sub-forged-{why.strip(chr(39))}"
    user = f"forged-{why.strip(chr(39))}@nav.example"
    idp.set_user(sub, preferred_username=user, groups=[oidc.G_OSLO, oidc.G_ADMINS], **claims)
    async with client() as browser:
        answer = await oidc.sign_in(browser, central.http, sub)
        assert answer.status_code == 502
        assert "trygg_session" not in browser.cookies
    # Which claim failed is in central's log; the audit trail keeps why and from where.
    assert any(
        r.name == "central.sso" and "bad_id_token" in r.getMessage() and why in r.getMessage()
        for r in caplog.records
    ), caplog.text
    row = await audited(
        central, "sso_refused", lambda r: r.detail == "bad_id_token; from 127.0.0.1"
    )
    assert row.target == ""
    assert await central.central.read(lambda db: rows.account(db, user)) is None


async def test_local_accounts_keep_working_and_cannot_be_taken_over(
    idp: oidc.Provider, central: Running
) -> None:
    answer = await log_in(central.http, "break-glass", PASSWORD)
    assert answer.status_code == 303
    idp.set_user("sub-mallory", preferred_username="Break-Glass", groups=[oidc.G_ADMINS])
    async with client() as browser:
        refused = await oidc.sign_in(browser, central.http, "sub-mallory")
        assert refused.status_code == 403
        assert "tilhører en lokal Trygg-konto" in refused.text
    account = await central.central.read(lambda db: rows.account(db, "break-glass"))
    assert account is not None
    assert account.password_hash  # untouched
    again = await log_in(central.http, "break-glass", PASSWORD)
    assert again.status_code == 303
    # The audit trail says every SSO outcome in words, to the admin as to the safety rep.
    await audited(central, "sso_refused", lambda r: r.detail.startswith("name_taken"))
    cookies = {"trygg_session": again.cookies["trygg_session"], "trygg_lang": "nb"}
    async with httpx.AsyncClient(cookies=cookies, timeout=15) as admin:
        page = (await admin.get(f"{central.http}/audit")).text
    assert "Innlogging med organisasjonskonto avvist" in page
    assert "brukernavnet tilhører en lokal konto" in page
    assert problems_in(page) == []


async def test_signing_in_through_a_real_browser_reaches_the_board(
    idp: oidc.Provider, central: Running
) -> None:
    idp.set_user(
        "sub-siri",
        preferred_username="siri@nav.example",
        name="Siri Sikker",
        groups=[oidc.G_OSLO, oidc.G_RESPONDERS],
    )
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            page = await chromium.new_page()
            await page.goto(f"{central.http}/board")  # not signed in: to the login page
            await page.get_by_role("link", name="Logg inn med organisasjonskonto").click()
            await page.locator('input[name="sub"]').fill("sub-siri")  # the provider's form
            await page.get_by_role("button", name="Authorize").click()
            await page.wait_for_url(f"{central.http}/board")
            await expect(page.locator("#live")).to_have_attribute("data-connected", "yes")
            await expect(page.locator("header")).to_contain_text("Siri Sikker")
            await expect(page.get_by_role("link", name="Alarmtavle")).to_be_visible()
            await expect(page.get_by_role("link", name="Kontoer")).to_have_count(0)
        finally:
            await chromium.close()
    account = await central.central.read(lambda db: rows.account(db, "siri@nav.example"))
    assert account is not None
    assert account.roles == {Role.RESPONDER}


def _app_state(running: Running) -> object:
    return running.server.config.loaded_app.app.state


async def _desk_refused(running: Running, token: str) -> bool:
    try:
        async with connect(
            running.ws, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5
        ):
            return False
    except InvalidStatus:
        return True


async def test_a_renamed_person_keeps_no_access_under_either_name(
    idp: oidc.Provider, central: Running
) -> None:
    """Attack: the user claim changes (a new UPN), the person signs in under the new name —
    the old account must not keep its session and desk token; then removal from the groups
    must leave nothing under either name, even when the rename and the removal come at once
    (the account is found by its binding, whatever it is called)."""
    old, new, third, fourth = (f"{n}@nav.example" for n in ("tone", "tone.b", "tone.c", "tone.d"))
    groups = [oidc.G_OSLO, oidc.G_RESPONDERS]
    idp.set_user("sub-tone", preferred_username=old, groups=groups)
    async with client() as first:
        assert (await oidc.sign_in(first, central.http, "sub-tone")).status_code == 303
        old_session = first.cookies["trygg_session"]
    token = "desk-token-of-tone-4b8e1c7a9d3f2e6b"
    now = central.central.clock()

    def keep(db: Database) -> None:
        rows.add_token(db, old, token, "desk", now)

    await central.central.write(keep)
    assert not await _desk_refused(central, token)
    idp.set_user("sub-tone", preferred_username=new, groups=groups)
    async with client() as second:
        assert (await oidc.sign_in(second, central.http, "sub-tone")).status_code == 303
        new_session = second.cookies["trygg_session"]
    gone = await central.central.read(lambda db: rows.account(db, old))
    assert gone is not None
    assert not gone.roles
    assert not gone.sites
    assert await _desk_refused(central, token)
    async with httpx.AsyncClient(cookies={"trygg_session": old_session}) as stale:
        assert (await stale.get(f"{central.http}/board")).status_code == 303
    await audited(central, "sso_moved", lambda r: r.target == old and new in r.detail)
    # Nobody else may take the old name: it stays the person's.
    idp.set_user("sub-imposter", preferred_username=old, groups=[oidc.G_OSLO, oidc.G_ADMINS])
    async with client() as imposter:
        assert (await oidc.sign_in(imposter, central.http, "sub-imposter")).status_code == 403
    # Removed from the groups: refused, and the new name's session ends too.
    idp.set_user("sub-tone", preferred_username=new, groups=[oidc.G_OSLO])
    async with client() as third_try:
        assert (await oidc.sign_in(third_try, central.http, "sub-tone")).status_code == 403
    async with httpx.AsyncClient(cookies={"trygg_session": new_session}) as stale:
        assert (await stale.get(f"{central.http}/board")).status_code == 303
    for user in (old, new):
        account = await central.central.read(lambda db, u=user: rows.account(db, u))  # type: ignore[misc]
        assert account is not None
        assert not account.roles
    # Renamed and removed at once: the account under the binding is stripped.
    idp.set_user("sub-tone", preferred_username=third, groups=groups)
    async with client() as back:
        assert (await oidc.sign_in(back, central.http, "sub-tone")).status_code == 303
        third_session = back.cookies["trygg_session"]
    idp.set_user("sub-tone", preferred_username=fourth, groups=[oidc.G_OSLO])
    async with client() as gone_now:
        assert (await oidc.sign_in(gone_now, central.http, "sub-tone")).status_code == 403
    async with httpx.AsyncClient(cookies={"trygg_session": third_session}) as stale:
        assert (await stale.get(f"{central.http}/board")).status_code == 303
    account = await central.central.read(lambda db: rows.account(db, third))
    assert account is not None
    assert not account.roles
    assert await central.central.read(lambda db: rows.account(db, fourth)) is None


async def test_an_account_whose_person_stopped_signing_in_is_stripped(
    idp: oidc.Provider, central: Running
) -> None:
    """Removal at the provider may never reach our callback (Entra's "assignment required"
    stops the person there): after ``max_idle_days`` without a sign-in, the sweep ends the
    account's sessions and desk tokens. The last sign-in is aged in the store, as time would."""
    user = "idle@nav.example"
    idp.set_user("sub-idle", preferred_username=user, groups=[oidc.G_OSLO, oidc.G_RESPONDERS])
    async with client() as browser:
        assert (await oidc.sign_in(browser, central.http, "sub-idle")).status_code == 303
        session = browser.cookies["trygg_session"]
    token = "desk-token-of-idle-9c2e7b4a1f8d3e5c"
    now = central.central.clock()

    def keep(db: Database) -> None:
        rows.add_token(db, user, token, "desk", now)

    await central.central.write(keep)
    sso = _app_state(central).sso  # type: ignore[attr-defined]
    assert user not in await sso.expire_idle()  # signed in just now: kept
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(central.ws, additional_headers=headers, open_timeout=5) as desk:
        days = sso.settings.max_idle_days
        aged = (now - timedelta(days=days, minutes=1)).isoformat()

        def age(db: Database) -> None:
            db.execute("UPDATE sso_identities SET last_at = ? WHERE user_id = ?", [aged, user])

        await central.central.write(age)
        assert user in await sso.expire_idle()
        assert await closed(desk)
    assert await _desk_refused(central, token)
    async with httpx.AsyncClient(cookies={"trygg_session": session}) as stale:
        assert (await stale.get(f"{central.http}/board")).status_code == 303
    await audited(central, "sso_idle_removed", lambda r: r.target == user)
    assert user not in await sso.expire_idle()  # nothing left: no second row
    # Signing in again (the provider still lets them) gives back what the groups give.
    async with client() as again:
        assert (await oidc.sign_in(again, central.http, "sub-idle")).status_code == 303
    account = await central.central.read(lambda db: rows.account(db, user))
    assert account is not None
    assert account.roles == {Role.RESPONDER}


async def test_a_forged_host_does_not_choose_the_redirect_uri(central: Running) -> None:
    async with httpx.AsyncClient(timeout=15) as browser:
        start = await browser.get(f"{central.http}/sso/login", headers={"Host": "evil.example"})
    assert start.status_code == 303
    sent = parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"]
    assert sent == [f"{central.http}/sso/callback"]


async def test_sso_ids_are_compared_with_local_ones_case_folded(
    idp: oidc.Provider, central: Running
) -> None:
    await add_account(central, "Vakt-Admin", frozenset({Role.ADMIN}))
    idp.set_user("sub-vakt", preferred_username="vakt-admin", groups=[oidc.G_ADMINS])
    async with client() as browser:
        refused = await oidc.sign_in(browser, central.http, "sub-vakt")
    assert refused.status_code == 403
    assert "tilhører en lokal Trygg-konto" in refused.text
    assert await central.central.read(lambda db: rows.account(db, "vakt-admin")) is None


def refused(running: Running, reason: str) -> float:
    """Central's own count of anonymous sign-on refusals (its /metrics registry)."""
    registry = _app_state(running).metrics.registry  # type: ignore[attr-defined]
    value = registry.get_sample_value("trygg_sso_flows_refused_total", {"reason": reason})
    assert value is not None, f"no trygg_sso_flows_refused_total{{reason={reason!r}}}"
    return float(value)


async def test_a_replayed_flow_cookie_is_refused_without_calling_the_provider(
    idp: oidc.Provider, central: Running
) -> None:
    """Attack: someone holds a flow cookie and its ``state`` (their own, from /sso/login) and
    replays it for the cookie's ten minutes, each time with a code of their choosing, to make
    central present its client secret at the provider over and over. The first use counts; a
    replay is refused before central sends anything to the token endpoint."""
    idp.set_user("sub-rita", preferred_username="rita@nav.example", groups=[oidc.G_OSLO])
    used = refused(central, "flow_used")
    async with client() as browser:
        callback = await oidc.to_callback(browser, central.http, "sub-rita", "/board")
        cookie = browser.cookies["trygg_sso"]
        before = idp.token_requests()
        first = await browser.get(callback)
        assert first.status_code == 403  # no role: the flow was used, with one token request
    assert idp.token_requests() == before + 1
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    other_code = parts._replace(query=urlencode({**query, "code": "chosen-by-the-attacker"}))
    async with httpx.AsyncClient(cookies={"trygg_sso": cookie}, timeout=15) as replayer:
        for url in (callback, other_code.geturl(), callback):
            again = await replayer.get(url)
            assert again.status_code == 400, again.text
            assert "Innloggingen tok for lang tid" in again.text
            assert "trygg_session" not in again.cookies
    assert idp.token_requests() == before + 1  # not one more call with the client secret
    assert refused(central, "flow_used") == used + 3


async def test_anonymous_junk_is_throttled_per_address_and_writes_no_audit_rows(
    idp: oidc.Provider, central: Running
) -> None:
    """Callbacks without a flow, from addresses of one IPv6 /64 (each a different address,
    as a host may use any of its /64): refused, counted, never audited; after
    ``requests_per_address`` of them the /64 waits (429) at both routes, while another /64
    and loopback go on. A refusal about a real person still gets its audit row."""
    sso = central.central.settings.sso
    assert sso is not None
    limit = sso.requests_per_address
    last = await central.central.read(lambda db: audit_log.latest(db, 1))
    seq_before = last[0].seq if last else 0
    lost, held = refused(central, "flow_lost"), refused(central, "throttled")

    def at(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": address}  # uvicorn trusts it from loopback only

    async with client() as anonymous:
        junk = f"{central.http}/sso/callback?state=junk&code=junk"
        for i in range(limit):
            answer = await anonymous.get(junk, headers=at(f"2001:db8:5:6::{i + 1:x}"))
            assert answer.status_code == 400, (i, answer.status_code)
        for url in (junk, f"{central.http}/sso/login"):
            waits = await anonymous.get(url, headers=at("2001:db8:5:6:ffff:1:2:3"))
            assert waits.status_code == 429, waits.text
            assert int(waits.headers["retry-after"]) >= 1
            assert "For mange forsøk" in waits.text
            assert problems_in(waits.text) == []
        elsewhere = await anonymous.get(f"{central.http}/sso/login", headers=at("2001:db8:5:7::1"))
        assert elsewhere.status_code == 303  # another /64 is not held back
        assert (await anonymous.get(f"{central.http}/sso/login")).status_code == 303
    assert refused(central, "flow_lost") == lost + limit
    assert refused(central, "throttled") == held + 2
    # A barrier: a refusal about a real person is audited; after it, nothing else is new.
    idp.set_user("sub-marker", preferred_username="marker@nav.example", groups=[oidc.G_OSLO])
    async with client() as browser:
        assert (await oidc.sign_in(browser, central.http, "sub-marker")).status_code == 403
    await audited(central, "sso_refused", lambda r: r.actor == "marker@nav.example")
    new = await central.central.read(lambda db: audit_log.latest(db, limit + 50))
    fresh = [(r.actor, r.action) for r in new if r.seq > seq_before]
    assert fresh == [("marker@nav.example", "sso_refused")]
    anonymous_rows = [
        r
        for r in await rows_of(central, "sso_refused")
        if r.detail.startswith(("flow_lost", "state_mismatch", "flow_used", "throttled"))
    ]
    assert anonymous_rows == []
