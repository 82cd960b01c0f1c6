"""Incident reports (2.4) through a real central's API and pages, one central for the module:
Mosquitto, central on uvicorn, an aiosmtpd server on loopback, and Debian's Chromium.

Who sees what, both ways: the filer and the site's leader, safety representative and admin
read a report (each opening in the read log, which only the safety representative and the
admin read); another employee, a responder and another site's leader get "not found"; only
leaders and safety representatives mark it seen, only the leader follows up. Export as CSV and
JSON keeps to the exporter's sites and is written to each report's read log. A desk asked about
an alarm it raised gets the prompt, and filing withdraws it. Retention anonymises an old report
and records its run. The form in a browser: the warning about the client's name is visible;
a missing answer is refused with the text kept; a filed report opens; its picture is saved.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, async_playwright, expect

from central.auth.passwords import hash_password
from central.config import CentralSettings
from central.core import Person, Role
from central.store import accounts as account_rows
from protocol.screen import (
    AlarmState,
    CommandKind,
    RaiseRequest,
    ReportAsk,
    ReportFiled,
    encode_frame,
)
from tests.central.helpers import (
    OTHER_SITE,
    SITE,
    Running,
    frame_of,
    make_settings,
    next_frame,
    screen,
    serve,
    until,
)
from tests.support.broker import Broker
from tests.support.smtp import Inbox
from tests.web.browser import ARGS, chromium_path
from tests.web.console import PASSWORD, log_in

pytestmark = pytest.mark.asyncio(loop_scope="module")

# user → (roles, sites); each a config user with a token (and an address for the leaders and
# safety representatives, and the admin, who must still get no e-mail), but for ACCOUNTS.
PEOPLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anne": (("employee",), (SITE,)),
    "eva": (("employee",), (SITE,)),
    "kari": (("responder",), (SITE,)),
    "lina": (("leader",), (SITE,)),
    "vera": (("safety_rep",), (SITE,)),
    "bo": (("leader",), (OTHER_SITE,)),
    "root": (("admin",), ("*",)),
}
TOKENS = {user: f"{user}-{secrets.token_hex(16)}" for user in PEOPLE}
# Accounts with a password (and their desk token), not config users: they open console pages,
# which need a session (a token is no login). Vera (mailed, so a config user) has "vera-web".
ACCOUNTS = ("anne", "eva")
MAILED = ("lina", "vera", "bo", "root")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def address(user: str) -> str:
    return f"{user}@nav.test"


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    found = Broker(tmp_path_factory.mktemp("broker"))
    found.start()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    found = Inbox()
    found.start()
    try:
        yield found
    finally:
        found.stop()


def settings_for(broker: Broker, tmp: Path, inbox: Inbox) -> CentralSettings:
    data = make_settings(broker, tmp).model_dump(mode="json")
    data["web"] = {"secret": "web-secret-5f1c9e7a3b8d2f6a0c4e9b1d7a3f5c8e"}
    data["sites"][0]["report_retention_days"] = 30
    data["sites"][0]["rooms"] = [
        {"id": "m101", "name": "Møterom 101", "x": 1, "y": 1, "w": 5, "h": 5}
    ]
    data["users"] = [
        {
            "id": user,
            "name": user.title(),
            "token": TOKENS[user],
            "roles": list(roles),
            "sites": list(sites),
            **({"email": address(user)} if user in MAILED else {}),
        }
        for user, (roles, sites) in PEOPLE.items()
        if user not in ACCOUNTS
    ]
    port = data["http"]["port"]
    data["email"] = {
        "host": inbox.host,
        "port": inbox.port,
        "security": "none",
        "from_address": "trygg@nav.test",
        "console_url": f"http://127.0.0.1:{port}",
        "retry_max_s": 1,
    }
    return CentralSettings.model_validate(data)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(
    module_broker: Broker, inbox: Inbox, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    tmp = tmp_path_factory.mktemp("central")
    async with serve(settings_for(module_broker, tmp, inbox)) as found:
        # Database accounts for the browser (config users have no password).
        central = found.central
        now = central.clock()
        hashed = hash_password(PASSWORD)  # verifies for any of them (its salt is in it)
        made = [
            account_rows.Account(
                "anne-web",
                "Anne Ansatt",
                hashed,
                frozenset({Role.EMPLOYEE}),
                frozenset({SITE}),
            ),
            account_rows.Account(
                "vera-web",
                "Vera Verneombud",
                hashed,
                frozenset({Role.SAFETY_REP}),
                frozenset({SITE}),
            ),
            account_rows.Account(  # an admin of one site: reads the whole audit trail
                "root-web", "Rut Admin", hashed, frozenset({Role.ADMIN}), frozenset({SITE})
            ),
        ]
        for user in ACCOUNTS:
            roles, sites = PEOPLE[user]
            made.append(
                account_rows.Account(
                    user,
                    user.title(),
                    hashed,
                    frozenset(Role(r) for r in roles),
                    frozenset(sites),
                )
            )

        def keep(db: Any) -> None:
            for account in made:
                account_rows.save_account(db, account, now)
            for user in ACCOUNTS:
                account_rows.add_token(db, user, TOKENS[user], "desk", now)

        await central.store.submit(keep)
        yield found


def client(running: Running, user: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {TOKENS[user]}"}
    return httpx.AsyncClient(base_url=running.http, headers=headers, timeout=10)


async def call(running: Running, user: str, method: str, path: str, **kw: Any) -> httpx.Response:
    async with client(running, user) as c:
        return await c.request(method, path, **kw)


async def console_page(running: Running, user: str, path: str) -> httpx.Response:
    """A console page as ``user`` (an account) sees it, signed in through the login form."""
    signed_in = await log_in(running.http, user)
    assert signed_in.status_code == 303, signed_in.text
    async with httpx.AsyncClient(
        base_url=running.http, cookies=signed_in.cookies, timeout=10
    ) as browser:
        return await browser.get(path)


def body(**changes: Any) -> dict[str, Any]:
    found = {
        "site": SITE,
        "kinds": ["threat"],
        "place": "office",
        "room": "Møterom 101",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=20)).isoformat(),
        "injuries": "none",
        "police": False,
        "follow_up_needed": True,
        "text": "He shouted and threatened to come back.",
    }
    return found | changes


async def file(running: Running, user: str = "anne", **changes: Any) -> dict[str, Any]:
    answer = await call(running, user, "POST", "/api/reports", json=body(**changes))
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_an_employee_sees_only_her_own_and_others_see_nothing(running: Running) -> None:
    report = await file(running)
    rid = report["report_id"]
    assert report["filed_by"] == "anne"
    assert report["text"].startswith("He shouted")
    for user, expected in [
        ("anne", 200),
        ("lina", 200),
        ("vera", 200),
        ("root", 200),
        ("eva", 404),  # a colleague of the site
        ("kari", 404),  # a responder of the site
        ("bo", 404),  # another site's leader
    ]:
        answer = await call(running, user, "GET", f"/api/reports/{rid}")
        assert answer.status_code == expected, (user, answer.text)
        if expected == 404:
            assert "text" not in answer.text
            assert "shouted" not in answer.text
    eva = (await call(running, "eva", "GET", "/api/reports")).json()
    assert eva["mine"] == []
    assert eva["site"] == []
    anne = (await call(running, "anne", "GET", "/api/reports")).json()
    assert [r["report_id"] for r in anne["mine"]] == [rid]
    assert anne["site"] == []
    assert "text" not in anne["mine"][0]  # lists carry no free text
    lina = (await call(running, "lina", "GET", "/api/reports")).json()
    assert rid in [r["report_id"] for r in lina["site"]]
    bo = (await call(running, "bo", "GET", "/api/reports")).json()
    assert rid not in [r["report_id"] for r in bo["site"]]
    # An employee may not file for a site that is not hers; a bad form changes nothing.
    refused = await call(running, "anne", "POST", "/api/reports", json=body(site=OTHER_SITE))
    assert (refused.status_code, refused.json()["detail"]) == (403, "not_your_site")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused = await call(running, "anne", "POST", "/api/reports", json=body(occurred_at=future))
    assert (refused.status_code, refused.json()["detail"]) == (422, "in_the_future")
    refused = await call(running, "anne", "POST", "/api/reports", json=body(kinds=[]))
    assert refused.status_code == 422
    refused = await call(running, "anne", "POST", "/api/reports", json=body(alarm_id=str(uuid4())))
    assert (refused.status_code, refused.json()["detail"]) == (404, "unknown_alarm")
    after = (await call(running, "anne", "GET", "/api/reports")).json()
    assert [r["report_id"] for r in after["mine"]] == [rid]


async def trail_since(running: Running, seq: int) -> list[dict[str, Any]]:
    """The audit trail's rows after ``seq``."""
    found: list[dict[str, Any]] = await running.central.read(
        lambda db: list(db.query("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq", [seq]))
    )
    return found


async def last_seq(running: Running) -> int:
    found = await running.central.read(
        lambda db: list(db.query("SELECT coalesce(max(seq), 0) AS n FROM audit_log"))
    )
    return int(found[0]["n"])


async def test_seen_follow_up_and_the_read_log(running: Running) -> None:
    seq = await last_seq(running)
    rid = (await file(running, text="Spat at the counter."))["report_id"]
    for user in ("lina", "vera"):
        assert (await call(running, user, "GET", f"/api/reports/{rid}")).status_code == 200
    seen = await call(running, "lina", "POST", f"/api/reports/{rid}/seen")
    assert [s["user"] for s in seen.json()["seen_by_leader"]] == ["lina"]
    seen = await call(running, "vera", "POST", f"/api/reports/{rid}/seen")
    assert [s["user"] for s in seen.json()["seen_by_safety_rep"]] == ["vera"]
    again = await call(running, "lina", "POST", f"/api/reports/{rid}/seen")
    assert len(again.json()["seen_by_leader"]) == 1  # once
    # Not theirs to mark or follow up: refused, nothing changes.
    assert (await call(running, "bo", "POST", f"/api/reports/{rid}/seen")).status_code == 404
    assert (await call(running, "anne", "POST", f"/api/reports/{rid}/seen")).status_code == 403
    assert (await call(running, "root", "POST", f"/api/reports/{rid}/seen")).status_code == 403
    note = {"text": "Talked with Anne; the client is banned from the counter."}
    assert (
        await call(running, "vera", "POST", f"/api/reports/{rid}/follow-up", json=note)
    ).status_code == 403
    done = await call(running, "lina", "POST", f"/api/reports/{rid}/follow-up", json=note)
    assert done.status_code == 200
    assert done.json()["follow_up"]["text"] == note["text"]
    # The read log: the safety representative (and admin) read it; the leader may not.
    assert (await call(running, "lina", "GET", f"/api/reports/{rid}/reads")).status_code == 403
    log = (await call(running, "vera", "GET", f"/api/reports/{rid}/reads")).json()["reads"]
    assert [(r["user"], r["as"]) for r in log] == [("lina", "leader"), ("vera", "safety_rep")]
    # A refused opening is no reading.
    assert (await call(running, "bo", "GET", f"/api/reports/{rid}")).status_code == 404
    log = (await call(running, "root", "GET", f"/api/reports/{rid}/reads")).json()["reads"]
    assert "bo" not in [r["user"] for r in log]
    assert (await call(running, "anne", "GET", f"/api/reports/{rid}")).status_code == 200
    # The audit trail has filing, reading, seen and follow-up: by site, never the report's id
    # (it would lead back to it once anonymised), never its filer (reading her own: unnamed).
    found = await trail_since(running, seq)
    for _ in range(100):  # the trail is written behind the answer: bounded polling
        if any(r["detail"] == "own" for r in found):
            break
        await asyncio.sleep(0.1)
        found = await trail_since(running, seq)
    assert [r for r in found if rid in r["target"] + r["detail"]] == []
    assert "anne" not in [r["actor"] for r in found]
    rows = {(r["actor"], r["action"], r["target"], r["detail"]) for r in found}
    assert ("", "report_filed", SITE, "") in rows
    assert ("lina", "report_read", SITE, "leader") in rows
    assert ("", "report_read", SITE, "own") in rows
    assert ("vera", "report_seen", SITE, "safety_rep") in rows
    assert ("lina", "report_followed_up", SITE, "") in rows


async def test_export_keeps_to_the_exporters_sites_and_is_logged(running: Running) -> None:
    rid = (await file(running, text='=HYPERLINK("http://evil")', kinds=["damage", "other"]))[
        "report_id"
    ]
    csv_answer = await call(running, "lina", "GET", "/api/reports.csv")
    assert csv_answer.status_code == 200
    text = csv_answer.text
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    row = next(r for r in table if r["report_id"] == rid)
    assert row["kinds"] == "damage,other"
    assert row["text"].startswith("'=")  # no formula for the spreadsheet
    assert {r["site"] for r in table} == {SITE}
    as_json = await call(running, "vera", "GET", "/api/reports.json", params={"site": SITE})
    exported = json.loads(as_json.text)
    assert rid in [r["report_id"] for r in exported["reports"]]
    assert exported["filters"]["site"] == SITE
    assert (await call(running, "bo", "GET", "/api/reports.json")).json()["reports"] == []
    assert (await call(running, "anne", "GET", "/api/reports.csv")).status_code == 403
    assert (await call(running, "kari", "GET", "/api/reports.json")).status_code == 403
    bad = await call(running, "lina", "GET", "/api/reports.csv", params={"from": "1.2.2025"})
    assert bad.status_code == 422
    log = (await call(running, "vera", "GET", f"/api/reports/{rid}/reads")).json()["reads"]
    assert [(r["user"], r["as"]) for r in log] == [("lina", "export"), ("vera", "export")]


async def test_the_raisers_desk_is_asked_and_filing_withdraws_the_ask(
    running: Running, inbox: Inbox
) -> None:
    central = running.central
    alarm_id = uuid4()
    async with (
        screen(running, TOKENS["anne"]) as anne,
        screen(running, TOKENS["kari"]) as kari,
        screen(running, TOKENS["lina"]) as lina,
        screen(running, TOKENS["bo"]) as bo,
    ):
        raise_ = RaiseRequest(
            alarm_id=alarm_id,
            level="acute",
            site=SITE,
            room="Møterom 101",
            raised_at=datetime.now(UTC),
        )
        await anne.send(encode_frame(raise_))
        await frame_of(kari, object, alarm_id=alarm_id)
        await until(
            lambda: (
                (found := central.book.get(alarm_id)) is not None
                and found.state is not AlarmState.RAISED
            ),
            what="the alarm stored",
        )
        await kari.send(json.dumps({"type": "resolve", "alarm_id": str(alarm_id)}))
        ask = await frame_of(anne, ReportAsk)
        assert (ask.alarm_id, ask.why, ask.room) == (alarm_id, "raiser", "Møterom 101")
        assert ask.path == f"/reports/new?alarm={alarm_id}"
        assert not ask.closed
        asked = (await call(running, "anne", "GET", "/api/reports/asked")).json()["asked"]
        assert [a["alarm_id"] for a in asked] == [str(alarm_id)]
        # The console's banner says so on every page.
        routines = await console_page(running, "anne", "/routines")
        assert f'href="/reports/new?alarm={alarm_id}"' in routines.text
        # Filing it: the ask is withdrawn on her desk, the leader's desk is told.
        report = await file(running, alarm_id=str(alarm_id), kinds=["violence"])
        closed = await frame_of(anne, ReportAsk)
        assert closed.alarm_id == alarm_id
        assert closed.closed
        told = await frame_of(lina, ReportFiled)
        assert told.report_id == UUID(report["report_id"])
        assert told.path == f"/reports/{report['report_id']}"
        assert (await call(running, "anne", "GET", "/api/reports/asked")).json()["asked"] == []
        # Not the other site's leader, and not a responder: nothing about it.
        await kari.send("{}")
        await bo.send("{}")
        for ws in (kari, bo):
            while True:
                frame = await next_frame(ws)
                assert not isinstance(frame, ReportFiled | ReportAsk)
                if getattr(frame, "type", "") == "error":
                    break
    # E-mail: the site's leader and safety representative, nobody else; no detail in it.
    rid = report["report_id"]
    found = await inbox.wait_for(lambda m: rid in m.body, count=2)
    assert sorted(r for m in found for r in m.rcpt_tos) == [address("lina"), address("vera")]
    for message in found:
        assert "Ny hendelsesrapport" in message.subject
        assert "Oslo" in message.subject
        assert f"{running.http}/reports/{rid}" in message.body
        for secret in ("shouted", "threatened", "Anne", "Møterom", "vold", "Vold", "violence"):
            assert secret not in message.body + message.subject


def metric(running: Running, name: str, **labels: str) -> float:
    registry = running.server.config.loaded_app.app.state.metrics.registry
    value = registry.get_sample_value(name, labels)
    assert value is not None, f"no {name}{labels}"
    return float(value)


async def test_a_mail_server_set_up_wrong_is_seen_on_metrics_and_drops_nothing(
    running: Running, inbox: Inbox
) -> None:
    """A relay refusal (the server's setup, not the recipient's mailbox) used to be taken as
    "refused for good": every notice dropped without a trace. Now it is retried, counted and
    waiting on /metrics, and sent once the server is put right."""
    retried = metric(running, "trygg_mail_failed_total", outcome="retried")
    refused = metric(running, "trygg_mail_failed_total", outcome="refused")
    inbox.replies["RCPT"] = "550 5.7.1 Relay access denied"
    try:
        rid = (await file(running, text="While the mail server refused."))["report_id"]
        await until(
            lambda: metric(running, "trygg_mail_failed_total", outcome="retried") > retried,
            what="a failed try counted",
        )
        await until(lambda: metric(running, "trygg_mail_owed") >= 1, what="the e-mails owed")
        assert metric(running, "trygg_mail_failed_total", outcome="refused") == refused
        states = await running.central.reports.mail_of(UUID(rid))
        assert {str(m["status"]) for m in states} == {"pending"}
    finally:
        inbox.replies.clear()
    running.central.reports.mailer.wake()  # type: ignore[union-attr]
    found = await inbox.wait_for(lambda m: rid in m.body, count=2)
    assert sorted(r for m in found for r in m.rcpt_tos) == [address("lina"), address("vera")]
    await until(lambda: metric(running, "trygg_mail_owed") == 0, what="nothing owed")


async def test_retention_anonymises_old_reports_and_records_the_run(running: Running) -> None:
    central = running.central
    seq = await last_seq(running)
    old = (await file(running, text="Old: named Ola Klient.", room="Møterom 101"))["report_id"]
    recent = (await file(running, text="Recent."))["report_id"]
    bergen = (await file(running, "bo", site=OTHER_SITE, text="In Bergen."))["report_id"]
    await call(running, "lina", "GET", f"/api/reports/{old}")  # a line in its read log
    await call(running, "lina", "POST", f"/api/reports/{old}/seen")
    note = {"text": "Talked with Anne about Ola Klient."}
    await call(running, "lina", "POST", f"/api/reports/{old}/follow-up", json=note)
    before = datetime.now(UTC) - timedelta(days=31)  # the site keeps reports 30 days

    def age(db: Any) -> None:
        db.execute("UPDATE reports SET filed_at = ? WHERE report_id = ?", [before.isoformat(), old])

    await central.write(age)
    run = await central.reports.retain("schedule")
    assert run.anonymised == 1
    assert not run.dry_run
    # Its old id leads nowhere: not the page, not the read log, not a row of any table.
    assert (await call(running, "lina", "GET", f"/api/reports/{old}")).status_code == 404
    assert (await call(running, "vera", "GET", f"/api/reports/{old}/reads")).status_code == 404
    for table in ("reports", "report_seen", "report_reads", "report_mail", "report_asks"):
        query = f"SELECT 1 FROM {table} WHERE report_id = ?"  # noqa: S608
        left = await central.read(partial(rows_of, query=query, params=[old]))
        assert left == [], table
    listed = (await call(running, "lina", "GET", "/api/reports")).json()["site"]
    [summary] = [r for r in listed if r["anonymised_at"] is not None]
    new_id = summary["report_id"]
    assert new_id not in (old, recent)
    gone = (await call(running, "lina", "GET", f"/api/reports/{new_id}")).json()
    assert (gone["text"], gone["room"], gone["filed_by"], gone["filed_by_name"]) == (
        "",
        "",
        None,
        None,
    )
    assert gone["kinds"] == ["threat"]
    # Its times are days: none matches a time kept elsewhere (the trail, a log, a login).
    midnight = [
        gone["filed_at"],
        gone["occurred_at"],
        gone["anonymised_at"],
        gone["followed_up_at"],
        *(s["at"] for s in gone["seen_by_leader"]),
    ]
    assert len(midnight) == 5
    for at in midnight:
        assert datetime.fromisoformat(at).time() == time(0, 0), at
    assert datetime.fromisoformat(gone["filed_at"]).date() == before.date()
    assert [(s["user"], s["name"]) for s in gone["seen_by_leader"]] == [("", "")]
    assert gone["follow_up"] == {"text": "", "by": "", "by_name": ""}
    assert (await call(running, "anne", "GET", f"/api/reports/{new_id}")).status_code == 404
    kept = (await call(running, "lina", "GET", f"/api/reports/{recent}")).json()
    assert kept["text"] == "Recent."
    # Nothing in the trail since names the filer or the report (its old id or its new one).
    for r in await trail_since(running, seq):
        assert "anne" not in (r["actor"], r["target"]), r
        assert old not in r["target"] + r["detail"], r
        assert new_id not in r["target"] + r["detail"], r
    # The text is gone from the disk too: zeroed (secure_delete), the WAL emptied.
    path = running.settings.store.path
    wal = path.with_name(path.name + "-wal")
    on_disk = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"Ola Klient" not in on_disk
    assert b"Recent." in on_disk  # (the check reads what is there)
    # The runs: each reader sees the counts of their own sites (Vera: Oslo only).
    runs = (await call(running, "vera", "GET", "/api/reports/retention-runs")).json()["runs"]
    assert runs[0]["run_id"] == run.run_id
    assert runs[0]["by"] == "schedule"
    assert runs[0]["sites"] == {SITE: {"days": 30, "checked": runs[0]["checked"], "anonymised": 1}}
    assert runs[0]["anonymised"] == 1
    every = (await call(running, "root", "GET", "/api/reports/retention-runs")).json()["runs"]
    assert set(every[0]["sites"]) == {SITE, OTHER_SITE}
    assert every[0]["checked"] == runs[0]["checked"] + every[0]["sites"][OTHER_SITE]["checked"]
    assert (await call(running, "lina", "GET", "/api/reports/retention-runs")).status_code == 403
    retention = await console_page(running, "vera-web", "/reports/retention")
    assert run.run_id in retention.text
    assert "Bergen" not in retention.text
    assert bergen not in retention.text


async def test_the_audit_page_shows_a_safety_rep_her_sites_rows_and_an_admin_all(
    running: Running,
) -> None:
    await file(running, "bo", site=OTHER_SITE, text="Bergen again.")
    await file(running, text="Oslo again.")
    rep = await console_page(running, "vera-web", "/audit")
    assert rep.status_code == 200
    assert "data-filtered" in rep.text
    assert f"<td>{SITE}</td>" in rep.text
    assert f"<td>{OTHER_SITE}</td>" not in rep.text
    assert "<td>Logget inn</td>" not in rep.text  # a login is of no site: the admins'
    admin = await console_page(running, "root-web", "/audit")
    assert "<td>Logget inn</td>" in admin.text
    assert "data-filtered" not in admin.text
    assert f"<td>{OTHER_SITE}</td>" in admin.text
    assert f"<td>{SITE}</td>" in admin.text


async def test_a_report_is_of_its_alarms_site_and_never_of_a_test_alarm(
    running: Running,
) -> None:
    central = running.central
    # (A drill's refusal is the same rule, central.core.reports.alarm_refusal; a desk raises
    # no drill of its own, so its test alarm stands for both here.)
    real, test = uuid4(), uuid4()
    async with screen(running, TOKENS["bo"]) as bo, screen(running, TOKENS["anne"]) as anne:
        await bo.send(encode_frame(raise_request(real, OTHER_SITE)))
        await anne.send(encode_frame(raise_request(test, SITE, test=True)))
        for alarm_id in (real, test):
            await until(partial(stored, central, alarm_id), what="the alarm stored")
    before = (await call(running, "root", "GET", "/api/reports")).json()["site"]
    # Bergen's alarm named from Oslo: refused, nothing kept.
    refused = await call(
        running, "root", "POST", "/api/reports", json=body(site=SITE, alarm_id=str(real))
    )
    assert (refused.status_code, refused.json()["detail"]) == (422, "alarm_other_site")
    refused = await call(running, "anne", "POST", "/api/reports", json=body(alarm_id=str(test)))
    assert (refused.status_code, refused.json()["detail"]) == (422, "alarm_not_real")
    after = (await call(running, "root", "GET", "/api/reports")).json()["site"]
    assert after == before
    # Without a site, the alarm's is taken (not the filer's first, Oslo).
    found = await file(running, "root", site=None, alarm_id=str(real))
    assert found["site"] == OTHER_SITE
    assert central.answer(person_of(central, "root"), CommandKind.RESOLVE, real) == []


def rows_of(db: Any, query: str, params: list[Any]) -> list[dict[str, Any]]:
    return list(db.query(query, params))


def stored(central: Any, alarm_id: UUID) -> bool:
    found = central.book.get(alarm_id)
    return found is not None and found.state is not AlarmState.RAISED


def raise_request(alarm_id: UUID, site: str, **flags: bool) -> RaiseRequest:
    return RaiseRequest(
        alarm_id=alarm_id,
        level="assist",
        site=site,
        room="Kontor 12",
        raised_at=datetime.now(UTC),
        **flags,
    )


def person_of(central: Any, user: str) -> Person:
    found: Person = next(p for p in central.settings.people() if p.user_id == user)
    return found


async def serious(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 AA violations on the page."""
    results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    assert results.response["passes"], "axe checked nothing"
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_the_form_in_a_browser(running: Running, tmp_path: Path) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="nb-NO"
            )
            page = await context.new_page()
            await page.goto(f"{running.http}/login")
            await page.get_by_label("Brukernavn").fill("anne-web")
            await page.get_by_label("Passord").fill(PASSWORD)
            await page.get_by_role("button", name="Logg inn").click()
            await page.get_by_role("link", name="Hendelsesrapporter").click()
            await page.get_by_role("link", name="Skriv hendelsesrapport").click()
            await expect(page.get_by_role("heading", level=1)).to_have_text("Hendelsesrapport")
            warning = page.locator("#r-text-warning")
            await expect(warning).to_be_visible()
            await expect(warning).to_contain_text("Ikke skriv navnet på brukeren")
            text = page.get_by_label("Hva skjedde, med dine egne ord")
            await text.fill("Brukeren slo i bordet og truet med å komme tilbake.")
            # Nothing ticked under "what happened": refused, the text kept.
            await page.get_by_role("button", name="Send rapporten").click()
            await expect(page.locator("[data-problem]")).to_contain_text("velg hva som skjedde")
            await expect(text).to_have_value("Brukeren slo i bordet og truet med å komme tilbake.")
            # A fresh form, filled in as a person would (its picture is docs/img's).
            await page.goto(f"{running.http}/reports/new")
            await page.get_by_label("Trusler").check()
            await page.get_by_label("Vold").check()
            await page.get_by_label("Rom eller sted").fill("Møterom 101")
            await page.get_by_label("Lettere (førstehjelp)").check()
            await page.get_by_label("Politiet ble ringt eller kom").check()
            await page.get_by_label("Jeg trenger oppfølging (en samtale, hjelp, fri)").check()
            await text.fill(
                "Brukeren ble sint da søknaden var avslått, slo i bordet og dyttet meg mot "
                "døra. Kollega kom etter alarmen og fulgte brukeren ut."
            )
            shot = Path(os.environ.get("TRYGG_REPORT_SCREENSHOT_DIR", str(tmp_path)))
            await page.screenshot(path=str(shot / "console-report.png"), full_page=True)
            assert await serious(page) == []
            await page.get_by_role("button", name="Send rapporten").click()
            await expect(page.locator("[data-done]")).to_have_text(
                "Levert. Lederen din og verneombudet har fått beskjed."
            )
            await expect(page.locator("dl.facts")).to_contain_text("Trusler")
            assert await serious(page) == []
            rid = page.url.split("/reports/")[1].split("?")[0]
            await page.goto(f"{running.http}/reports")
            assert await serious(page) == []
            # Another employee's session may not open it.
            eva = await console_page(running, "eva", f"/reports/{rid}")
            assert eva.status_code == 404
            answer = await log_in(running.http, "anne-web")
            assert answer.status_code == 303

            # The phone page: an alarm from her phone, resolved by a colleague; /m then says a
            # report is owed and links to the form filled in from the alarm.
            phone = await browser.new_context(
                viewport={"width": 390, "height": 844},
                is_mobile=True,
                has_touch=True,
                locale="nb-NO",
            )
            mobile = await phone.new_page()
            await mobile.goto(f"{running.http}/m")
            await mobile.get_by_label("Brukernavn").fill("anne-web")
            await mobile.get_by_label("Passord").fill(PASSWORD)
            await mobile.get_by_role("button", name="Logg inn").click()
            await expect(mobile.get_by_role("button", name="Hold inne for alarm")).to_be_visible()
            await expect(mobile.locator("#reports-asked")).to_be_hidden()
            session = await mobile.evaluate("TryggStore.get('session')")
            alarm_id = uuid4()
            raised = await httpx.AsyncClient(base_url=running.http, timeout=10).put(
                f"/api/mobile/alarms/{alarm_id}",
                headers={"Authorization": f"Bearer {session['token']}"},
                json={"level": "assist", "raised_at": datetime.now(UTC).isoformat()},
            )
            assert raised.status_code in (200, 201), raised.text
            central = running.central
            await until(
                lambda: (
                    (found := central.book.get(alarm_id)) is not None
                    and found.state is not AlarmState.RAISED
                ),
                what="the phone's alarm stored",
            )
            kari = next(p for p in central.settings.people() if p.user_id == "kari")
            assert central.answer(kari, CommandKind.RESOLVE, alarm_id) == []
            anne_web = Person("anne-web", "Anne Ansatt", "", frozenset({SITE}))
            await until(
                lambda: [a.ask.alarm_id for a in central.reports.asked_of(anne_web)] == [alarm_id],
                what="anne-web asked for a report",
            )
            await mobile.reload()
            asked = mobile.locator(f'#report-asks li[data-alarm="{alarm_id}"]')
            await expect(asked).to_contain_text("Du er bedt om å skrive en hendelsesrapport")
            link = asked.get_by_role("link", name="Skriv hendelsesrapport")
            await expect(link).to_have_attribute("href", f"/reports/new?alarm={alarm_id}")
            await phone.close()
        finally:
            await browser.close()
    db = sqlite3.connect(running.settings.store.path)
    try:
        assert (
            db.execute("SELECT count(*) FROM reports WHERE filed_by = 'anne-web'").fetchone()[0]
            == 1
        )
    finally:
        db.close()
