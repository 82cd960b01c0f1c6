"""``/metrics`` scraped from a real central: its numbers move by exactly what happened.

Real Mosquitto, a real ``trygg-central`` process, real ``trygg-desk --headless`` desks, the edge
agent on gpiozero's mock pins, and pysiaalarm as the alarm receiving centre of one site (the
other site's ARC does not answer). One stack serves the whole module; each test compares
scrapes it takes itself, before and after, and parses them with prometheus_client's own
parser. Every wait is bounded polling; nothing here measures time: the one duration checked
(time to the first "I'm coming") is compared with the alarm's own record.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from protocol import AlarmLevel, AlarmMessage, AlarmSource
from tests.central.helpers import mqtt_tester, publish
from tests.e2e.conftest import RunningEdge
from tests.support.arc import SiaReceiver
from tests.support.broker import Broker
from tests.support.net import free_port
from tests.support.stack import SITE, Central, running_desks, script

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "trygg.json"
BERGEN = "bergen-sentrum"
ACCOUNT = "4321"
USERS = {
    "kari": "Kari Nordmann",
    "ola": "Ola Hansen",
    "prom": "Prometheus",  # the scraper's account: role scraper, every site
    "drift": "Dag Drift",  # facility manager of every site (runs a self-test below)
    "emma": "Emma Ansatt",
    "frida": "Frida Forvalter",  # facility manager of Oslo only
}
ROLES: dict[str, tuple[str, ...]] = {
    "prom": ("scraper",),
    "drift": ("facility_manager",),
    "emma": ("employee",),
    "frida": ("facility_manager",),
}
DEVICES = (
    (SITE, "rom-101", "Møterom 101"),  # the edge agent of the tests
    (SITE, "rom-102", "Møterom 102"),  # a device on the wire (the tester's client)
    (BERGEN, "brg-101", "Bergen 101"),  # never heard
)
ZONES = {(SITE, "rom-101"): 1, (SITE, "rom-102"): 2, (BERGEN, "brg-101"): 1}
EVENTS = ("trygg_alarms_raised", "trygg_alarms_resolved", "trygg_alarm_first_coming_seconds")

Key = tuple[str, tuple[tuple[str, str], ...]]


def arc(port: int) -> tuple[str, ...]:
    """An unencrypted ARC account at ``port``, quick to give up on a receiver."""
    return (
        "[sites.arc]",
        f'account = "{ACCOUNT}"',
        f'receivers = ["127.0.0.1:{port}"]',
        "timeout_s = 1",
        "attempts = 1",
        "retry_delay_s = 0.2",
        "pause_s = 1",
    )


@pytest.fixture(scope="module")
def broker(module_broker: Broker) -> Broker:
    """The module's one Mosquitto (tests/conftest.py), under the name the edge fixture of
    tests/e2e/conftest.py asks for."""
    return module_broker


@pytest.fixture(scope="module")
def receiver() -> Iterator[SiaReceiver]:
    found = SiaReceiver([ACCOUNT]).start()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="module")
def central(
    broker: Broker, receiver: SiaReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Central]:
    c = Central(
        broker,
        tmp_path_factory.mktemp("central"),
        USERS,
        sites=(SITE, BERGEN),
        devices=DEVICES,
        user_sites={"frida": (SITE,)},
        roles=ROLES,
        site_extra={SITE: arc(receiver.port), BERGEN: arc(free_port())},  # nobody listens
        device_extra={key: (f"arc_zone = {zone}",) for key, zone in ZONES.items()},
    )
    c.start()
    try:
        yield c
    finally:
        c.stop()


class Scrape:
    """One parsed scrape: every sample by (name, labels)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[Key, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                self.samples[key] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        return self.samples[(name, tuple(sorted(labels.items())))]

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self.samples}

    def moved(self, before: Scrape) -> dict[Key, float]:
        """The event series (counters, histograms; not ``_created``) that changed since."""
        return {
            key: value - before.samples.get(key, 0.0)
            for key, value in self.samples.items()
            if key[0].startswith(EVENTS)
            and not key[0].endswith("_created")
            and value != before.samples.get(key, 0.0)
        }


def get(central: Central, user: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {central.tokens[user]}"} if user else {}
    return httpx.get(f"{central.url}/metrics", headers=headers, timeout=10, **kwargs)


def scrape(central: Central) -> Scrape:
    answer = get(central, "prom")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(answer.text)


async def until(central: Central, what: str, check: Callable[[Scrape], bool]) -> Scrape:
    """Scrape until ``check`` holds (bounded: 20 s)."""
    for _ in range(200):
        found = scrape(central)
        if check(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within 20 s\n{found.text}\n{central.logs()}")


def key(name: str, **labels: str) -> Key:
    return (name, tuple(sorted(labels.items())))


def open_alarms(found: Scrape) -> dict[tuple[str, str, str], float]:
    """The open alarms' non-zero series: (level, state, kind) → how many."""
    return {
        (labels["level"], labels["state"], labels["kind"]): value
        for (name, pairs), value in found.samples.items()
        if name == "trygg_alarms_open" and value
        for labels in [dict(pairs)]
    }


def stored(central: Central, alarm_id: str) -> dict[str, Any]:
    [alarm] = [a for a in central.alarms("kari") if a["alarm_id"] == alarm_id]
    return alarm


async def test_a_real_alarm_moves_the_numbers_by_exactly_what_happened(
    central: Central, broker: Broker, edge: RunningEdge, tmp_path: Path
) -> None:
    async with running_desks(central, ("kari", "ola"), tmp_path) as desks:
        kari, ola = desks["kari"], desks["ola"]
        before = await until(
            central,
            "the edge online and Oslo's ARC answering",
            lambda s: (
                s("trygg_devices", site=SITE, state="online") == 1
                and s("trygg_arc_link_up", site=SITE) == 1
            ),
        )
        # What is, read live: devices (one never heard is offline), screens, links, tests.
        assert before("trygg_devices", site=SITE, state="offline") == 1  # rom-102
        assert before("trygg_devices", site=BERGEN, state="offline") == 1
        assert before("trygg_devices", site=BERGEN, state="online") == 0
        assert before("trygg_screens_connected", site=SITE) == 2
        assert before("trygg_screens_connected", site=BERGEN) == 2
        assert before("trygg_arc_link_up", site=BERGEN) == 0  # its receiver does not answer
        assert before("trygg_mqtt_connected") == 1
        assert before("trygg_selftests_overdue", site=SITE, kind="e2e_test_alarm") == 1
        assert before("trygg_selftests_overdue", site=SITE, kind="device_selftest") == 1
        assert before("trygg_selftests_overdue", site=BERGEN, kind="device_selftest") == 0
        assert open_alarms(before) == {}
        assert "process_resident_memory_bytes" in before.names

        # A press: raised once it is stored, open as "received".
        edge.press(17)
        alarm = await kari.wait_for(lambda ln: ln["event"] == "alarm")
        alarm_id = alarm["alarm_id"]
        await kari.wait_for(lambda ln: ln.get("alarm_id") == alarm_id and ln["state"] == "received")
        raised = await until(
            central,
            "the raise counted",
            lambda s: open_alarms(s) == {("acute", "received", "real"): 1},
        )
        assert raised.moved(before) == {
            key("trygg_alarms_raised_total", level="acute", kind="real"): 1
        }

        # "I'm coming": the first answer is timed, once, as the record has it.
        await kari.send(f"coming {alarm_id}")
        for desk in (kari, ola):
            await desk.wait_for(
                lambda ln: ln.get("alarm_id") == alarm_id and ln["state"] == "acknowledged"
            )
        coming = await until(
            central,
            "the first coming timed",
            lambda s: s("trygg_alarm_first_coming_seconds_count", level="acute") == 1,
        )
        record = stored(central, alarm_id)
        [answered] = [e for e in record["events"] if e["kind"] == "coming"]
        took = (
            datetime.fromisoformat(answered["at"]) - datetime.fromisoformat(record["raised_at"])
        ).total_seconds()
        moved = coming.moved(raised)
        seconds = moved.pop(key("trygg_alarm_first_coming_seconds_sum", level="acute"))
        assert math.isclose(seconds, max(0.0, took), abs_tol=1e-6)
        assert moved.pop(key("trygg_alarm_first_coming_seconds_count", level="acute")) == 1
        buckets = {dict(labels)["le"]: v for (_, labels), v in moved.items()}
        assert set(moved) == {
            key("trygg_alarm_first_coming_seconds_bucket", level="acute", le=le) for le in buckets
        }
        assert buckets == {le: 1 for le in buckets if float(le) >= seconds}
        assert "+Inf" in buckets
        assert open_alarms(coming) == {("acute", "acknowledged", "real"): 1}

        # A second colleague coming is not a first answer: nothing moves.
        await ola.send(f"coming {alarm_id}")
        await kari.wait_for(
            lambda ln: ln.get("alarm_id") == alarm_id and len(ln.get("responders", ())) == 2
        )
        # All clear: resolved, nothing open.
        await ola.send(f"resolve {alarm_id}")
        await kari.wait_for(lambda ln: ln.get("alarm_id") == alarm_id and ln["state"] == "resolved")
        resolved = await until(central, "the resolution", lambda s: open_alarms(s) == {})
        assert resolved.moved(coming) == {
            key("trygg_alarms_resolved_total", level="acute", kind="real"): 1
        }

        # A test alarm from a device on the wire: counted as a test, never as real.
        test_alarm = AlarmMessage(
            site=SITE,
            device="rom-102",
            alarm_id=uuid4(),
            level=AlarmLevel.ASSIST,
            room="Møterom 102",
            source=AlarmSource.BUTTON,
            input="desk",
            raised_at=datetime.now(UTC),
            test=True,
        )
        async with mqtt_tester(broker) as tester:
            await publish(tester, test_alarm)
        tested = await until(
            central,
            "the test alarm stored",
            lambda s: open_alarms(s) == {("assist", "received", "test"): 1},
        )
        assert tested.moved(resolved) == {
            key("trygg_alarms_raised_total", level="assist", kind="test"): 1
        }
        # Every write so far went through the writer: its commits were timed.
        commits = tested("trygg_store_commit_seconds_count")
        assert commits > before("trygg_store_commit_seconds_count")
        assert tested("trygg_store_commit_seconds_bucket", le="+Inf") == commits
        assert tested("trygg_store_commit_seconds_sum") > before("trygg_store_commit_seconds_sum")

        # A device self-test that passes takes the device off the overdue list.
        drift = {"Authorization": f"Bearer {central.tokens['drift']}"}
        async with httpx.AsyncClient(base_url=central.url, headers=drift, timeout=10) as api:
            answer = await api.post(
                "/api/schedules/daily-device-selftest/run",
                params={"site": SITE, "device": "rom-101"},
            )
            assert answer.status_code == 202, answer.text
            [run_id] = answer.json()["runs"]
            for _ in range(200):
                run = (await api.get(f"/api/tests/{run_id}")).json()
                if run["result"] != "open":
                    break
                await asyncio.sleep(0.1)
        assert run["result"] == "passed", run
        await until(
            central,
            "rom-101's self-test passed",
            lambda s: s("trygg_selftests_overdue", site=SITE, kind="device_selftest") == 0,
        )

        # The edge goes away: offline at once (its clean shutdown says so).
        edge.agent.stop()
        gone = await until(
            central,
            "rom-101 offline",
            lambda s: s("trygg_devices", site=SITE, state="offline") == 2,
        )
        assert gone("trygg_devices", site=SITE, state="online") == 0
    # The desks have left: no screen anywhere.
    await until(
        central,
        "the desks gone",
        lambda s: (
            s("trygg_screens_connected", site=SITE) == 0
            and s("trygg_screens_connected", site=BERGEN) == 0
        ),
    )


async def test_a_broker_restart_is_one_reconnect(central: Central, broker: Broker) -> None:
    before = scrape(central)
    broker.stop()
    await until(central, "the link down", lambda s: s("trygg_mqtt_connected") == 0)
    broker.start()
    after = await until(central, "the link back", lambda s: s("trygg_mqtt_connected") == 1)
    assert after("trygg_mqtt_reconnects_total") == before("trygg_mqtt_reconnects_total") + 1


def test_only_an_account_that_may_read_metrics_of_every_site_gets_them(
    central: Central,
) -> None:
    anonymous = get(central, None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json() == {"detail": "please log in"}
    # A token in the URL is never read: still anonymous.
    assert get(central, None, params={"token": central.tokens["prom"]}).status_code == 401
    for user in ("emma", "kari"):  # an employee, a responder: their roles may not
        refused = get(central, user)
        assert refused.status_code == 403, user
        assert refused.json() == {"detail": "your role does not allow this"}
        assert "trygg_" not in refused.text
    one_site = get(central, "frida")  # the role may, but the numbers cover every site
    assert one_site.status_code == 403
    assert "every site" in one_site.json()["detail"]
    assert "trygg_" not in one_site.text
    assert get(central, "drift").status_code == 200  # a facility manager of every site
    assert get(central, "prom").status_code == 200


def test_the_scraper_account_of_the_operations_page_scrapes_and_does_nothing_else(
    central: Central,
) -> None:
    """docs/operations.md's commands: an account of its own with the role ``scraper``, a token
    from ``user token``; the token reads /metrics and may do nothing else."""
    config = ("--config", str(central.config))
    add = ("user", "add", "prometheus", "--name", "Prometheus", "--roles", "scraper")
    subprocess.run(
        [script("trygg-central"), *add, "--sites", "*", "--password-stdin", *config],
        input=secrets.token_urlsafe(32) + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    made = subprocess.run(
        [script("trygg-central"), "user", "token", "prometheus", "--label", "prometheus", *config],
        text=True,
        check=True,
        capture_output=True,
    )
    token = made.stdout.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    answer = httpx.get(f"{central.url}/metrics", headers=bearer, timeout=10)
    assert answer.status_code == 200, answer.text
    assert Scrape(answer.text)("trygg_mqtt_connected") == 1
    # Whoever gets hold of the token can neither start a test round nor read the alarms.
    round_ = httpx.post(
        f"{central.url}/api/test-rounds", headers=bearer, json={"site": SITE}, timeout=10
    )
    assert round_.status_code == 403, round_.text
    assert httpx.get(f"{central.url}/api/alarms", headers=bearer, timeout=10).status_code == 403


def test_the_grafana_dashboard_asks_only_for_what_central_exposes(central: Central) -> None:
    exposed = scrape(central).names
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    queries: list[str] = [
        v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        for v in variables.values()
        if v["type"] == "query"
    ]
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert re.search(r"\btrygg_\w+", target["expr"]), (panel["title"], target["expr"])
            queries.append(target["expr"])
    used = {name for query in queries for name in re.findall(r"\btrygg_\w+", query)}
    assert used - exposed == set(), "the dashboard asks for metrics central does not expose"
    # And it shows every metric central has (each family, by some series of it).
    families = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", name)
        for name in exposed
        if name.startswith("trygg_")
    }
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert families - shown == set(), "metrics the dashboard does not show"
