"""The evidence page (central.web.evidence) against what the records say, one central for the
module: Mosquitto, central on uvicorn in this process, Debian's Chromium, poppler's tools.

A data set is written through the store's own writers before central starts (alarms real,
test and drill at both levels, from buttons, sensors, the desk and the phone, silent, answered
at known times, escalated; meetings with standby; incident reports seen, unseen and followed
up; self-test runs on time, late, failed, missed and open, test rounds, end-to-end tests;
drills; trainings; an old routines version read), then more goes through the running central
as people do it (an alarm over MQTT answered and resolved from the console, a report filed and
marked seen, routines confirmed, a training recorded). Every figure is then computed here
*independently*, from the raw SQLite rows with plain SQL and Python (never the core), and
compared with the JSON, the page's figures and the PDF's text; the PDF must open in
``pdftoppm`` as a page that is not blank. The page's links lead to the alarms they count, the
roles that may not read it are refused, a bad period changes nothing, axe finds no serious
problem, and its picture is saved (``TRYGG_EVIDENCE_SCREENSHOT_DIR``; docs/img keeps one).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from PIL import Image
from playwright.async_api import async_playwright

from central.config import CentralSettings
from central.core import AlarmEvent, EventKind, Persist, Role
from central.core.reports import FollowUp, Injuries, Kind, Place, Report, Seat, Seen
from central.core.standby import Answer, Colleague, Concern, Meeting
from central.store import Store, testlog
from central.store import accounts as account_rows
from central.store import drills as drill_rows
from central.store import meetings as meeting_rows
from central.store import reports as report_rows
from protocol import AlarmLevel, AlarmSource
from protocol.messages import Responder
from protocol.screen import AlarmState, AlarmView
from tests.central.helpers import (
    OTHER_SITE,
    SITE,
    Running,
    alarm_message,
    mqtt_tester,
    publish,
    serve,
    until,
)
from tests.support.broker import Broker
from tests.web.browser import ARGS, chromium_path
from tests.web.console import PASSWORD, console_settings, log_in, password_hash

pytestmark = pytest.mark.asyncio(loop_scope="module")

OSLO = ZoneInfo("Europe/Oslo")
ROUTINES = Path(__file__).parents[2] / "routines"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# user → (name, roles, sites): accounts with a password each (tests.web.console.PASSWORD).
PEOPLE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "lina": ("Lina Leder", ("leader",), (SITE,)),
    "vera": ("Vera Verneombud", ("safety_rep",), (SITE,)),
    "kari": ("Kari Responder", ("responder",), (SITE,)),
    "anne": ("Anne Ansatt", ("employee",), (SITE,)),
    "eva": ("Eva Ansatt", ("employee",), (SITE,)),
    "frank": ("Frank Forvalter", ("facility_manager",), (SITE,)),
    "bo": ("Bo Bergen", ("leader",), (OTHER_SITE,)),
    "root": ("Root Admin", ("admin",), ("*",)),
}
# Signed in through the console's login form once (a token is no login: pages need a session).
SESSIONS: dict[str, str] = {}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: `apt-get install poppler-utils`")
    return found


# --- the data set ----------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    running: Running
    db: Path
    first: date  # the period's first and last day (Oslo)
    last: date
    real_alarm: UUID  # raised over MQTT during the test
    versions: dict[str, str]  # user → the routines version their page shows

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=OSLO)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=OSLO)

    @property
    def query(self) -> str:
        return f"site={SITE}&period=custom&from={self.first}&to={self.last}"


def _view(
    site: str,
    level: str,
    source: str,
    raised: datetime,
    *,
    coming: tuple[tuple[str, float], ...] = (),
    test: bool = False,
    drill: bool = False,
    stage: int = 0,
    silent: bool = False,
    raised_by: str | None = None,
) -> Persist:
    """An alarm as central stores it, resolved: its row and its timeline."""
    alarm_id = uuid4()
    responders = tuple(
        Responder(user=u, name=PEOPLE[u][0], at=raised + timedelta(seconds=s)) for u, s in coming
    )
    resolved = raised + timedelta(minutes=5)
    view = AlarmView(
        alarm_id=alarm_id,
        site=site,
        device="rom-101" if source in ("button", "sensor") else f"{source}:{raised_by or 'x'}",
        room="Møterom 101",
        level=AlarmLevel(level),
        source=AlarmSource(source),
        input="desk",
        raised_at=raised,
        test=test,
        drill=drill,
        state=AlarmState.RESOLVED,
        responders=responders,
        resolved_at=resolved,
        resolved_by="kari",
        raised_by=raised_by,
        raised_by_name=PEOPLE[raised_by][0] if raised_by else None,
        shown_at=raised + timedelta(seconds=1),
        stage=stage,
        silent=silent,
    )
    events = [AlarmEvent(alarm_id, EventKind.RAISED, raised, "central")]
    events += [AlarmEvent(alarm_id, EventKind.COMING, r.at, r.user, r.name) for r in responders]
    events.append(AlarmEvent(alarm_id, EventKind.RESOLVED, resolved, "kari"))
    return Persist(alarm_id, view, tuple(events), insert=True)


def _meeting(
    site: str, start: datetime, answers: tuple[Answer, ...], cancelled: bool = False
) -> Any:
    colleagues = tuple(
        Colleague(user, PEOPLE[user][0], answer, None if answer is Answer.ASKED else start)
        for user, answer in zip(("kari", "lina", "root"), answers, strict=False)
    )
    meeting = Meeting(
        meeting_id=uuid4(),
        owner="anne",
        owner_name="Anne Ansatt",
        site=site,
        room="Møterom 101",
        address="",
        start=start,
        end=start + timedelta(hours=1),
        concern=Concern.HIGH,
        note="",
        any_responder=False,
        colleagues=colleagues,
        registered_at=start - timedelta(hours=2),
        cancelled_at=start - timedelta(minutes=30) if cancelled else None,
    )
    return meeting_rows.saved(meeting)


def _report(
    site: str,
    occurred: datetime,
    kinds: tuple[Kind, ...],
    *,
    leader: bool = False,
    safety_rep: bool = False,
    needed: bool = False,
    followed: bool = False,
    from_alarm: bool = False,
) -> list[Any]:
    report = Report(
        report_id=uuid4(),
        site=site,
        filed_by="anne",
        filed_by_name="Anne Ansatt",
        filed_at=occurred + timedelta(hours=1),
        alarm_id=uuid4() if from_alarm else None,
        from_alarm=from_alarm,
        kinds=kinds,
        place=Place.OFFICE,
        room="Møterom 101",
        occurred_at=occurred,
        injuries=Injuries.NONE,
        police=False,
        follow_up_needed=needed,
        text="Truet med å komme tilbake.",
    )
    later = occurred + timedelta(days=1)
    writes = [report_rows.filed(report, [], [], report.filed_at)]
    marks = [Seen(Seat.LEADER, "lina", "Lina Leder", later)] if leader else []
    marks += [Seen(Seat.SAFETY_REP, "vera", "Vera Verneombud", later)] if safety_rep else []
    if marks:
        writes.append(report_rows.seen_added(report.report_id, tuple(marks)))
    if followed:
        follow = FollowUp("Samtale holdt.", "lina", "Lina Leder", later)
        writes.append(report_rows.followed_up(report.report_id, follow))
    return writes


def _run(
    site: str,
    kind: str,
    started: datetime,
    result: str,
    *,
    device: str = "",
    trigger: str = "schedule",
    late: bool = False,
    buttons: tuple[tuple[str, str, bool], ...] = (),
) -> list[Any]:
    run_id = str(uuid4())
    writes = [
        testlog.start_run(
            run_id=run_id,
            kind=kind,
            schedule_id="" if trigger != "schedule" else kind,
            trigger=trigger,
            site=site,
            device=device,
            late=late,
            started_at=started,
            result="open",
        )
    ]
    if result != "open":
        checks = [
            testlog.CheckRow("button", ok, "tested" if ok else "not_tested", None, d, i)
            for d, i, ok in buttons
        ]
        finished = started + timedelta(seconds=20)
        writes.append(testlog.finish_run(run_id, result, "", finished, checks))
    return writes


def _seeds(now: datetime, first: date) -> list[Any]:
    """Everything written before central starts."""
    start = datetime.combine(first, time(0), tzinfo=OSLO)

    def ago(days: float, seconds: float = 0) -> datetime:
        return now - timedelta(days=days) + timedelta(seconds=seconds)

    writes: list[Any] = []
    alarms = [
        _view(SITE, "acute", "button", ago(10), coming=(("kari", 4), ("lina", 9))),
        _view(SITE, "assist", "button", ago(20), coming=(("kari", 8),), stage=1),
        _view(SITE, "acute", "sensor", ago(30), stage=2),  # nobody came
        _view(
            SITE, "assist", "mobile", ago(40), coming=(("kari", 15),), silent=True, raised_by="anne"
        ),
        _view(SITE, "acute", "mobile", ago(41), coming=(("lina", 33.5),), raised_by="eva"),
        _view(SITE, "acute", "desktop", ago(50), coming=(("kari", 60),), raised_by="anne"),
        _view(SITE, "assist", "desktop", ago(51), raised_by="eva"),  # nobody came
        _view(SITE, "assist", "button", start, coming=(("kari", 6.25),)),  # the first instant
        _view(SITE, "acute", "button", start - timedelta(seconds=1), coming=(("kari", 3),)),
        _view(SITE, "acute", "button", ago(300), coming=(("kari", 3),)),  # long before
        _view(OTHER_SITE, "acute", "button", ago(10), coming=(("kari", 2),)),  # another site
        _view(SITE, "assist", "button", ago(12), test=True),  # an end-to-end test alarm
    ]
    drills = [
        (_view(SITE, "assist", "button", ago(60), coming=(("kari", 12),), drill=True), ("vera",)),
        (_view(SITE, "acute", "button", ago(90), coming=(("lina", 20),), drill=True), ()),
        (_view(SITE, "assist", "button", ago(95), drill=True, raised_by="kari"), ()),
        (_view(SITE, "assist", "button", ago(250), drill=True), ()),  # before the period
        (_view(OTHER_SITE, "acute", "button", ago(60), drill=True), ()),
    ]
    for persist in alarms:
        writes.append(persist)
    for persist, in_room in drills:
        writes.append(persist)
        info = drill_rows.DrillInfo(
            kind="console",
            scenario="truende-bruker",
            started_by=("lina", "Lina Leder"),
            in_room=tuple((u, PEOPLE[u][0]) for u in in_room),
        )
        assert persist.alarm is not None
        writes.append(drill_rows.drill_recorded(persist.alarm, info, persist.alarm.raised_at))
    confirmed, declined, asked = Answer.CONFIRMED, Answer.DECLINED, Answer.ASKED
    writes += [
        _meeting(SITE, ago(5), (confirmed, asked)),
        _meeting(SITE, ago(6), (declined,)),
        _meeting(SITE, ago(7), (asked, asked)),
        _meeting(SITE, ago(8), (confirmed, confirmed), cancelled=True),
        _meeting(SITE, start - timedelta(seconds=1), (confirmed,)),
        _meeting(OTHER_SITE, ago(5), (confirmed,)),
    ]
    threat, violence, harassment = Kind.THREAT, Kind.VIOLENCE, Kind.HARASSMENT
    writes += [
        *_report(SITE, ago(3), (threat,), leader=True, from_alarm=True),
        *_report(
            SITE,
            ago(4),
            (threat, violence),
            leader=True,
            safety_rep=True,
            needed=True,
            followed=True,
        ),
        *_report(SITE, ago(9), (harassment,), needed=True),
        *_report(SITE, ago(11), (Kind.OTHER,), safety_rep=True, followed=True),
        *_report(SITE, start, (Kind.DAMAGE,)),
        *_report(SITE, ago(400), (violence,), leader=True),
        *_report(OTHER_SITE, ago(3), (violence,), leader=True),
    ]
    b1, b2, b3 = ("rom-101", "desk", True), ("rom-101", "wall", True), ("rom-102", "desk", False)
    writes += [
        *_run(SITE, "device_selftest", ago(2, 3600), "passed", device="rom-101"),
        *_run(SITE, "device_selftest", ago(3), "passed", device="rom-101"),
        *_run(SITE, "device_selftest", ago(3), "passed", device="rom-102", late=True),
        *_run(SITE, "device_selftest", ago(4), "failed", device="rom-102"),
        *_run(SITE, "device_selftest", ago(5), "missed"),
        *_run(SITE, "device_selftest", ago(6), "passed", device="rom-102", trigger="manual"),
        *_run(SITE, "device_selftest", ago(35), "passed", device="rom-101"),
        *_run(SITE, "device_selftest", ago(0, -1800), "open", device="rom-102"),
        *_run(SITE, "e2e_test_alarm", ago(3), "passed"),
        *_run(SITE, "e2e_test_alarm", ago(10), "failed"),
        *_run(SITE, "manual_round", ago(15), "failed", trigger="round", buttons=(b1, b3)),
        *_run(SITE, "manual_round", ago(45), "passed", trigger="round", buttons=(b1, b2)),
        *_run(SITE, "manual_round", ago(16), "due"),
        *_run(SITE, "device_selftest", ago(300), "passed", device="rom-101"),
        *_run(OTHER_SITE, "device_selftest", ago(3), "failed", device="brg-201"),
        # The devices central knows: rom-101 passed within the day, rom-102 not for days.
        testlog.saw_device(SITE, "rom-101", (), ago(100)),
        testlog.saw_device(SITE, "rom-102", (), ago(100)),
        testlog.saw_device(OTHER_SITE, "brg-201", (), ago(100)),
    ]
    # rom-101's latest self-test finished two hours ago (within its day): not overdue.
    writes += _run(SITE, "device_selftest", now - timedelta(hours=2), "passed", device="rom-101")
    trainings = [
        drill_rows.Training(
            str(uuid4()),
            SITE,
            (now - timedelta(days=100)).date(),
            "Opplæring",
            "lina",
            ago(100),
            (("anne", "Anne Ansatt"), ("eva", "Eva Ansatt")),
        ),
        drill_rows.Training(  # trained at another office counts (4.1: trained anywhere)
            str(uuid4()),
            OTHER_SITE,
            (now - timedelta(days=20)).date(),
            "Øvelse",
            "bo",
            ago(20),
            (("frank", "Frank Forvalter"),),
        ),
    ]
    writes += [drill_rows.training_added(t) for t in trainings]
    writes.append(drill_rows.routines_read(("eva", "Eva Ansatt"), "0" * 16, ago(30)))  # old
    for user, (name, roles, sites) in PEOPLE.items():
        account = account_rows.Account(
            user, name, password_hash(), frozenset(Role(r) for r in roles), frozenset(sites)
        )
        writes.append(partial(account_rows.save_account, found=account, now=now))
    return writes


def settings_for(broker: Broker, tmp: Path) -> CentralSettings:
    return console_settings(broker, tmp, {"users": []})


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    found = Broker(tmp_path_factory.mktemp("broker"))
    found.start()
    try:
        yield found
    finally:
        found.stop()


async def call(
    running: Running, user: str, method: str, path: str, lang: str = "", **kw: Any
) -> httpx.Response:
    """A request with ``user``'s session (and its CSRF token, as the console's forms send it),
    in the language ``lang`` when given (else the console's default, bokmål)."""
    session = SESSIONS[user]
    csrf = running.server.config.loaded_app.app.state.auth.csrf_token(session)
    cookies = {"trygg_session": session, **({"trygg_lang": lang} if lang else {})}
    headers = {"X-CSRF-Token": csrf}
    async with httpx.AsyncClient(base_url=running.http, cookies=cookies, timeout=20) as c:
        return await c.request(method, path, headers=headers, **kw)


async def _as_people_do(running: Running, broker: Broker) -> UUID:
    """What goes through the running central: an alarm answered and resolved, a report filed
    and seen, routines confirmed, a training recorded. Returns the alarm's id."""
    central = running.central
    message = alarm_message()
    async with mqtt_tester(broker) as tester:
        await publish(tester, message)
    await until(lambda: central.book.get(message.alarm_id) is not None, what="the alarm")
    coming = await call(running, "kari", "POST", f"/alarms/{message.alarm_id}/coming")
    assert coming.status_code == 303, coming.text
    resolved = await call(running, "kari", "POST", f"/alarms/{message.alarm_id}/resolve")
    assert resolved.status_code == 303, resolved.text

    def stored() -> bool:
        found = sqlite3.connect(f"file:{running.settings.store.path}?mode=ro", uri=True)
        try:
            row = found.execute(
                "SELECT state FROM alarms WHERE alarm_id = ?", [str(message.alarm_id)]
            ).fetchone()
        finally:
            found.close()
        return row is not None and row[0] == "resolved"

    await until(stored, what="the resolved alarm in the record")
    body = {
        "site": SITE,
        "kinds": ["threat"],
        "place": "office",
        "room": "Møterom 101",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "follow_up_needed": True,
        "text": "Kjeftet og truet.",
    }
    filed = await call(running, "anne", "POST", "/api/reports", json=body)
    assert filed.status_code == 201, filed.text
    seen = await call(running, "vera", "POST", f"/api/reports/{filed.json()['report_id']}/seen")
    assert seen.status_code in (200, 204), seen.text
    for user in ("anne", "kari", "vera"):
        page = await call(running, user, "GET", "/routines")
        version = re.search(r'data-version="(\w+)"', page.text)
        assert version, page.text[:300]
        confirmed = await call(
            running, user, "POST", "/routines/read", data={"version": version.group(1)}
        )
        assert "done=read" in confirmed.headers["location"], confirmed.headers["location"]
    trained = await call(
        running,
        "lina",
        "POST",
        "/training",
        data={
            "site": SITE,
            "held_on": datetime.now(UTC).date().isoformat(),
            "title": "Gjennomgang",
            "people": ["root"],
        },
    )
    assert "done=training_added" in trained.headers["location"], trained.headers["location"]
    return message.alarm_id


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    module_broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("central")
    settings = settings_for(module_broker, tmp)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.astimezone(OSLO).date()
    first = today - timedelta(days=200)
    store = Store(settings.store.path)
    await store.open()
    try:
        for write in _seeds(now, first):
            await store.submit(write)
    finally:
        await store.close()
    async with serve(settings) as running:
        answers = await asyncio.gather(*(log_in(running.http, user) for user in PEOPLE))
        for user, answer in zip(PEOPLE, answers, strict=True):
            assert answer.status_code == 303, answer.text
            SESSIONS[user] = answer.cookies["trygg_session"]
        alarm = await _as_people_do(running, module_broker)
        versions = {}
        for user in PEOPLE:
            page = await call(running, user, "GET", "/routines")
            versions[user] = re.search(r'data-version="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
        # The end of the period is today in Oslo: if the day turned while this ran, the page
        # would compute another period than this test (and say so below); it does not here.
        assert datetime.now(UTC).astimezone(OSLO).date() == today, "midnight passed mid-test"
        yield World(running, Path(settings.store.path), first, today, alarm, versions)


# --- the figures, computed here from the raw rows --------------------------------------------


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _median(values: list[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _p90(values: list[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-9 * len(ordered) // 10)  # ⌈0.9·n⌉
    return ordered[max(rank, 1) - 1]


def _share(done: int, of: int) -> dict[str, Any]:
    percent = None
    if of:
        percent = int((Decimal(100 * done) / Decimal(of)).quantize(Decimal(1), ROUND_HALF_UP))
    return {"done": done, "of": of, "percent": percent}


def _times(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "median_s": _median(values), "p90_s": _p90(values)}


def _people(db: sqlite3.Connection, settings: CentralSettings) -> list[str]:
    """Everyone of the site now: config users and enabled accounts covering it."""
    found = {u.id for u in settings.users if SITE in u.sites or "*" in u.sites}
    for user_id, sites, disabled in db.execute("SELECT user_id, sites, disabled FROM accounts"):
        covers = {SITE, "*"} & set(json.loads(sites))
        if covers and not disabled:
            found.add(user_id)
    return sorted(found)


def expected(w: World) -> dict[str, Any]:  # noqa: C901 - one figure after another
    db = sqlite3.connect(f"file:{w.db}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    now = datetime.now(UTC)

    def inside(at: datetime) -> bool:
        return w.start <= at < w.end

    def first_coming(alarm_id: str) -> datetime | None:
        times = [
            _t(r["at"])
            for r in db.execute(
                "SELECT at FROM events WHERE alarm_id = ? AND kind = 'coming'", [alarm_id]
            )
        ]
        return min(times, default=None)

    try:
        rows = [
            r
            for r in db.execute("SELECT * FROM alarms WHERE site = ?", [SITE])
            if inside(_t(r["raised_at"]))
        ]
        real = [r for r in rows if not r["test"] and not r["drill"]]

        def response(of: list[sqlite3.Row]) -> tuple[dict[str, Any], int]:
            seconds = []
            for r in of:
                came = first_coming(r["alarm_id"])
                if came is not None:
                    seconds.append((came - _t(r["raised_at"])).total_seconds())
            return _times(seconds), len(of) - len(seconds)

        months = []
        day = w.first.replace(day=1)
        while day <= w.last:
            months.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)

        def month(at: str) -> str:
            return _t(at).astimezone(OSLO).strftime("%Y-%m")

        all_times, unanswered = response(real)
        stages: dict[int, int] = {}
        for r in real:
            if r["stage"]:
                stages[r["stage"]] = stages.get(r["stage"], 0) + 1
        mobile = [r for r in real if r["source"] == "mobile"]
        desk = [r for r in real if r["source"] == "desktop"]
        mobile_times, mobile_unanswered = response(mobile)
        desk_times, desk_unanswered = response(desk)

        meetings = [
            r
            for r in db.execute("SELECT * FROM meetings WHERE site = ?", [SITE])
            if inside(_t(r["start"]))
        ]
        answers = [[c["answer"] for c in json.loads(r["colleagues"])] for r in meetings]

        reports = [
            r
            for r in db.execute("SELECT * FROM reports WHERE site = ?", [SITE])
            if inside(_t(r["occurred_at"]))
        ]
        seats = {
            r["report_id"]: {
                s["seat"]
                for s in db.execute(
                    "SELECT seat FROM report_seen WHERE report_id = ?", [r["report_id"]]
                )
            }
            for r in reports
        }
        n = len(reports)
        kinds = [k for r in reports for k in set(json.loads(r["kinds"]))]

        runs = [
            r
            for r in db.execute("SELECT * FROM test_runs WHERE site = ?", [SITE])
            if inside(_t(r["started_at"])) and r["result"] != "open"
        ]
        selftests = [r for r in runs if r["kind"] == "device_selftest"]
        on_time = [r for r in selftests if r["result"] == "passed" and not r["late"]]
        e2e = [r for r in runs if r["kind"] == "e2e_test_alarm"]
        rounds = [
            r
            for r in runs
            if r["kind"] == "manual_round"
            and r["trigger"] == "round"
            and r["result"] in ("passed", "failed")
        ]
        buttons = {
            (c["device"], c["input"])
            for r in rounds
            for c in db.execute(
                "SELECT device, input FROM test_checks WHERE run_id = ? AND name = 'button'"
                " AND ok = 1",
                [r["run_id"]],
            )
        }

        def last_passed(kind: str, device: str) -> datetime | None:
            found = [
                _t(r["finished_at"])
                for r in db.execute(
                    "SELECT finished_at FROM test_runs WHERE site = ? AND kind = ? AND device = ?"
                    " AND result = 'passed'",
                    [SITE, kind, device],
                )
            ]
            return max(found, default=None)

        daily = timedelta(days=1, minutes=15)  # routines/self-tests.toml: a day, 15 min grace
        weekly = timedelta(weeks=1, minutes=15)
        devices = [
            r["device"] for r in db.execute("SELECT device FROM devices WHERE site = ?", [SITE])
        ]
        overdue = sorted(
            d
            for d in devices
            if (last := last_passed("device_selftest", d)) is None or now - last > daily
        )
        e2e_last = last_passed("e2e_test_alarm", "")

        drills = []
        for r in db.execute(
            "SELECT d.alarm_id, d.recorded_at, a.raised_at, a.shown_at, a.resolved_at"
            " FROM drills d LEFT JOIN alarms a ON a.alarm_id = d.alarm_id WHERE d.site = ?",
            [SITE],
        ):
            if inside(_t(r["raised_at"] or r["recorded_at"])):
                drills.append(r)
        drill_seconds = []
        drill_log = []
        for r in drills:
            came = first_coming(r["alarm_id"])
            pressed = _t(r["raised_at"]) if r["raised_at"] else None

            def after(at: datetime | None, pressed: datetime | None = pressed) -> float | None:
                return None if at is None or pressed is None else (at - pressed).total_seconds()

            if came is not None and pressed is not None:
                drill_seconds.append((came - pressed).total_seconds())
            shown, resolved = (_t(r[k]) if r[k] else None for k in ("shown_at", "resolved_at"))
            drill_log.append(
                {
                    "alarm_id": r["alarm_id"],
                    "at": _t(r["raised_at"] or r["recorded_at"]).isoformat(),
                    "to_shown_s": after(shown),
                    "to_coming_s": after(came),
                    "to_resolved_s": after(resolved),
                }
            )
        drill_log.sort(key=lambda d: (_t(d["at"]), d["alarm_id"]), reverse=True)
        plan = tomllib.loads((ROUTINES / "drills.toml").read_text(encoding="utf-8"))
        per_year = next(p["per_year"] for p in plan["plan"] if "*" in p["sites"])
        days = (w.last - w.first).days + 1
        planned = int((Decimal(per_year * days) / Decimal(365)).quantize(Decimal(1), ROUND_HALF_UP))

        people = _people(db, w.running.settings)
        trained: set[str] = set()
        for r in db.execute(
            "SELECT p.user_id FROM training_people p JOIN trainings t USING (training_id)"
            " WHERE t.held_on <= ?",
            [w.last.isoformat()],
        ):
            trained.add(r["user_id"])
        for r in db.execute(
            "SELECT d.alarm_id, d.in_room, a.raised_by, a.raised_at FROM drills d"
            " JOIN alarms a ON a.alarm_id = d.alarm_id"
        ):
            if _t(r["raised_at"]).astimezone(OSLO).date() > w.last:
                continue
            trained |= {u for u, _ in json.loads(r["in_room"] or "[]")}
            if r["raised_by"]:
                trained.add(r["raised_by"])
            trained |= {
                e["actor"]
                for e in db.execute(
                    "SELECT actor FROM events WHERE alarm_id = ? AND kind = 'coming'",
                    [r["alarm_id"]],
                )
            }
        reads = {(r["user_id"], r["version"]) for r in db.execute("SELECT * FROM routine_reads")}
    finally:
        db.close()
    return {
        "meetings": {
            "registered": len(meetings),
            "standby_asked": sum(1 for a in answers if a),
            "standby_answered": sum(1 for a in answers if set(a) & {"confirmed", "declined"}),
            "standby_confirmed": sum(1 for a in answers if "confirmed" in a),
            "cancelled": sum(1 for r in meetings if r["cancelled_at"]),
        },
        "reports": {
            "filed": n,
            "from_alarm": sum(1 for r in reports if r["from_alarm"]),
            "seen_by_leader": _share(sum("leader" in s for s in seats.values()), n),
            "seen_by_safety_rep": _share(sum("safety_rep" in s for s in seats.values()), n),
            "seen_by_both": _share(sum({"leader", "safety_rep"} <= s for s in seats.values()), n),
            "follow_up_needed": sum(1 for r in reports if r["follow_up_needed"]),
            "followed_up": sum(1 for r in reports if r["follow_up_at"]),
            "open_follow_ups": sum(
                1 for r in reports if r["follow_up_needed"] and not r["follow_up_at"]
            ),
            "by_kind": [
                [k, kinds.count(k)] for k in ("threat", "violence", "harassment", "damage", "other")
            ],
        },
        "alarms": {
            "total": len(real),
            "assist": sum(1 for r in real if r["level"] == "assist"),
            "acute": sum(1 for r in real if r["level"] == "acute"),
            "response": all_times,
            "unanswered": unanswered,
            "escalated": sum(stages.values()),
            "by_stage": [[s, c] for s, c in sorted(stages.items())],
            "drills_left_out": sum(1 for r in rows if r["drill"]),
            "tests_left_out": sum(1 for r in rows if r["test"] and not r["drill"]),
            "by_month": [
                [
                    m,
                    sum(1 for r in real if month(r["raised_at"]) == m and r["level"] == "acute"),
                    sum(1 for r in real if month(r["raised_at"]) == m),
                ]
                for m in months
            ],
        },
        "mobile": {
            "total": len(mobile),
            "silent": sum(1 for r in mobile if r["silent"]),
            "response": mobile_times,
            "unanswered": mobile_unanswered,
        },
        "desk": {"total": len(desk), "response": desk_times, "unanswered": desk_unanswered},
        "tests": {
            "selftests_on_time": _share(len(on_time), len(selftests)),
            "selftests_failed": sum(1 for r in selftests if r["result"] in ("failed", "missed")),
            "e2e_done": len(e2e),
            "e2e_passed": sum(1 for r in e2e if r["result"] == "passed"),
            "rounds_done": len(rounds),
            "rounds_due": sum(
                1 for r in runs if r["kind"] == "manual_round" and r["trigger"] == "schedule"
            ),
            "buttons_tested": len(buttons),
            "overdue_devices": overdue,
            "site_test_overdue": e2e_last is None or now - e2e_last > weekly,
            "by_month": [
                [
                    m,
                    sum(1 for r in on_time if month(r["started_at"]) == m),
                    sum(1 for r in selftests if month(r["started_at"]) == m),
                ]
                for m in months
            ],
        },
        "routines": {"read": _share(sum((p, w.versions[p]) in reads for p in people), len(people))},
        "drills": {
            "held": len(drills),
            "planned": planned,
            "response": _times(drill_seconds),
            "unanswered": len(drills) - len(drill_seconds),
            "trained": _share(sum(p in trained for p in people), len(people)),
            "log": drill_log,
        },
    }


async def test_the_data_set_holds_what_it_was_made_to(world: World) -> None:
    """The seeds are what this test says they are (so the comparisons below compare
    something): a spread of every kind, each section with figures other than zero."""
    found = expected(world)
    assert found["alarms"]["total"] == 9  # 7 seeded in the period, the boundary one, MQTT's
    assert found["alarms"]["drills_left_out"] == 3
    assert found["alarms"]["tests_left_out"] == 1
    assert found["alarms"]["by_stage"] == [[1, 1], [2, 1]]
    assert found["mobile"]["response"] == {"count": 2, "median_s": 24.25, "p90_s": 33.5}
    assert found["desk"] == {
        "total": 2,
        "response": {"count": 1, "median_s": 60.0, "p90_s": 60.0},
        "unanswered": 1,
    }
    assert found["meetings"]["registered"] == 4
    assert found["reports"]["filed"] == 6  # 5 seeded in the period, one filed through the API
    assert found["tests"]["overdue_devices"] == ["rom-102"]
    assert found["tests"]["site_test_overdue"] is False
    assert found["tests"]["buttons_tested"] == 2
    assert found["drills"]["held"] == 3
    assert found["drills"]["response"] == {"count": 2, "median_s": 16.0, "p90_s": 20.0}
    assert found["routines"]["read"] == {"done": 3, "of": 7, "percent": 43}
    assert found["drills"]["trained"] == {"done": 7, "of": 7, "percent": 100}


async def test_the_json_equals_the_records(world: World) -> None:
    answer = await call(world.running, "lina", "GET", f"/api/evidence?{world.query}")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["site"] == SITE
    assert found["period"] == {
        "start": world.start.isoformat(),
        "end": world.end.isoformat(),
        "first_day": world.first.isoformat(),
        "last_day": world.last.isoformat(),
    }
    figures = {k: v for k, v in found.items() if k not in ("site", "period", "made_at")}
    assert figures == expected(world)


def _page_figures(page: str) -> dict[str, tuple[str, str, str]]:
    """key → (data-value, label, value text) of each figure row of the page."""
    found = {}
    for m in re.finditer(
        r'<tr data-figure="([^"]+)" data-value="([^"]*)"><th scope="row">(?:<a href="[^"]*">)?'
        r"(.*?)(?:</a>)?</th><td class=\"value\">(.*?)</td>",
        page,
    ):
        found[m.group(1)] = (
            html.unescape(m.group(2)),
            html.unescape(m.group(3)),
            html.unescape(m.group(4)),
        )
    return found


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "done" in value:
        return f"{value['done']}/{value['of']}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _expected_value(figures: dict[str, Any], key: str) -> str:
    parts = key.split(".")
    if parts[:2] == ["reports", "kind"]:
        return str(dict(figures["reports"]["by_kind"])[parts[2]])
    value: Any = figures
    for part in parts:
        value = value[part]
    return _raw(value)


def _open_pdf(content: bytes, tmp: Path) -> list[str]:
    """The PDF opened as a reader's tool opens it: ``pdftoppm`` draws its first page (which
    must not be blank), ``pdftotext`` gives its text; its lines, spaces collapsed."""
    path = tmp / "evidence.pdf"
    path.write_bytes(content)
    subprocess.run(
        [tool("pdftoppm"), "-png", "-r", "40", "-f", "1", "-l", "1", str(path), str(tmp / "p")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    [png] = list(tmp.glob("p*.png"))
    with Image.open(png) as image:
        assert image.width > 100
        darkest = image.convert("L").getextrema()[0]  # one band: (darkest, lightest)
    assert isinstance(darkest, int | float)
    assert darkest < 100, "the PDF's first page is blank"
    text = subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [" ".join(line.split()) for line in text.splitlines()]


async def test_the_page_and_the_pdf_equal_the_records(world: World, tmp_path: Path) -> None:
    running = world.running
    page = await call(running, "vera", "GET", f"/evidence?{world.query}")
    assert page.status_code == 200, page.text
    shown = _page_figures(page.text)
    assert len(shown) >= 45, sorted(shown)
    figures = expected(world)
    wrong = {
        key: (value, _expected_value(figures, key))
        for key, (value, _, _) in shown.items()
        if value != _expected_value(figures, key)
    }
    assert not wrong, wrong
    # Each drill of the period with its four times, as the drill log has them.
    for drill in figures["drills"]["log"]:
        row = page.text[page.text.index(f'<tr data-drill="{drill["alarm_id"]}">') :]
        row = row[: row.index("</tr>")]
        for which in ("shown", "coming", "resolved"):
            seconds = drill[f"to_{which}_s"]
            text = "–" if seconds is None else f"{seconds:.1f} s".replace(".", ",")
            assert f'<td data-time="{which}">{text}</td>' in row, (which, row)
    assert page.text.count("<tr data-drill=") == len(figures["drills"]["log"]) == 3
    # The words, as the safety representative reads them (bokmål by default).
    assert shown["alarms.total"][1:] == ("Ekte alarmer", str(figures["alarms"]["total"]))
    read = figures["routines"]["read"]
    assert shown["routines.read"][2] == f"{read['done']} av {read['of']} ({read['percent']} %)"
    median = figures["mobile"]["response"]["median_s"]
    assert shown["mobile.response.median_s"][2] == f"{median:.1f} s".replace(".", ",")
    assert f"{world.first:%d.%m.%Y} – {world.last:%d.%m.%Y}" in page.text

    pdf = await call(running, "vera", "GET", f"/api/evidence.pdf?{world.query}")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    lines = await asyncio.to_thread(_open_pdf, pdf.content, tmp_path)
    assert "Trygg - Dokumentasjon til årsgjennomgangen" in lines
    assert f"Periode: {world.first:%d.%m.%Y} - {world.last:%d.%m.%Y}" in lines
    plain = str.maketrans({"“": '"', "”": '"', "–": "-"})
    missing = [
        f"{label} {value}"
        for label, value in (
            (lab.translate(plain), val.translate(plain)) for _, lab, val in shown.values()
        )
        if f"{label} {value}" not in lines
    ]
    assert not missing, missing
    # And straight from the records, not through the page: a few lines as the committee reads them.
    reports = figures["reports"]
    for line in (
        f"Ekte alarmer {figures['alarms']['total']}",
        f"Akutt (pågående vold) {figures['alarms']['acute']}",
        f"Rapporter levert {reports['filed']}",
        f"Alarmer fra telefonen {figures['mobile']['total']}",
        f"Stille alarmer fra skrivebordsprogrammet {figures['desk']['total']}",
        "Enheter med forfalt test nå 1 (rom-102)",
        f"Øvelser holdt {figures['drills']['held']} av {figures['drills']['planned']} planlagt",
    ):
        assert line in lines, line
    for drill in figures["drills"]["log"]:
        pressed = _t(drill["at"]).astimezone(OSLO).strftime("%d.%m.%Y %H:%M")
        times = [
            "–" if drill[f"to_{k}_s"] is None else f"{drill[f'to_{k}_s']:.1f} s".replace(".", ",")
            for k in ("shown", "coming", "resolved")
        ]
        assert " ".join([pressed, *times]).replace("–", "-") in lines, drill


async def test_in_english_too(world: World, tmp_path: Path) -> None:
    page = await call(world.running, "vera", "GET", f"/evidence?{world.query}", lang="en")
    assert "<h1>Evidence for the yearly review</h1>" in page.text
    shown = _page_figures(page.text)
    figures = expected(world)
    assert shown["alarms.total"][1:] == ("Real alarms", str(figures["alarms"]["total"]))
    read = figures["routines"]["read"]
    assert shown["routines.read"][2] == f"{read['done']} of {read['of']} ({read['percent']} %)"
    median = figures["drills"]["response"]["median_s"]
    assert shown["drills.response.median_s"][2] == f"{median:.1f} s"
    pdf = await call(world.running, "vera", "GET", f"/api/evidence.pdf?{world.query}", lang="en")
    assert pdf.status_code == 200
    lines = await asyncio.to_thread(_open_pdf, pdf.content, tmp_path)
    assert "Trygg - Evidence for the yearly review" in lines
    assert f"Real alarms {figures['alarms']['total']}" in lines


async def test_each_figure_links_to_the_alarms_it_counts(world: World) -> None:
    page = await call(world.running, "lina", "GET", f"/evidence?{world.query}")
    links = dict(
        re.findall(r'<tr data-figure="([^"]+)"[^>]*><th scope="row"><a href="([^"]*)"', page.text)
    )
    figures = expected(world)
    for key, count in (
        ("alarms.total", figures["alarms"]["total"]),
        ("alarms.acute", figures["alarms"]["acute"]),
        ("alarms.assist", figures["alarms"]["assist"]),
        ("alarms.escalated", figures["alarms"]["escalated"]),
        ("mobile.total", figures["mobile"]["total"]),
        ("desk.total", figures["desk"]["total"]),
    ):
        history = await call(world.running, "lina", "GET", html.unescape(links[key]))
        assert history.status_code == 200, (key, history.text[:300])
        assert f'data-real-count="{count}"' in history.text, key
    drills = await call(
        world.running, "lina", "GET", html.unescape(links["alarms.drills_left_out"])
    )
    assert f'data-drill-count="{figures["alarms"]["drills_left_out"]}"' in drills.text
    for key in (
        "reports.filed",
        "tests.selftests_on_time",
        "routines.read",
        "drills.held",
        "drills.trained",
        "meetings.registered",
    ):
        assert (
            await call(world.running, "lina", "GET", html.unescape(links[key]))
        ).status_code == 200, key


async def test_who_may_read_it(world: World) -> None:
    """The site's leader, safety representative and admin; not another site's leader, the
    facility manager, a responder or an employee; nobody signed out."""
    for user, status in (
        ("lina", 200),
        ("vera", 200),
        ("root", 200),
        ("bo", 403),  # another site's leader
        ("frank", 403),
        ("kari", 403),
        ("anne", 403),
    ):
        for path in ("/evidence", "/api/evidence", "/api/evidence.pdf"):
            answer = await call(world.running, user, "GET", f"{path}?{world.query}")
            assert answer.status_code == status, (user, path, answer.status_code)
    own = await call(world.running, "bo", "GET", "/api/evidence")  # his own site by default
    assert own.status_code == 200
    assert own.json()["site"] == OTHER_SITE
    assert own.json()["alarms"]["total"] == 1
    async with httpx.AsyncClient(base_url=world.running.http, timeout=10) as nobody:
        assert (await nobody.get("/api/evidence")).status_code == 401


async def test_a_bad_period_is_refused_and_computes_nothing(world: World) -> None:
    for query, why in (
        ("period=custom&from=2026-05-01&to=2026-04-01", "last_before_first"),
        ("period=custom&from=2026-05-01", "custom_needs_days"),
        ("period=custom&from=31.02.2026&to=2026-04-01", "bad_day"),
        ("period=decade", "unknown_period"),
        ("period=custom&from=0001-01-01&to=0001-01-02", "out_of_range"),
    ):
        page = await call(world.running, "lina", "GET", f"/evidence?{query}")
        assert page.status_code == 400, query
        assert f'data-problem="{why}"' in page.text
        assert "data-figure" not in page.text
        answer = await call(world.running, "lina", "GET", f"/api/evidence?{query}")
        assert answer.status_code == 400
        assert answer.json()["detail"] == f"bad period: {why}"
    unknown = await call(world.running, "root", "GET", "/api/evidence?site=nowhere")
    assert unknown.status_code == 404


def _year_before(day: date) -> date:
    return date(day.year - 1, day.month, 28 if (day.month, day.day) == (2, 29) else day.day)


async def test_the_presets(world: World) -> None:
    today = datetime.now(UTC).astimezone(OSLO).date()
    for preset, first, last in (
        ("last12", _year_before(today) + timedelta(days=1), today),
        ("this_year", date(today.year, 1, 1), date(today.year, 12, 31)),
        ("last_year", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ):
        found = (await call(world.running, "lina", "GET", f"/api/evidence?period={preset}")).json()
        assert (found["period"]["first_day"], found["period"]["last_day"]) == (
            first.isoformat(),
            last.isoformat(),
        ), preset
    default = (await call(world.running, "lina", "GET", "/api/evidence")).json()
    assert default["period"]["last_day"] == today.isoformat()


async def test_the_page_in_a_browser(world: World, tmp_path: Path) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 800}, locale="nb-NO"
            )
            page = await context.new_page()
            await page.goto(f"{world.running.http}/login")
            await page.get_by_label("Brukernavn").fill("lina")
            await page.get_by_label("Passord").fill(PASSWORD)
            await page.get_by_role("button", name="Logg inn").click()
            await page.get_by_role("link", name="Dokumentasjon").click()
            await page.select_option("#e-period", "custom")
            await page.fill("#e-from", world.first.isoformat())
            await page.fill("#e-to", world.last.isoformat())
            await page.get_by_role("button", name="Vis").click()
            await page.wait_for_url(lambda url: "period=custom" in url)
            heading = page.get_by_role("heading", level=1)
            assert await heading.text_content() == "Dokumentasjon til årsgjennomgangen"
            assert await page.locator("[data-figure]").count() >= 45
            assert await page.locator("figure.chart svg").count() == 2
            results = await Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
            assert results.response["passes"], "axe checked nothing"
            serious = [
                f"{v['id']}: {v['help']}"
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == []
            shot = Path(os.environ.get("TRYGG_EVIDENCE_SCREENSHOT_DIR", str(tmp_path)))
            # The picture: the top of the page, down to the alarms' chart (3.2).
            chart = await page.locator('[data-chart^="alarms-"]').bounding_box()
            assert chart is not None
            bottom = chart["y"] + chart["height"] + 24
            await page.screenshot(
                path=str(shot / "console-evidence.png"),
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": bottom},
            )
        finally:
            await browser.close()
