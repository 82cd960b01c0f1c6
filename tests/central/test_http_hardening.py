"""Central's HTTP surface, hardened (issue 10, items 10 and 13), on a real uvicorn server.

- TLS served by central itself: a client that trusts the office CA (made by ``trustme``)
  connects over https and wss; one that does not is refused. Cookies are ``__Host-``,
  ``Secure``; every answer carries HSTS and the security headers.
- ``/healthz`` tells outsiders only that central is up and whether MQTT is connected.
- A websocket frame larger than the protocol allows is refused (close 1009).
- The database and its WAL are 0600; CSV cells cannot start a formula; an admin of one site
  cannot give an account other sites.
"""

from __future__ import annotations

import csv
import io
import os
import ssl
import stat
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import sqlite_utils
import trustme
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from central.auth.passwords import hash_password
from central.config import CentralSettings
from central.core import Role
from central.store import accounts as rows
from central.store import testlog
from central.store.sqlite import create_schema
from central.web.export import csv_cell
from protocol.screen import MAX_FRAME_BYTES, Hello, decode_server_frame
from tests.central.helpers import KARI, OLA, SITE, make_settings, serve
from tests.support.broker import Broker
from tests.web.console import PASSWORD, console_settings, csrf_in, log_in

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def tls_settings(broker: Broker, tmp: Path) -> tuple[CentralSettings, trustme.CA]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp / "central.pem"))
    cert.private_key_pem.write_to_path(str(tmp / "central.key"))
    data = make_settings(broker, tmp).model_dump(mode="json")
    data["http"].update(tls_cert=str(tmp / "central.pem"), tls_key=str(tmp / "central.key"))
    data.pop("web")  # secure_cookies: left to its default, which TLS turns on
    return CentralSettings.model_validate(data), ca


async def test_tls_by_central_itself_with_host_cookies_and_hsts(
    broker: Broker, tmp_path: Path
) -> None:
    settings, ca = tls_settings(broker, tmp_path)
    assert settings.web.secure_cookies
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    base = f"https://127.0.0.1:{settings.http.port}"
    async with serve(settings):
        async with httpx.AsyncClient(base_url=base, verify=trusting, timeout=10) as client:
            page = await client.get("/login")
            assert page.status_code == 200
            assert page.headers["strict-transport-security"] == "max-age=31536000"
            for name, value in SECURITY_HEADERS.items():
                assert page.headers[name] == value
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            [cookie] = page.headers.get_list("set-cookie")
            assert cookie.startswith("__Host-trygg_pre=")
            attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
            assert {"secure", "path=/", "httponly", "samesite=strict"} <= attributes
            assert not any(a.startswith("domain") for a in attributes)
            # The prefixed cookie is the one central reads back: the login form accepts it.
            answer = await client.post(
                "/login", data={"user": "nobody", "password": "x", "csrf": csrf_in(page.text)}
            )
            assert answer.status_code != 403, answer.text  # CSRF bound to __Host-trygg_pre
            health = await client.get("/healthz")
            assert health.headers["strict-transport-security"] == "max-age=31536000"
        # Not trusting the office CA: refused by the client's TLS check.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            async with httpx.AsyncClient(timeout=10) as untrusting:
                await untrusting.get(f"{base}/healthz")
        # A desk over wss:// with the CA trusted gets its hello.
        async with connect(
            f"wss://127.0.0.1:{settings.http.port}/ws",
            ssl=trusting,
            additional_headers={"Authorization": f"Bearer {KARI}"},
        ) as ws:
            assert isinstance(decode_server_frame(await ws.recv()), Hello)


async def test_plain_http_has_headers_everywhere_and_no_hsts(
    broker: Broker, tmp_path: Path
) -> None:
    async with (
        serve(make_settings(broker, tmp_path)) as running,
        httpx.AsyncClient(base_url=running.http, timeout=10) as client,
    ):
        for path, token in (("/healthz", None), ("/api/alarms", OLA), ("/api/alarms", None)):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = await client.get(path, headers=headers)
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers[name] == value, (path, answer.status_code)
            assert answer.headers["content-security-policy"] == (
                "default-src 'none'; frame-ancestors 'none'"
            )
            assert "strict-transport-security" not in answer.headers
        page = await client.get("/login")
        assert page.headers.get_list("set-cookie")[0].startswith("trygg_pre=")


async def test_healthz_details_only_for_a_signed_in_user(broker: Broker, tmp_path: Path) -> None:
    async with (
        serve(make_settings(broker, tmp_path)) as running,
        httpx.AsyncClient(base_url=running.http, timeout=10) as client,
    ):
        public = (await client.get("/healthz")).json()
        assert public == {"status": "ok", "mqtt": "connected"}
        wrong = await client.get("/healthz", headers={"Authorization": "Bearer nope"})
        assert wrong.json() == public
        full = (await client.get("/healthz", headers={"Authorization": f"Bearer {OLA}"})).json()
        assert {"screens", "rejected", "faults", "open_tests"} <= set(full)


async def _receive_until_closed(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def test_a_frame_over_the_protocol_size_is_refused(broker: Broker, tmp_path: Path) -> None:
    settings = make_settings(broker, tmp_path)
    ws_url = f"ws://127.0.0.1:{settings.http.port}/ws"
    async with (
        serve(settings),
        connect(
            ws_url, additional_headers={"Authorization": f"Bearer {KARI}"}, max_size=None
        ) as ws,
    ):
        await ws.recv()  # hello
        await ws.send("x" * (4 * MAX_FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosedError) as closed:
            await _receive_until_closed(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


async def test_database_and_wal_are_private(broker: Broker, tmp_path: Path) -> None:
    os.umask(0o022)  # as a careless service manager leaves it
    settings = make_settings(broker, tmp_path)
    async with serve(settings):
        for name in ("central.db", "central.db-wal"):
            mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
            assert mode == 0o600, f"{name}: {oct(mode)}"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("rom-101", "rom-101"),
        (3, 3),
    ],
)
def test_csv_cells_never_start_a_formula(value: object, safe: object) -> None:
    assert csv_cell(value) == safe


async def test_the_csv_export_neutralises_formulas(broker: Broker, tmp_path: Path) -> None:
    settings = make_settings(broker, tmp_path)
    db = sqlite_utils.Database(tmp_path / "central.db")
    create_schema(db)
    run_id, now = uuid4(), datetime.now(UTC)
    testlog.start_run(
        run_id=run_id,
        kind="device_selftest",
        trigger="=cmd|' /C calc'!A0",
        site=SITE,
        started_at=now,
        result="passed",
        tester="ola",
    )(db)
    check = testlog.CheckRow("button", True, "@SUM(1+1)", None, "rom-101", "desk")
    testlog.add_checks(str(run_id), now, [check])(db)
    db.conn.close()
    async with (
        serve(settings) as running,
        httpx.AsyncClient(base_url=running.http, timeout=10) as client,
    ):
        answer = await client.get("/api/tests.csv", headers={"Authorization": f"Bearer {OLA}"})
        assert answer.status_code == 200
        table = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
        assert len(table) == 2, table
        assert "'=cmd|' /C calc'!A0" in table[1], table
        assert "'@SUM(1+1)" in table[1], table
        assert not any(cell.startswith(("=", "@")) for cell in table[1])


async def test_an_admin_of_one_site_cannot_add_accounts_for_others(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(console_settings(broker, tmp_path)) as running:
        central = running.central
        admin = rows.Account(
            "site-admin",
            "Site Admin",
            hash_password(PASSWORD),
            frozenset({Role.ADMIN}),
            frozenset({SITE}),
        )
        await central.store.submit(lambda db: rows.save_account(db, admin, central.clock()))
        answer = await log_in(running.http, "site-admin")
        assert answer.status_code == 303, answer.text
        cookies = {"trygg_session": answer.cookies["trygg_session"]}
        async with httpx.AsyncClient(base_url=running.http, cookies=cookies, timeout=10) as c:
            csrf = csrf_in((await c.get("/admin/users")).text)
            form = {
                "user_id": "newbie",
                "name": "New",
                "password": "Kjempe-lang-frase-9-x",
                "roles": "responder",
                "csrf": csrf,
            }
            for sites in ("*", "bergen"):
                refused = await c.post("/admin/users", data={**form, "sites": sites})
                assert refused.status_code == 400
                assert "bare legge til kontoer for dine egne steder" in refused.text
            ok = await c.post("/admin/users", data={**form, "sites": SITE})
            assert ok.status_code == 303, ok.text
