"""Accounts, sessions, CSRF, escaping and the pages, against a real central on a socket."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from central import cli
from central.core import Role
from protocol import AlarmLevel, AlarmMessage, AlarmSource
from tests.central.helpers import until
from tests.support.broker import Broker
from tests.web.console import PASSWORD, console, csrf_in, log_in

EVIL_ROOM = '<img src=x onerror="alert(1)">Rom'


def _alarm(room: str = "Møterom 101", device: str = "rom-101") -> AlarmMessage:
    return AlarmMessage(
        site="oslo-sentrum",
        device=device,
        alarm_id=uuid4(),
        level=AlarmLevel.ACUTE,
        room=room,
        source=AlarmSource.BUTTON,
        input="desk",
        raised_at=datetime.now(UTC),
    )


async def test_login_sets_a_safe_cookie_and_wrong_passwords_are_refused(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        wrong = await log_in(c.url, "user-admin", "not-the-password-at-all")
        assert wrong.status_code == 400
        assert "trygg_session" not in wrong.cookies
        assert "Feil brukernavn eller passord" in wrong.text  # Norwegian by default
        nobody = await log_in(c.url, "nobody", PASSWORD)
        assert nobody.status_code == 400
        right = await log_in(c.url, "user-admin")
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        async with c.client(Role.ADMIN) as admin:
            page = await admin.get("/board")
            assert page.status_code == 200
            assert "Alarmtavle" in page.text
            english = await admin.post(
                "/language", data={"lang": "en", "next": "/board", "csrf": csrf_in(page.text)}
            )
            assert english.status_code == 303
            admin.cookies.set("trygg_lang", english.cookies["trygg_lang"])
            assert "Alarm board" in (await admin.get("/board")).text
            # Logging out ends the session on the server, not only in the browser.
            await admin.post("/logout", data={"csrf": csrf_in(page.text)})
            again = await admin.get("/board")
            assert again.status_code == 303
            assert again.headers["location"].startswith("/login")


async def test_forms_without_a_valid_csrf_token_are_refused(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c:
        central = c.running.central
        central.on_alarm(message := _alarm())
        await until(lambda: central.book.get(message.alarm_id) is not None)
        async with c.client(Role.RESPONDER) as responder:
            page = await responder.get("/board")
            good = csrf_in(page.text)
            action = f"/alarms/{message.alarm_id}/coming"
            for data in ({}, {"csrf": "0" * 64}, {"csrf": c.csrf_for("another-session")}):
                refused = await responder.post(action, data=data)
                assert refused.status_code == 403, data
            assert central.book.get(message.alarm_id).responders == ()  # type: ignore[union-attr]
            done = await responder.post(action, data={"csrf": good})
            assert done.status_code == 303

            def coming() -> list[str]:  # on screens once stored (a change waits for its commit)
                view = central.book.get(message.alarm_id)
                return [r.user for r in view.responders] if view else []

            await until(lambda: coming() == ["user-responder"])
        # The login form too: a cross-site login (no pre-login cookie) is refused.
        async with httpx.AsyncClient(base_url=c.url) as stranger:
            forged = await stranger.post(
                "/login", data={"user": "user-admin", "password": PASSWORD, "csrf": good}
            )
            assert forged.status_code == 403
            # Sent as JSON it is refused the same: only the phone's credential route takes a
            # public JSON call without the token.
            for path in ("/login", "/language"):
                as_json = await stranger.post(path, json={"user": "user-admin", "lang": "en"})
                assert as_json.status_code == 403, path


async def test_names_with_html_are_shown_as_text(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c:
        central = c.running.central
        central.on_alarm(_alarm(room=EVIL_ROOM, device="rom-999"))
        central.on_alarm(_alarm())
        await until(lambda: len(central.book.active()) == 2)
        await until(lambda: central.store.writes >= 2)
        async with c.client(Role.ADMIN) as admin:
            for path in ("/board", "/board/live", "/alarms", "/routines"):
                html = (await admin.get(path)).text
                assert "<img src=x" not in html, path
                assert "<i>102</i>" not in html, path
                assert "<b>to</b>" not in html, path
            board = (await admin.get("/board")).text
            assert "&lt;img src=x onerror=" in board
            assert "Møterom &lt;i&gt;102&lt;/i&gt;" in board
            # The room of the alarm lights up on the plan, level in words as well as colour.
            assert 'data-room="mote-101" data-level="acute"' in board
            assert "AKUTT" in board
            assert "&lt;b&gt;to&lt;/b&gt;" in (await admin.get("/routines")).text


async def test_pages_say_when_there_is_nothing_and_errors_are_in_the_layout(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c, c.client(Role.SAFETY_REP) as rep:
        assert "Ingen aktive alarmer" in (await rep.get("/board")).text
        assert "Ingen enheter ennå" in (await rep.get("/devices")).text
        assert "Ingen testkjøringer passer" in (await rep.get("/tests")).text
        missing = await rep.get(f"/alarms/{uuid4()}")
        assert missing.status_code == 404
        assert "Fant ikke siden" in missing.text
        assert 'href="/routines"' in missing.text  # the layout, with its menu
        forbidden = await rep.get("/admin/users")
        assert forbidden.status_code == 403
        assert "Ikke tillatt" in forbidden.text
        nowhere = await rep.get("/no/such/page")
        assert nowhere.status_code == 404
        assert "<main" in nowhere.text


async def test_exports_and_manual_round_from_the_console(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c, c.client(Role.FACILITY_MANAGER) as manager:
        page = await manager.get("/tests")
        started = await manager.post(
            "/tests/rounds", data={"site": "oslo-sentrum", "csrf": csrf_in(page.text)}
        )
        assert started.headers["location"] == "/tests?done=round_started"
        page = await manager.get("/tests")
        assert "Avslutt testrunden" in page.text
        [open_round] = c.running.central.testing.rounds.all()
        closed = await manager.post(
            f"/tests/rounds/{open_round.round_id}/close", data={"csrf": csrf_in(page.text)}
        )
        assert closed.status_code == 303
        assert not open_round.open
        csv = await manager.get("/api/tests.csv?site=oslo-sentrum")
        assert csv.status_code == 200
        assert "manual_round" in csv.text
        pdf = await manager.get("/api/tests.pdf?site=oslo-sentrum")
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        assert "Tester utført i tide" in (await manager.get("/tests")).text


async def test_admin_cli_accounts_tokens_and_roles(
    broker: Broker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with console(broker, tmp_path) as c:
        config = tmp_path / "central.toml"
        config.write_text(_toml(c.running.settings))
        monkeypatch.setattr("sys.stdin", io.StringIO("Sikkert-passord-for-kari-9\n"))
        assert (
            cli.main(
                [
                    "user",
                    "add",
                    "kari2",
                    "--name",
                    "Kari To",
                    "--roles",
                    "safety_rep",
                    "--sites",
                    "oslo-sentrum",
                    "--password-stdin",
                    "--config",
                    str(config),
                ]
            )
            == 0
        )
        monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
        assert (
            cli.main(["user", "passwd", "kari2", "--password-stdin", "--config", str(config)]) == 1
        )
        assert "at least 12" in capsys.readouterr().err
        assert cli.main(["user", "token", "kari2", "--config", str(config)]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        async with httpx.AsyncClient(base_url=c.url) as client:
            headers = {"Authorization": f"Bearer {token}"}
            assert (await client.get("/api/alarms", headers=headers)).status_code == 200
            assert (await client.get("/api/alarms?site=bergen", headers=headers)).status_code == 403
        logged_in = await log_in(c.url, "kari2", "Sikkert-passord-for-kari-9")
        assert logged_in.status_code == 303
        assert (
            cli.main(["user", "role", "kari2", "--roles", "employee", "--config", str(config)]) == 0
        )
        async with httpx.AsyncClient(base_url=c.url, cookies=logged_in.cookies) as browser:
            # A changed role ends the user's sessions: they log in again, with the new role.
            assert (await browser.get("/routines")).status_code == 303
        async with httpx.AsyncClient(base_url=c.url) as client:
            assert (await client.get("/api/alarms", headers=headers)).status_code == 403
        assert (
            cli.main(["user", "role", "kari2", "--roles", "janitor", "--config", str(config)]) == 1
        )


def _toml(settings) -> str:  # type: ignore[no-untyped-def]
    """The same central's config as a file, for the CLI (which reads one)."""
    m = settings.mqtt
    return (
        f'[mqtt]\nhost = "{m.host}"\nport = {m.port}\npassword = "{m.password}"\n'
        f'[store]\npath = "{settings.store.path}"\n'
        '[[sites]]\nid = "oslo-sentrum"\nname = "Oslo"\n[[sites]]\nid = "bergen"\nname = "Bergen"\n'
        "[registry]\nopen = true\n"
    )
