"""A desk gets its credential without anyone copying a token (RFC 8628 done by central): the
real ``trygg-desk connect`` process, the console's ``/connect`` page, and the token it gets
opening a real desk's socket; then expiry, single use, refusal, pace and guessing.

One central (in this process, on a real socket, so a test can age a pairing in its store the
way the clock would) and one OIDC provider for the module. Approvers are a local account and
a person signed in by single sign-on: both may connect their own desk.
"""

from __future__ import annotations

import asyncio
import re
import stat
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlite_utils import Database
from websockets.asyncio.client import connect

from central.core import Role
from central.core.pairing import normalize
from central.store import accounts as rows
from central.store.accounts import digest
from desktop.pairing import pair
from protocol.pairing import PAIRINGS_PATH, TOKEN_PATH
from protocol.screen import Hello, decode_server_frame
from tests.central.helpers import Running, until
from tests.support import oidc
from tests.support.audited import audited
from tests.support.stack import script
from tests.web.console import csrf_in, log_in
from tests.web.test_console_language import problems_in

pytestmark = pytest.mark.asyncio(loop_scope="module")
CODE = re.compile(r"^\s+([B-Z]{4}-[B-Z]{4})\s*$")


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
        idp,
        broker_dir,
        central_dir,
        {
            "kari": frozenset({Role.RESPONDER}),
            "guesser": frozenset({Role.RESPONDER}),
            "anna": frozenset({Role.ADMIN}),
        },
    ) as running:
        yield running


async def console_of(running: Running, user: str) -> httpx.AsyncClient:
    answer = await log_in(running.http, user)
    assert answer.status_code == 303, answer.text
    cookies = {"trygg_session": answer.cookies["trygg_session"]}
    return httpx.AsyncClient(base_url=running.http, cookies=cookies, timeout=15)


async def submit(console: httpx.AsyncClient, path: str, code: str) -> httpx.Response:
    page = await console.get("/connect")
    return await console.post(path, data={"code": code, "csrf": csrf_in(page.text)})


async def begin(running: Running, label: str = "test-pc") -> dict[str, object]:
    async with httpx.AsyncClient(timeout=10) as desk:
        answer = await desk.post(running.http + PAIRINGS_PATH, json={"label": label})
    assert answer.status_code == 201, answer.text
    started: dict[str, object] = answer.json()
    return started


async def poll(running: Running, device_code: object) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as desk:
        return await desk.post(running.http + TOKEN_PATH, json={"device_code": device_code})


async def hello_of(running: Running, token: str) -> Hello:
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(running.ws, additional_headers=headers, open_timeout=5) as ws:
        while True:
            frame = decode_server_frame(await asyncio.wait_for(ws.recv(), 10))
            if isinstance(frame, Hello):
                return frame


async def test_a_real_connect_process_pairs_and_its_credential_opens_a_desk(
    central: Running, tmp_path: Path
) -> None:
    credential, config = tmp_path / "cred" / "desk-credential", tmp_path / "desk.toml"
    connecting = await asyncio.create_subprocess_exec(
        script("trygg-desk"), "--config", str(config), "connect", central.http,
        "--credential", str(credential), "--label", "kari-pc", "--language", "en",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert connecting.stdout is not None
    printed: list[str] = []
    while not any(CODE.match(line) for line in printed):
        line = await asyncio.wait_for(connecting.stdout.readline(), 15)
        assert line, f"connect ended without a code: {printed}"
        printed.append(line.decode())
    code = next(m.group(1) for m in map(CODE.match, printed) if m)
    assert f"Open {central.http}/connect in your browser" in printed[0]
    async with await console_of(central, "kari") as kari:
        shown = await submit(kari, "/connect", code.lower().replace("-", " "))
        assert shown.status_code == 200
        assert "kari-pc" in shown.text
        assert "127.0.0.1" in shown.text
        assert "Godkjenn skjermen" in shown.text
        assert problems_in(shown.text) == []  # all of it in Norwegian, no raw ids
        approved = await submit(kari, "/connect/approve", code)
        assert approved.status_code == 303
        out, err = await asyncio.wait_for(connecting.communicate(), 30)
        assert connecting.returncode == 0, (out, err)
        assert "Connected as kari" in out.decode()
        assert stat.S_IMODE(credential.stat().st_mode) == 0o600
        assert stat.S_IMODE(credential.parent.stat().st_mode) == 0o700
        token = credential.read_text().strip()
        text = config.read_text()
        assert token not in text
        assert f'credential_file = "{credential}"' in text
        assert f'server = "{central.ws}"' in text
        # The real desk, with the config connect wrote, opens its socket as kari.
        desk = await asyncio.create_subprocess_exec(
            script("trygg-desk"), "--config", str(config), "--headless",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            hub = central.central.hub
            await until(
                lambda: [s.person.user_id for s in hub.all_screens()] == ["kari"],
                within=20,
                what="the paired desk's socket",
            )
            page = await kari.get("/connect")
            [token_id] = re.findall(r"<code>([0-9a-f]{12})</code>", page.text)
            assert "desk: kari-pc" in page.text
            assert problems_in(page.text) == []
            assert token_id == rows.token_id_of(token)
            revoked = await kari.post(
                f"/connect/tokens/{token_id}/revoke", data={"csrf": csrf_in(page.text)}
            )
            assert revoked.status_code == 303
            await until(lambda: len(hub) == 0, what="the revoked desk's socket to close")
        finally:
            desk.terminate()
            await asyncio.wait_for(desk.wait(), 10)
    for action in ("desk_paired", "token_issued", "token_revoked"):
        await audited(central, action, lambda r: r.actor == "kari")


async def test_a_person_signed_in_by_sso_connects_their_desk(
    idp: oidc.Provider, central: Running
) -> None:
    idp.set_user(
        "sub-eva", preferred_username="eva@nav.example", groups=[oidc.G_OSLO, oidc.G_RESPONDERS]
    )
    async with httpx.AsyncClient(timeout=15) as browser:
        assert (await oidc.sign_in(browser, central.http, "sub-eva", "/connect")).status_code == 303
        shown: list[str] = []

        async def approve() -> None:
            await until(lambda: bool(shown), what="the desk's code")
            page = await browser.get(f"{central.http}/connect")
            data = {"code": shown[0], "csrf": csrf_in(page.text)}
            answer = await browser.post(f"{central.http}/connect/approve", data=data)
            assert answer.status_code == 303, answer.text

        async with httpx.AsyncClient(timeout=10) as desk:
            got, _ = await asyncio.gather(
                pair(desk, central.http, "eva-laptop", lambda _u, code, _m: shown.append(code)),
                approve(),
            )
    assert got.user == "eva@nav.example"
    hello = await hello_of(central, got.token)
    assert hello.user == "eva@nav.example"


async def test_codes_expire_are_used_once_and_bad_input_changes_nothing(
    central: Running,
) -> None:
    tokens_before = await central.central.read(lambda db: rows.tokens(db))
    async with await console_of(central, "kari") as kari:
        for typed in ("BCDF-GHJK", "hello", "A" * 40):
            wrong = await submit(kari, "/connect", typed)
            assert wrong.status_code == 400
            assert "Ingen skjerm venter med den koden" in wrong.text
        # Expired: the pairing aged past its ten minutes (as the clock would do it).
        old = await begin(central)
        aged = (central.central.clock() - timedelta(minutes=11)).isoformat()
        key = digest(str(normalize(str(old["user_code"]))))

        def age(db: Database) -> None:
            db.execute("UPDATE desk_pairings SET expires_at = ? WHERE code_hash = ?", [aged, key])

        await central.central.write(age)
        late = await submit(kari, "/connect/approve", str(old["user_code"]))
        assert late.status_code == 410
        assert "Koden er utløpt" in late.text
        assert (await poll(central, old["device_code"])).json()["error"] == "expired_token"
        # Used once: approved, collected, then nothing more for the code or the device.
        fresh = await begin(central)
        assert (await poll(central, fresh["device_code"])).json()["error"] == (
            "authorization_pending"
        )
        assert (await poll(central, fresh["device_code"])).json()["error"] == "slow_down"
        assert (await submit(kari, "/connect/approve", str(fresh["user_code"]))).status_code == 303
        first = await poll(central, fresh["device_code"])
        for _ in range(100):  # bounded: polls within the interval are told to slow down
            if first.status_code != 400 or first.json()["error"] != "slow_down":
                break
            await asyncio.sleep(0.25)
            first = await poll(central, fresh["device_code"])
        assert first.status_code == 200
        assert first.json()["user"] == "kari"
        again = await poll(central, fresh["device_code"])
        assert again.status_code == 400
        assert again.json()["error"] == "expired_token"
        reused = await submit(kari, "/connect/approve", str(fresh["user_code"]))
        assert reused.status_code == 409
        assert "Koden er allerede brukt" in reused.text
        # Refused at the console: the desk hears so and gets nothing.
        refused = await begin(central)
        assert (await submit(kari, "/connect/deny", str(refused["user_code"]))).status_code == 303
        assert (await poll(central, refused["device_code"])).json()["error"] == "access_denied"
    # Garbage at the desk's endpoints: refused, nothing made.
    async with httpx.AsyncClient(timeout=10) as desk:
        for body in ({"device_code": "x" * 101}, {"device_code": 7}, {}):
            assert (await desk.post(central.http + TOKEN_PATH, json=body)).status_code == 422
        assert (
            await desk.post(central.http + PAIRINGS_PATH, json={"label": "x" * 61})
        ).status_code == 422
    tokens_after = await central.central.read(lambda db: rows.tokens(db))
    assert len(tokens_after) == len(tokens_before) + 1  # only the one collected


async def test_guessing_codes_is_held_back(central: Running) -> None:
    started = await begin(central)
    async with await console_of(central, "guesser") as guesser:
        for _ in range(10):
            assert (await submit(guesser, "/connect", "BCDF-BCDF")).status_code == 400
        held = await submit(guesser, "/connect", str(started["user_code"]))
        assert held.status_code == 429
        assert "For mange forsøk" in held.text
    # The held-back look-up changed nothing: the pairing still waits for its person.
    assert (await poll(central, started["device_code"])).json()["error"] == "authorization_pending"
    await audited(central, "pairing_code_wrong", lambda r: r.actor == "guesser", count=10)


async def paired_token(running: Running, user: str, label: str) -> str:
    """A desk token ``user`` approved at the console, collected as a desk collects it."""
    started = await begin(running, label)
    async with await console_of(running, user) as console:
        approved = await submit(console, "/connect/approve", str(started["user_code"]))
        assert approved.status_code == 303, approved.text
    for _ in range(100):  # bounded: within the interval the desk is told to slow down
        answer = await poll(running, started["device_code"])
        if answer.status_code == 200:
            return str(answer.json()["token"])
        assert answer.json()["error"] in ("slow_down", "authorization_pending"), answer.text
        await asyncio.sleep(0.25)
    raise AssertionError("the approved pairing never gave its token")


async def test_an_admins_desk_token_is_no_login(central: Running) -> None:
    """Attack: the desk token of an admin, copied off their PC, tried as their console.
    It opens the desk's socket and the API, and nothing else: not the accounts page, not
    the audit trail, and it cannot approve a pairing (mint another token) — with or without
    a CSRF token, which a token-holder has none of anyway."""
    token = await paired_token(central, "anna", "anna-pc")
    assert (await hello_of(central, token)).user == "anna"
    victim = await begin(central, "attacker-pc")
    bearer = {"Authorization": f"Bearer {token}"}
    tokens_before = await central.central.read(lambda db: rows.tokens(db))
    async with httpx.AsyncClient(base_url=central.http, headers=bearer, timeout=10) as stolen:
        assert (await stolen.get("/api/alarms")).status_code == 200
        for page in ("/admin/users", "/audit", "/connect", "/"):
            answer = await stolen.get(page)
            assert answer.status_code == 403, (page, answer.status_code)
        approve = await stolen.post("/connect/approve", data={"code": victim["user_code"]})
        assert approve.status_code == 403
        made = await stolen.post(
            "/admin/users", data={"user_id": "mallory", "name": "M", "roles": "admin"}
        )
        assert made.status_code == 403
        revoke = await stolen.post(f"/admin/tokens/{rows.token_id_of(token)}/revoke")
        assert revoke.status_code == 403
    # Nothing was approved, made or revoked: the desk still waits, no token was added.
    assert (await poll(central, victim["device_code"])).json()["error"] in (
        "authorization_pending",
        "slow_down",
    )
    assert await central.central.read(lambda db: rows.tokens(db)) == tokens_before
    assert await central.central.read(lambda db: rows.account(db, "mallory")) is None


def at(address: str) -> dict[str, str]:
    """A request as a loopback proxy forwards it from ``address`` (uvicorn trusts
    ``X-Forwarded-For`` from loopback only, as from nginx on the same host)."""
    return {"X-Forwarded-For": address}


async def test_a_desk_that_asked_from_elsewhere_needs_an_extra_confirmation(
    central: Running,
) -> None:
    """Attack (RFC 8628 §5.4): a stranger's desk, elsewhere, and its code given to a person
    to type. The page shows the roles and sites the token will carry and warns that the desk
    asked from another address; approving needs the extra tick, and without it nothing
    changes."""
    async with httpx.AsyncClient(timeout=10) as desk:
        answer = await desk.post(
            central.http + PAIRINGS_PATH, json={"label": "far-pc"}, headers=at("10.9.8.7")
        )
    assert answer.status_code == 201, answer.text
    started = answer.json()
    assert "?code=" not in started["verification_uri_complete"]
    async with await console_of(central, "kari") as kari:
        shown = await submit(kari, "/connect", started["user_code"])
        assert shown.status_code == 200
        assert re.search(r'id="pairing-roles">Innsatsperson<', shown.text), shown.text
        assert 'id="elsewhere"' in shown.text
        assert "10.9.8.7" in shown.text
        assert 'name="confirm_elsewhere"' in shown.text
        assert problems_in(shown.text) == []
        unticked = await submit(kari, "/connect/approve", started["user_code"])
        assert unticked.status_code == 400
        assert "Kryss av for å bekrefte" in unticked.text
        assert 'name="confirm_elsewhere"' in unticked.text  # shown again, to tick or refuse
        assert (await poll(central, started["device_code"])).json()["error"] == (
            "authorization_pending"
        )
        page = await kari.get("/connect")
        ticked = await kari.post(
            "/connect/approve",
            data={
                "code": started["user_code"],
                "csrf": csrf_in(page.text),
                "confirm_elsewhere": "yes",
            },
        )
        assert ticked.status_code == 303, ticked.text
        # A desk at the approver's own address (here loopback) needs no tick.
        near = await begin(central, "near-pc")
        looked = await submit(kari, "/connect", str(near["user_code"]))
        assert 'id="elsewhere"' not in looked.text
        assert 'name="confirm_elsewhere"' not in looked.text
    await audited(
        central,
        "desk_paired",
        lambda r: "far-pc (10.9.8.7)" in r.detail and "approved from 127.0.0.1" in r.detail,
    )


async def test_the_connect_page_takes_no_code_from_its_url(central: Running) -> None:
    started = await begin(central, "link-pc")
    async with await console_of(central, "kari") as kari:
        page = await kari.get("/connect", params={"code": str(started["user_code"])})
    assert page.status_code == 200
    [field] = re.findall(r'<input id="code"[^>]*>', page.text)
    assert 'value=""' in field  # empty: the code is typed from the desk's screen
    assert 'id="pairing"' not in page.text


async def test_polls_are_limited_per_address_and_unknown_codes_write_nothing(
    central: Running,
) -> None:
    """Polls with device codes nobody was given, from addresses of one IPv6 /64: answered
    ``expired_token`` from a read (the store's writer, which alarms share, is not used for
    them), and after ``pairing_polls_per_address`` the /64 is told to slow down (429) while
    another /64 is answered as before."""
    limit = central.central.settings.web.pairing_polls_per_address
    store = central.central.store
    before = store.transactions
    async with httpx.AsyncClient(timeout=10) as desk:
        for i in range(limit):
            answer = await desk.post(
                central.http + TOKEN_PATH,
                json={"device_code": f"guess-{i}"},
                headers=at(f"2001:db8:9:9::{i + 1:x}"),
            )
            assert answer.status_code == 400, (i, answer.text)
            assert answer.json()["error"] == "expired_token"
        # Before, every poll was a write transaction; now only the watchdog's probe (an
        # empty transaction every few seconds) may have committed meanwhile.
        assert store.transactions - before < limit // 10
        held = await desk.post(
            central.http + TOKEN_PATH,
            json={"device_code": "guess-x"},
            headers=at("2001:db8:9:9:ffff::1"),
        )
        assert held.status_code == 429
        assert held.json()["error"] == "slow_down"
        assert int(held.headers["retry-after"]) >= 1
        other = await desk.post(
            central.http + TOKEN_PATH,
            json={"device_code": "guess-y"},
            headers=at("2001:db8:9:a::1"),
        )
        assert other.json()["error"] == "expired_token"
