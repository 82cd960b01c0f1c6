"""Accounts under attack, on a real central and real sockets (issue 10, items 7, 8, 9, 12):
revocation closes open sockets, no token in a URL, throttled logins, common passwords
refused, and an audit trail whose tampering ``trygg-central audit verify`` names."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from central import cli
from central.auth.passwords import WeakPassword, check_strength
from central.core import Role
from central.store import accounts as rows
from tests.central.helpers import KARI
from tests.support.broker import Broker
from tests.support.stack import script
from tests.web.console import PASSWORD, Console, add_token, console, csrf_in

SERVER_LOGS = {"central", "uvicorn"}


def _toml(c: Console, db: Path | None = None) -> str:
    settings = c.running.settings
    m = settings.mqtt
    lines = [
        f'[mqtt]\nhost = "{m.host}"\nport = {m.port}\npassword = "{m.password}"',
        f'[store]\npath = "{db or settings.store.path}"',
    ]
    for site in settings.sites:
        lines.append(f'[[sites]]\nid = "{site.id}"\nname = "{site.name}"')
    for user in settings.users:
        sites = ", ".join(f'"{s}"' for s in user.sites)
        lines.append(
            f'[[users]]\nid = "{user.id}"\nname = "{user.name}"\ntoken = "{user.token}"\n'
            f"sites = [{sites}]"
        )
    lines.append("[registry]\nopen = true")  # as make_settings: no [[devices]]
    return "\n".join(lines) + "\n"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


async def _screen(c: Console, token: str) -> ClientConnection:
    url = c.url.replace("http", "ws") + "/ws"
    return await connect(url, additional_headers={"Authorization": f"Bearer {token}"})


async def _closed(ws: ClientConnection, within: float = 10) -> int | None:
    """Read until central closes the socket; its close code."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return ws.close_code
    except TimeoutError:
        raise AssertionError("central did not close the socket") from None


async def _status(c: Console, token: str) -> int:
    async with httpx.AsyncClient(base_url=c.url, timeout=10) as client:
        answer = await client.get("/api/alarms", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code


async def _login_from(url: str, address: str, user: str, password: str) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, timeout=30, transport=transport) as client:
        page = await client.get("/login")
        return await client.post(
            "/login", data={"user": user, "password": password, "csrf": csrf_in(page.text)}
        )


# --- item 8: no token in a URL --------------------------------------------------------------


async def test_a_token_in_the_url_is_refused_and_never_logged(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with console(broker, tmp_path) as c:
        token = c.tokens[Role.ADMIN]
        async with httpx.AsyncClient(base_url=c.url, timeout=10) as client:
            assert (await client.get(f"/api/alarms?token={token}")).status_code == 401
            page = await client.get(f"/alarms?token={token}")
            assert page.status_code == 303
            assert token not in page.headers["location"]
        with pytest.raises(InvalidStatus) as refused:
            async with connect(c.url.replace("http", "ws") + f"/ws?token={token}"):
                pass
        assert refused.value.response.status_code == 403
        assert await _status(c, token) == 200  # the header still works
    # Central's own log (and uvicorn's); the test's client logs the URL it was told to use.
    server = [r.getMessage() for r in caplog.records if r.name.split(".")[0] in SERVER_LOGS]
    assert server, "central logged nothing at all: the check would be empty"
    assert not [line for line in server if token in line]


# --- item 9: brute force and common passwords -----------------------------------------------


async def test_25_wrong_passwords_from_one_address_then_the_right_one_is_refused(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        for n in range(25):  # a different account each time: only the address repeats
            wrong = await _login_from(c.url, "127.0.0.2", f"guess-{n}", "Feil-passord-123")
            assert wrong.status_code in (400, 429)
        right = await _login_from(c.url, "127.0.0.2", "user-admin", PASSWORD)
        assert right.status_code == 429
        assert re.search(r"Try again in \d+ minutes|Prøv igjen om \d+ minutt", right.text), (
            right.text
        )
        assert int(right.headers["retry-after"]) > 0
        elsewhere = await _login_from(c.url, "127.0.0.3", "user-admin", PASSWORD)
        assert elsewhere.status_code == 303  # another address is not held up


async def test_25_wrong_passwords_for_one_account_then_the_right_one_is_refused(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        for n in range(25):  # a different address each time: only the account repeats
            wrong = await _login_from(c.url, f"127.0.1.{n + 1}", "user-leader", "Feil-passord-1")
            assert wrong.status_code in (400, 429)
        right = await _login_from(c.url, "127.0.2.1", "user-leader", PASSWORD)
        assert right.status_code == 429
        other = await _login_from(c.url, "127.0.2.1", "user-admin", PASSWORD)
        assert other.status_code == 303  # another account from that address is not


@pytest.mark.parametrize(
    "password", ["password1234", "Password2024!!", "qwertyuiop123", "short-1A", "kari-nordmann-99"]
)
def test_weak_and_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        check_strength(password, "kari-nordmann", "Kari Nordmann")


def test_a_long_uncommon_password_is_accepted() -> None:
    check_strength(PASSWORD, "kari", "Kari Nordmann")


async def test_the_console_refuses_a_common_password(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c, c.client(Role.ADMIN) as client:
        form = {
            "user_id": "nye",
            "name": "Ny Bruker",
            "password": "iloveyou12345",
            "roles": "responder",
            "sites": "*",
            "csrf": c.csrf_for(c.sessions[Role.ADMIN]),
        }
        answer = await client.post("/admin/users", data=form)
        assert answer.status_code == 400
        assert "en liste over vanlige passord" in answer.text


# --- item 7: revocation -----------------------------------------------------------------------


async def test_cli_disable_ends_sessions_tokens_and_open_sockets(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with console(broker, tmp_path) as c:
        config = tmp_path / "central.toml"
        config.write_text(_toml(c))
        ws = await _screen(c, c.tokens[Role.RESPONDER])
        await ws.recv()  # hello: the socket is open
        status, out, _ = _cli(capsys, "user", "disable", "user-responder", "--config", str(config))
        assert status == 0
        assert "disabled user-responder" in out
        assert await _closed(ws) == 4401
        assert await _status(c, c.tokens[Role.RESPONDER]) == 401
        async with c.client(Role.RESPONDER) as client:
            page = await client.get("/routines")
            assert page.status_code == 303
            assert page.headers["location"].startswith("/login")
        refused = await _login_from(c.url, "127.0.0.1", "user-responder", PASSWORD)
        assert refused.status_code == 400
        # A user of the config file: disabled by a block, the file unchanged.
        ws = await _screen(c, KARI)
        await ws.recv()
        assert _cli(capsys, "user", "disable", "kari", "--config", str(config))[0] == 0
        assert await _closed(ws) == 4401
        assert await _status(c, KARI) == 401


async def test_cli_token_list_and_revoke_close_the_socket(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with console(broker, tmp_path) as c:
        config = tmp_path / "central.toml"
        config.write_text(_toml(c))
        status, token, err = _cli(capsys, "user", "token", "user-leader", "--config", str(config))
        token = token.strip()
        assert status == 0
        assert "valid 180 days" in err
        token_id = rows.token_id_of(token)
        status, listing, _ = _cli(capsys, "token", "list", "user-leader", "--config", str(config))
        assert status == 0
        assert token_id in listing
        assert token not in listing
        ws = await _screen(c, token)
        await ws.recv()
        status, out, _ = _cli(capsys, "token", "revoke", token_id, "--config", str(config))
        assert status == 0
        assert f"revoked token {token_id} of user-leader" in out
        assert await _closed(ws) == 4401
        assert await _status(c, token) == 401
        assert await _status(c, c.tokens[Role.LEADER]) == 200  # the user's other token lives
        # A config file's token: listed by id, revoked by a block.
        kari_id = rows.token_id_of(KARI)
        assert kari_id in _cli(capsys, "token", "list", "--config", str(config))[1]
        assert _cli(capsys, "token", "revoke", kari_id, "--config", str(config))[0] == 0
        assert await _status(c, KARI) == 401
        assert _cli(capsys, "token", "revoke", "ffffffffffff", "--config", str(config))[0] == 1


async def test_tokens_expire_and_die_on_a_password_change(
    broker: Broker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with console(broker, tmp_path) as c:
        central = c.running.central
        old = central.clock() - timedelta(days=181)
        await add_token(c.running, "user-admin", "gammel-token-5c1e9a7f3b2d8", "x", old)
        assert await _status(c, "gammel-token-5c1e9a7f3b2d8") == 401
        config = tmp_path / "central.toml"
        config.write_text(_toml(c))
        token = c.tokens[Role.FACILITY_MANAGER]
        assert await _status(c, token) == 200
        monkeypatch.setattr("sys.stdin", io.StringIO("Nytt-langt-passord-for-fm-7\n"))
        argv = ("user", "passwd", "user-facility_manager", "--password-stdin")
        assert _cli(capsys, *argv, "--config", str(config))[0] == 0
        assert await _status(c, token) == 401


async def test_an_admin_disables_and_revokes_in_the_console(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c, c.client(Role.ADMIN) as admin:
        csrf = c.csrf_for(c.sessions[Role.ADMIN])
        page = await admin.get("/admin/users/user-leader/tokens")
        token_id = rows.token_id_of(c.tokens[Role.LEADER])
        assert page.status_code == 200
        assert token_id in page.text
        ws = await _screen(c, c.tokens[Role.LEADER])
        await ws.recv()
        revoked = await admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf})
        assert revoked.status_code == 303
        assert await _closed(ws) == 4401
        assert await _status(c, c.tokens[Role.LEADER]) == 401
        ws = await _screen(c, c.tokens[Role.EMPLOYEE])
        await ws.recv()
        disabled = await admin.post("/admin/users/user-employee/disable", data={"csrf": csrf})
        assert disabled.status_code == 303
        assert await _closed(ws) == 4401
        async with c.client(Role.EMPLOYEE) as employee:
            assert (await employee.get("/routines")).status_code == 303
        users = await admin.get("/admin/users")
        assert "Deaktiver user-employee" not in users.text  # shown as disabled instead
        assert "Deaktiver user-leader" in users.text


# --- item 12: the audit trail -----------------------------------------------------------------


def _verify(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script("trygg-central"), "audit", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_audit_trail_records_and_verify_names_an_edited_or_deleted_row(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with console(broker, tmp_path) as c:
        config = tmp_path / "central.toml"
        config.write_text(_toml(c))
        await _login_from(c.url, "127.0.0.1", "user-admin", "Feil-passord-999")
        async with c.client(Role.LEADER) as leader:
            csrf = c.csrf_for(c.sessions[Role.LEADER])
            assert (await leader.post("/logout", data={"csrf": csrf})).status_code == 303
        assert _cli(capsys, "user", "disable", "user-employee", "--config", str(config))[0] == 0
        async with c.client(Role.SAFETY_REP) as rep:
            page = await rep.get("/audit")
        assert page.status_code == 200
        assert "Kjeden i revisjonsloggen er intakt" in page.text
        for action in ("Logget inn", "Mislykket innlogging", "Logget ut", "Konto deaktivert"):
            assert f"<td>{action}</td>" in page.text, action
        async with c.client(Role.FACILITY_MANAGER) as fm:
            assert (await fm.get("/audit")).status_code == 403
    database = c.running.settings.store.path
    intact = _verify(config)
    assert intact.returncode == 0, intact.stderr
    assert "audit trail intact" in intact.stdout, intact.stderr
    edited_db, deleted_db = tmp_path / "edited.db", tmp_path / "deleted.db"
    shutil.copy(database, edited_db)
    shutil.copy(database, deleted_db)
    with sqlite3.connect(edited_db) as db:
        db.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    (tmp_path / "edited.toml").write_text(_toml(c, edited_db))
    edited = _verify(tmp_path / "edited.toml")
    assert edited.returncode == 1
    assert "row 3: edited" in edited.stderr
    with sqlite3.connect(deleted_db) as db:
        db.execute("DELETE FROM audit_log WHERE seq = 4")
    (tmp_path / "deleted.toml").write_text(_toml(c, deleted_db))
    deleted = _verify(tmp_path / "deleted.toml")
    assert deleted.returncode == 1
    assert "row 4: deleted" in deleted.stderr
