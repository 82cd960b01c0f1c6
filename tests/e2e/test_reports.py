"""Incident reports (2.4) on real processes: ``trygg-central``, headless ``trygg-desk``s,
Mosquitto, an edge agent on gpiozero mock pins, and a real SMTP server (aiosmtpd on loopback).
One stack for the module. Everyone is a database account with a password and a desk token: a
report is read in the console, which needs a login (the addresses are set by ``trygg-central
reports email``).

* Anne raises a silent alarm from her desk; Kari resolves it from hers. Anne's desk is asked to
  write a report and prints the console form's address; she files it. Lina (leader) and Vera
  (safety representative) of Oslo get a ``report_filed`` line on their desks and an e-mail;
  Bo, Bergen's leader, gets neither and may not open it. Lina and Vera mark it seen; the read
  log (Vera's to read) shows both of them.
* A press on the room's button while Anne holds a registered meeting there: Anne is the one
  asked (central does not know which desk sits in which room; the meeting says who was there).
* The SMTP server goes away and central restarts while an e-mail is owed: once the server is
  back, each e-mail arrives exactly once. The retention job, run by central at its start,
  anonymises a report older than the site's setting (under a new id: the old one finds
  nothing) and records its run; the CLI's dry run changes nothing and is recorded as such.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gpiozero.pins.mock import MockFactory

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.e2e.conftest import RunningEdge
from tests.support.agent_waits import wait_connected, wait_ready
from tests.support.broker import Broker
from tests.support.smtp import Inbox
from tests.support.stack import SITE, Central, Desk, Login, Session, edge_config, script

pytestmark = pytest.mark.asyncio(loop_scope="module")

BERGEN = "bergen"
# Each opens console pages, which need a session (a token is no login): an account with a
# password and a desk token (stack.Central.add_logins), not a config user. The first user's
# token reads health details (stack.Central.health): a responder.
USERS = {
    "kari": "Kari Nordmann",
    "anne": "Anne Ansatt",
    "lina": "Lina Leder",
    "vera": "Vera Verneombud",
    "bo": "Bo Bergensleder",
}
ROLES: dict[str, tuple[str, ...]] = {
    "anne": ("employee",),
    "lina": ("leader",),
    "vera": ("safety_rep",),
    "bo": ("leader",),
}
SITES: dict[str, tuple[str, ...]] = {
    "kari": (SITE,),
    "anne": (SITE,),
    "lina": (SITE,),
    "vera": (SITE,),
    "bo": (BERGEN,),
}
MAILED = ("lina", "vera", "bo")


def address(user: str) -> str:
    return f"{user}@nav.test"


class Stack:
    def __init__(self, central: Central, desks: dict[str, Desk], edge: RunningEdge, inbox: Inbox):
        self.central = central
        self.desks = desks
        self.edge = edge
        self.inbox = inbox
        self.sessions: dict[str, Session] = {}

    def client(self, user: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.central.tokens[user]}"}
        return httpx.AsyncClient(base_url=self.central.url, headers=headers, timeout=10)

    async def call(self, user: str, method: str, path: str, **kw: Any) -> httpx.Response:
        async with self.client(user) as c:
            return await c.request(method, path, **kw)

    async def page(self, user: str, path: str) -> httpx.Response:
        """A console page as ``user``'s browser gets it, signed in (once) by the login form."""
        if user not in self.sessions:
            self.sessions[user] = await asyncio.to_thread(self.central.log_in, user)
        async with self.sessions[user].async_client() as browser:
            return await browser.get(path)

    def db(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Central's record, read as an auditor would (read-only, beside the running central)."""
        path = self.central.dir / "central.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return list(conn.execute(query, params))
        finally:
            conn.close()


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    found = Broker(tmp_path_factory.mktemp("broker"))
    found.start()
    try:
        yield found
    finally:
        found.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(
    module_broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("reports")
    inbox = Inbox()
    inbox.start()
    central = Central(
        module_broker,
        tmp,
        {},
        sites=(SITE, BERGEN),
        devices=((SITE, "rom-101", "Møterom 101"),),
        site_extra={SITE: ("report_retention_days = 30",)},
        extra=(
            "[email]",
            f'host = "{inbox.host}"',
            f"port = {inbox.port}",
            'security = "none"',
            'from_address = "trygg@nav.test"',
            'console_url = "http://127.0.0.1:{port}"',
            "retry_max_s = 1",
        ),
    )
    text = central.config.read_text().replace("{port}", str(central.port))
    central.config.write_text(text)
    central.add_logins(
        *(
            Login(user, name, ROLES.get(user, ("responder",)), SITES[user], desk_token=True)
            for user, name in USERS.items()
        )
    )
    central.admin([["reports", "email", user, address(user)] for user in MAILED])
    central.start()
    desks = {user: Desk(central, user, tmp) for user in USERS}
    anne = desks["anne"].config
    anne.write_text(anne.read_text() + f'[location]\nsite = "{SITE}"\nroom = "Kontor 12"\n')
    settings = load_settings(EdgeSettings, edge_config(tmp, module_broker))
    pins = MockFactory()
    agent = EdgeAgent(settings, pin_factory=pins)
    task = asyncio.create_task(agent.run())
    try:
        for desk in desks.values():
            await desk.start()
        await central.wait_screens(len(desks))
        await wait_ready(agent, timeout=10)
        await wait_connected(agent, timeout=10)
        yield Stack(central, desks, RunningEdge(agent, pins), inbox)
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()
        for desk in desks.values():
            await desk.stop()
        central.stop()
        inbox.stop()


def report_body(**changes: Any) -> dict[str, Any]:
    found = {
        "site": SITE,
        "kinds": ["threat", "violence"],
        "place": "office",
        "room": "Kontor 12",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "injuries": "minor",
        "police": True,
        "follow_up_needed": True,
        "text": "Brukeren Ola Klient slo i bordet og truet meg.",
    }
    return found | changes


async def until_true(check: Any, what: str, timeout: float = 20) -> Any:
    for _ in range(int(timeout / 0.1)):
        found = await check() if asyncio.iscoroutinefunction(check) else check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


async def test_the_raiser_is_asked_and_leader_and_safety_rep_see_the_report(
    stack: Stack,
) -> None:
    anne, kari = stack.desks["anne"], stack.desks["kari"]
    await anne.send("silent-alarm")
    raised = await kari.wait_for(lambda ln: ln["event"] == "alarm" and ln["source"] == "desktop")
    alarm_id = raised["alarm_id"]
    assert raised["raised_by"] == "anne"
    await kari.send(f"resolve {alarm_id}")

    # Anne's desk asks her to write the report, with the console form's address.
    ask = await anne.wait_for(lambda ln: ln["event"] == "report_ask")
    assert (ask["alarm_id"], ask["why"], ask["room"], ask["closed"]) == (
        alarm_id,
        "raiser",
        "Kontor 12",
        False,
    )
    assert ask["url"] == f"{stack.central.url}/reports/new?alarm={alarm_id}"
    assert "hendelsesrapport" in ask["text"] or "incident report" in ask["text"]
    # Nobody else is asked.
    for user in ("kari", "lina", "vera", "bo"):
        assert not [ln for ln in stack.desks[user].lines if ln["event"] == "report_ask"]
    form = await stack.page("anne", ask["url"].removeprefix(stack.central.url))
    assert form.status_code == 200
    assert 'value="Kontor 12"' in form.text
    assert f'value="{alarm_id}"' in form.text
    assert "Ikke skriv navnet på brukeren" in form.text

    filed = await stack.call("anne", "POST", "/api/reports", json=report_body(alarm_id=alarm_id))
    assert filed.status_code == 201, filed.text
    rid = filed.json()["report_id"]
    closed = await anne.wait_for(lambda ln: ln["event"] == "report_ask" and ln["closed"])
    assert closed["alarm_id"] == alarm_id

    # The site's leader and safety representative are told on their desks...
    for user in ("lina", "vera"):
        told = await stack.desks[user].wait_for(lambda ln: ln["event"] == "report_filed")
        assert told["report_id"] == rid
        assert told["site"] == SITE
        assert told["url"] == f"{stack.central.url}/reports/{rid}"
        assert "Brukeren" not in json.dumps(told)
    # ...and Bo (Bergen's leader) is not: frames to a desk keep their order, and a lockdown
    # he announces at Bergen now reaches his desk after anything sent before it.
    bo = stack.desks["bo"]
    await bo.send(f"lockdown {BERGEN}")
    await bo.wait_for(lambda ln: ln["event"] == "announcement" and ln["active"])
    assert not [ln for ln in bo.lines if ln["event"] == "report_filed"]
    await bo.send(f"all_clear {BERGEN}")
    await bo.wait_for(lambda ln: ln["event"] == "announcement" and not ln["active"])

    # ...and by e-mail: exactly the two of them, with nothing of the report in it.
    mails = await stack.inbox.wait_for(lambda m: rid in m.body, count=2)
    assert sorted(r for m in mails for r in m.rcpt_tos) == [address("lina"), address("vera")]
    for mail in mails:
        assert mail.mail_from == "trygg@nav.test"
        assert mail.subject.startswith("Ny hendelsesrapport – Site oslo-sentrum")
        assert f"{stack.central.url}/reports/{rid}" in mail.body
        for detail in ("Ola Klient", "truet", "Kontor", "Anne", "vold", "violence", "threat"):
            assert detail not in mail.subject + mail.body

    # They open it and mark it seen; Bo may not open it; Kari (a responder) neither.
    for user, expected in (("bo", 404), ("kari", 404), ("lina", 200), ("vera", 200)):
        opened = await stack.page(user, f"/reports/{rid}")
        assert opened.status_code == expected, user
    assert "Ola Klient" in opened.text  # the safety representative reads the free text
    for user in ("lina", "vera"):
        marked = await stack.call(user, "POST", f"/api/reports/{rid}/seen")
        assert marked.status_code == 200, marked.text
    refused = await stack.call("bo", "POST", f"/api/reports/{rid}/seen")
    assert refused.status_code == 404
    seen = (await stack.call("lina", "GET", f"/api/reports/{rid}")).json()
    assert [s["name"] for s in seen["seen_by_leader"]] == ["Lina Leder"]
    assert [s["name"] for s in seen["seen_by_safety_rep"]] == ["Vera Verneombud"]
    # The read log: who opened it and when, for the safety representative.
    reads = (await stack.call("vera", "GET", f"/api/reports/{rid}/reads")).json()["reads"]
    assert [(r["user"], r["as"]) for r in reads] == [
        ("lina", "leader"),
        ("vera", "safety_rep"),
        ("lina", "leader"),
    ]
    page = await stack.page("vera", f"/reports/{rid}")
    assert 'data-reader="lina"' in page.text
    assert 'data-reader="vera"' in page.text
    assert (await stack.call("lina", "GET", f"/api/reports/{rid}/reads")).status_code == 403


async def test_a_button_press_asks_whoever_held_a_meeting_in_the_room(stack: Stack) -> None:
    now = datetime.now(UTC)
    meeting = {
        "site": SITE,
        "room": "Møterom 101",
        "start": (now - timedelta(minutes=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
        "concern": "high",
        "any_responder": True,
    }
    made = await stack.call("anne", "POST", "/api/meetings", json=meeting)
    assert made.status_code == 201, made.text
    kari, anne = stack.desks["kari"], stack.desks["anne"]
    before = len(anne.lines)
    stack.edge.press(17)
    alarm = await kari.wait_for(lambda ln: ln["event"] == "alarm" and ln["source"] == "button")
    await kari.wait_for(
        lambda ln: ln.get("alarm_id") == alarm["alarm_id"] and ln.get("state") != "raised"
    )
    await kari.send(f"resolve {alarm['alarm_id']}")
    ask = await anne.wait_for(
        lambda ln: ln["event"] == "report_ask" and ln["alarm_id"] == alarm["alarm_id"]
    )
    assert (ask["why"], ask["room"]) == ("meeting", "Møterom 101")
    assert not [ln for ln in kari.lines if ln["event"] == "report_ask"], (
        "the responder is not asked when the room's meeting names who was there"
    )
    # A press by mistake: Anne says no report is needed; recorded, and the prompt goes.
    done = await stack.call("anne", "POST", f"/api/reports/asked/{alarm['alarm_id']}/not-needed")
    assert done.status_code == 200
    assert done.json()["asked"] == []
    await anne.wait_for(
        lambda ln: (
            ln["event"] == "report_ask" and ln["alarm_id"] == alarm["alarm_id"] and ln["closed"]
        )
    )
    assert len(anne.lines) > before
    await stack.call("anne", "POST", f"/api/meetings/{made.json()['meeting_id']}/end")


async def test_outage_restart_and_retention(stack: Stack) -> None:
    """An e-mail owed through an SMTP outage and a restart of central is sent once; the
    retention job at central's start anonymises an old report and records its run."""
    central = stack.central
    old = await stack.call("anne", "POST", "/api/reports", json=report_body(kinds=["damage"]))
    assert old.status_code == 201
    old_id = old.json()["report_id"]
    await stack.inbox.wait_for(lambda m: old_id in m.body, count=2)

    stack.inbox.stop()  # the mail server goes away
    owed = await stack.call("anne", "POST", "/api/reports", json=report_body(kinds=["other"]))
    assert owed.status_code == 201
    rid = owed.json()["report_id"]

    def tried() -> bool:
        found = stack.db("SELECT status, attempts FROM report_mail WHERE report_id = ?", (rid,))
        return len(found) == 2 and all(s == "pending" and a >= 1 for s, a in found)

    await until_true(tried, "both e-mails tried and kept pending")

    # The old report is older than Oslo's 30 days (its date moved back, as time would).
    long_ago = (datetime.now(UTC) - timedelta(days=45)).isoformat()
    conn = sqlite3.connect(central.dir / "central.db", timeout=10)
    with conn:
        conn.execute("UPDATE reports SET filed_at = ? WHERE report_id = ?", (long_ago, old_id))
    conn.close()
    # The CLI's dry run says so and changes nothing but its own record.
    cli = await asyncio.create_subprocess_exec(
        script("trygg-central"),
        "reports",
        "purge",
        "--dry-run",
        "--config",
        str(central.config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    assert f"{SITE}: would anonymise 1 (retention 30 days)" in out.decode()
    assert stack.db("SELECT anonymised_at FROM reports WHERE report_id = ?", (old_id,)) == [(None,)]

    central.stop()
    central.start()  # the retention job runs at start; the outbox is taken up again
    stack.inbox.start()  # the mail server is back, on the same port

    mails = await stack.inbox.wait_for(lambda m: rid in m.body, count=2)

    def all_sent() -> bool:
        found = stack.db("SELECT status FROM report_mail WHERE report_id = ?", (rid,))
        return [s for (s,) in found] == ["sent", "sent"]

    await until_true(all_sent, "both e-mails marked sent")
    mails = [m for m in stack.inbox.messages if rid in m.body]
    assert sorted(r for m in mails for r in m.rcpt_tos) == [address("lina"), address("vera")]

    # Anonymised under a new id: the old one (in the e-mails' links, the logs) leads nowhere.
    assert (await stack.call("lina", "GET", f"/api/reports/{old_id}")).status_code == 404
    listed = (await stack.call("lina", "GET", "/api/reports")).json()["site"]
    [summary] = [r for r in listed if r["anonymised_at"] is not None]
    gone = (await stack.call("lina", "GET", f"/api/reports/{summary['report_id']}")).json()
    assert (gone["text"], gone["room"], gone["filed_by"]) == ("", "", None)
    assert gone["kinds"] == ["damage"]
    assert gone["filed_at"].endswith("T00:00:00+00:00")
    assert stack.db("SELECT count(*) FROM reports WHERE report_id = ?", (old_id,)) == [(0,)]
    kept = (await stack.call("lina", "GET", f"/api/reports/{rid}")).json()
    assert kept["text"].startswith("Brukeren")
    assert kept["anonymised_at"] is None
    runs = (await stack.call("vera", "GET", "/api/reports/retention-runs")).json()["runs"]
    by = [(r["by"], r["dry_run"], r["anonymised"]) for r in runs]
    assert ("schedule", False, 1) in by
    assert any(b.startswith("cli:") and dry and n == 1 for b, dry, n in by)
