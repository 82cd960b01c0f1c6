"""Escalation to the alarm receiving centre (ARC) on real processes: nobody answers a press, so
after the routine's delays it reaches the neighbouring site and then the ARC; the ARC hears each
alarm, its resolution and an evacuation exactly once, whatever central's power cuts; and a
receiving centre that goes away is a fault on the facility manager's desk until it is back (and
a lockdown that becomes an evacuation leaves no zone open at the ARC).

Real Mosquitto, real ``trygg-central`` and ``trygg-desk --headless`` processes, the edge agent
on mock pins, and pysiaalarm as the ARC in a process of its own (tests/support/arc.py): an
independent DC-09 receiver with an encrypted account, whose key central reads from the
environment variable its ``[sites.arc]`` section names. Every wait is bounded polling.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningEdge
from tests.support.arc import SiaReceiver
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk, running_desks
from tests.support.timeline import at, escalations, of, timeline, wait_until

NEIGHBOUR = "bergen-sentrum"
ACUTE, ASSIST = 17, 22  # the edge's buttons (tests.support.stack.edge_config)
ACCOUNT = "5678"
KEY_ENV = "TRYGG_TEST_ARC_KEY"
TEXT_KEY = "A1B2C3D4E5F60718"  # 16 hex characters used as the key's bytes (pysiaalarm's way)
# The registry: at a site with an ARC every device names its zone (arc_zone); rom-101 is 2.
DEVICES = (
    (SITE, "resepsjon", "Resepsjon"),
    (SITE, "rom-101", "Møterom 101"),
    (NEIGHBOUR, "bergen-101", "Bergen 101"),
)
ZONE = "002"
ARC_AFTER_S = 4  # the routine's ARC stage (neighbours after 1 s)
# The link's retry policy in the test config, and how long one round of tries can take.
TIMEOUT_S, ATTEMPTS, RETRY_DELAY_S, PAUSE_S = 1.0, 2, 0.2, 1.0
RETRY_TIME_S = ATTEMPTS * (TIMEOUT_S + RETRY_DELAY_S)
SLACK_S = 10  # process start-up, central's 0.5 s ticks, the desk's round trip


def routine(after: tuple[float, float]) -> str:
    """Both levels: the neighbours after ``after[0]``, the ARC after ``after[1]``. The "not
    shown" limit is set out of reach, so that only the delays decide when a stage is taken
    (a site whose only desk is away would otherwise escalate at once)."""
    lines = ["unseen_after_s = 600"]
    for level in ("acute", "assist"):
        for target, delay in zip(("neighbours", "arc"), after, strict=True):
            lines += [f"[[{level}.stages]]", f"after_s = {delay}", f'notify = ["{target}"]']
    return "\n".join(lines) + "\n"


def arc_section(port: int) -> tuple[str, ...]:
    return (
        "[sites.arc]",
        f'account = "{ACCOUNT}"',
        f'receivers = ["127.0.0.1:{port}"]',
        f'key_env = "{KEY_ENV}"',
        'key_encoding = "text"',
        f"timeout_s = {TIMEOUT_S}",
        f"attempts = {ATTEMPTS}",
        f"retry_delay_s = {RETRY_DELAY_S}",
        f"pause_s = {PAUSE_S}",
    )


def make_central(
    broker: Broker,
    workdir: Path,
    arc_port: int,
    users: dict[str, str],
    user_sites: dict[str, tuple[str, ...]],
    roles: dict[str, tuple[str, ...]] | None = None,
) -> Central:
    path = workdir / "escalation.toml"
    path.write_text(routine((1, ARC_AFTER_S)))
    return Central(
        broker,
        workdir,
        users,
        sites=(SITE, NEIGHBOUR),
        devices=DEVICES,
        user_sites=user_sites,
        roles=roles,
        site_extra={SITE: (f'neighbours = ["{NEIGHBOUR}"]', *arc_section(arc_port))},
        device_extra={(SITE, "resepsjon"): ("arc_zone = 1",), (SITE, "rom-101"): ("arc_zone = 2",)},
        extra=("[routines]", f'escalation = "{path}"'),
    )


@pytest.fixture
def arc_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ARC key in the environment central inherits (never in its config file)."""
    monkeypatch.setenv(KEY_ENV, TEXT_KEY)


@pytest.fixture
def receiver() -> Iterator[SiaReceiver]:
    arc = SiaReceiver([f"{ACCOUNT}:{TEXT_KEY}"]).start()
    try:
        yield arc
    finally:
        arc.stop()


def outbox(central: Central) -> dict[str, str]:
    """Central's ARC outbox (arc.db beside its store): each event's state."""
    db = central.dir / "arc.db"
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return dict(conn.execute("SELECT uniq, state FROM arc_outbox ORDER BY id").fetchall())
    except sqlite3.Error:  # not created yet, or busy for a moment: the caller polls again
        return {}


def log_text(central: Central) -> str:
    return central.log.read_text(errors="replace")


def cid(event: dict[str, Any]) -> tuple[str, str, str, str]:
    """An ADM-CID event as the ARC decoded it: qualifier, event code, zone, its SIA code."""
    return (event["qualifier"], event["event_type"], event["ri"], event["code"])


def arc_event(qualifier: str, code: str, zone: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: (
        e["type"] == "ADM-CID"
        and (e["qualifier"], e["event_type"], e["ri"]) == (qualifier, code, zone)
    )


def announce(central: Central, user: str, kind: str) -> None:
    answer = httpx.post(
        f"{central.url}/api/announcements",
        json={"site": SITE, "kind": kind},
        headers={"Authorization": f"Bearer {central.tokens[user]}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


async def power_cut(central: Central, screens: int) -> None:
    """kill -9 and a start on the same files; back once every desk has reconnected."""
    central.kill()
    await asyncio.to_thread(central.start)
    await central.wait_screens(screens, timeout=30)


@pytest.mark.usefixtures("arc_key")
async def test_the_arc_hears_an_unanswered_alarm_its_end_and_an_evacuation_once_each(
    broker: Broker, tmp_path: Path, edge: RunningEdge, receiver: SiaReceiver
) -> None:
    users = {"kari": "Kari Nordmann", "per": "Per Hansen"}
    central = make_central(
        broker, tmp_path, receiver.port, users, {"kari": (SITE,), "per": (NEIGHBOUR,)}
    )
    central.start()
    try:
        async with running_desks(central, users, tmp_path) as desks:
            kari, per = desks["kari"], desks["per"]

            # An alarm Kari answers at once never reaches the neighbours nor the ARC.
            edge.press(ASSIST)
            answered = (await kari.wait_for(lambda line: line["event"] == "alarm"))["alarm_id"]
            await kari.send(f"coming {answered}")
            await kari.wait_for(lambda line: of(answered)(line) and line["state"] == "acknowledged")

            # Nobody answers the next one: the neighbours get it after 1 s...
            edge.press(ACUTE)
            alarm_id = (
                await kari.wait_for(
                    lambda line: line["event"] == "alarm" and not of(answered)(line)
                )
            )["alarm_id"]
            seen = await per.wait_for(of(alarm_id))
            assert (seen["event"], seen["stage"], seen["escalated_to"]) == (
                "alarm",
                1,
                ["neighbours"],
            )
            await wait_until(
                "stage 1 on record", lambda: len(escalations(central, alarm_id)) == 1, central
            )
            # ... and a power cut strikes before its ARC stage.
            central.kill()
            assert "escalated (stage 2)" not in log_text(central), "killed too late to test"
            assert receiver.alarms() == []
            await asyncio.to_thread(central.start)
            await central.wait_screens(2, timeout=30)

            # After the restart the ARC stage comes, once, and the ARC decrypts a panic (120)
            # from the right account on rom-101's zone.
            got = await receiver.await_for(arc_event("1", "120", ZONE))
            assert (got["account"], got["encrypted"], got["partition"], got["code"]) == (
                ACCOUNT,
                True,
                "01",
                "PA",
            )
            assert escalations(central, alarm_id) == [
                "stage=1; to=neighbours; reason=no_answer; after_s=1",
                f"stage=2; to=arc; reason=no_answer; after_s={ARC_AFTER_S}",
            ]
            unique = f"{alarm_id}:panic:alarm"
            await wait_until(
                "the ARC's ACK recorded",
                lambda: outbox(central).get(unique) == "delivered",
                central,
            )

            # A power cut after the ARC stage: the restart offers the alarm again (it might
            # have been stored but not sent), and the outbox knows it was sent.
            await power_cut(central, 2)
            await wait_until(
                "the alarm offered again after the restart",
                lambda: f"ARC event {unique} of {SITE} was offered before" in log_text(central),
                central,
            )

            # Resolving it sends its restore (Contact ID qualifier 3: "panic restore").
            await kari.send(f"resolve {alarm_id}")
            restore = await receiver.await_for(arc_event("3", "120", ZONE))
            assert (restore["account"], restore["code"]) == (ACCOUNT, "PH")
            await kari.send(f"resolve {answered}")  # the ARC never had it: no restore
            await kari.wait_for(lambda line: of(answered)(line) and line["state"] == "resolved")
            restored = f"{alarm_id}:panic:restore"
            await wait_until(
                "the restore's ACK recorded",
                lambda: outbox(central).get(restored) == "delivered",
                central,
            )
            await power_cut(central, 2)
            await wait_until(
                "the restore offered again after the restart",
                lambda: f"ARC event {restored} of {SITE} was offered before" in log_text(central),
                central,
            )

            # An evacuation through the API is its own event (150, zone 901); "All clear" its
            # restore. The outbox sends in order, so once these are in, anything offered
            # before them (a repeat of the alarm or its restore) would be in too.
            await asyncio.to_thread(announce, central, "kari", "evacuate")
            evacuate = await receiver.await_for(arc_event("1", "150", "901"))
            assert evacuate["code"] == "UA"
            await asyncio.to_thread(announce, central, "kari", "all_clear")
            clear = await receiver.await_for(arc_event("3", "150", "901"))
            assert clear["code"] == "UH"

        alarms = receiver.alarms()
        assert [cid(e) for e in alarms] == [
            ("1", "120", ZONE, "PA"),
            ("3", "120", ZONE, "PH"),
            ("1", "150", "901", "UA"),
            ("3", "150", "901", "UH"),
        ]
        assert {(e["account"], e["encrypted"]) for e in alarms} == {(ACCOUNT, True)}
        # The answered alarm: no stage on record, answered before its ARC delay.
        assert escalations(central, answered) == []
        events = timeline(central, answered)
        coming = next(e for e in events if e["kind"] == "coming")
        raised = next(e for e in events if e["kind"] == "raised")
        assert (at(coming) - at(raised)).total_seconds() < ARC_AFTER_S, "answered too late"
        # The unanswered one: its ARC stage on record no earlier than the routine's delay.
        events = timeline(central, alarm_id)
        raised = next(e for e in events if e["kind"] == "raised")
        to_arc = next(e for e in events if e["detail"].startswith("stage=2; to=arc"))
        assert (at(to_arc) - at(raised)).total_seconds() >= ARC_AFTER_S
        assert log_text(central).count("goes to the ARC") == 1
    finally:
        central.stop()


@pytest.mark.usefixtures("arc_key")
async def test_an_unreachable_arc_is_a_fault_for_facility_managers_until_it_is_back(
    broker: Broker, tmp_path: Path, receiver: SiaReceiver
) -> None:
    users = {"frida": "Frida Drift", "kari": "Kari Nordmann"}
    central = make_central(
        broker,
        tmp_path,
        receiver.port,
        users,
        {"frida": (SITE,), "kari": (SITE,)},
        roles={"frida": ("facility_manager",)},
    )
    central.start()
    desk = Desk(central, "frida", tmp_path)
    arc = receiver
    try:
        await desk.start()
        await central.wait_screens(1)
        receiver.stop()  # the receiving centre goes away
        await asyncio.to_thread(announce, central, "kari", "lockdown")  # an event waits for it

        def arc_fault(cleared: bool) -> Callable[[dict[str, Any]], bool]:
            return lambda line: (
                line.get("event") == "fault"
                and line["kind"] == "arc_unreachable"
                and line["cleared"] is cleared
            )

        raised = await desk.wait_for(arc_fault(False), timeout=RETRY_TIME_S + SLACK_S)
        assert (raised["site"], raised["device"]) == (SITE, "")
        assert raised["reason"].startswith("the alarm receiving centre does not answer (")
        assert "ConnectionRefusedError" in raised["reason"]
        assert outbox(central) == {f"{lockdown_key(central)}:lockdown:alarm": "pending"}

        # The ARC is back on its address: the waiting lockdown (150, zone 902) gets there after
        # the pause, and the fault is cleared.
        arc = SiaReceiver([f"{ACCOUNT}:{TEXT_KEY}"], port=receiver.port).start()
        got = await arc.await_for(arc_event("1", "150", "902"), timeout=PAUSE_S + RETRY_TIME_S + 30)
        assert (got["account"], got["encrypted"], got["code"]) == (ACCOUNT, True, "UA")
        cleared = await desk.wait_for(arc_fault(True), timeout=SLACK_S)
        assert (cleared["site"], cleared["device"]) == (SITE, "")
        assert [
            line["cleared"]
            for line in desk.lines
            if line.get("event") == "fault" and line["kind"] == "arc_unreachable"
        ] == [False, True]
        assert outbox(central) == {f"{lockdown_key(central)}:lockdown:alarm": "delivered"}

        # The lockdown becomes an evacuation: the ARC's 902 is restored before 901 opens, and
        # "All clear" restores 901; no zone is left open at the ARC.
        await asyncio.to_thread(announce, central, "kari", "evacuate")
        await asyncio.to_thread(announce, central, "kari", "all_clear")
        await arc.await_for(arc_event("3", "150", "901"))
        assert [cid(e) for e in arc.alarms()] == [
            ("1", "150", "902", "UA"),
            ("3", "150", "902", "UH"),
            ("1", "150", "901", "UA"),
            ("3", "150", "901", "UH"),
        ]
    finally:
        await desk.stop()
        arc.stop()
        central.stop()


def lockdown_key(central: Central) -> str:
    """The id of the site's current announcement (the ARC event's key)."""
    answer = httpx.get(
        f"{central.url}/api/announcements",
        headers={"Authorization": f"Bearer {central.tokens['kari']}"},
        timeout=10,
    )
    [active] = answer.json()["active"]
    return str(active["announcement_id"])
