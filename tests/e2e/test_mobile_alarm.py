"""A phone's alarm on real processes: ``trygg-central`` and headless ``trygg-desk``s, the phone
played by HTTP calls exactly as the page at ``/m`` makes them (protocol.mobile).

Kari (an account with a password, made with ``trygg-central user add``) logs her phone in and
raises an acute alarm from it; Ola's desk at her site shows "Mobil – Kari Nordmann" with the
position, and then the position it moved to. Nobody answers within the routine's second, so it
escalates to Per's desk at the neighbouring site like any button's alarm; Ola answers "coming",
and the phone reads that he is coming.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from tests.e2e.test_escalation import NEIGHBOUR, routine
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, running_desks, script

PASSWORD = "Rett-hest-batteri-stift-42"
USERS = {"ola": "Ola Nordmann", "per": "Per Hansen"}


def of(alarm_id: str, event: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda line: line.get("alarm_id") == alarm_id and event in (None, line["event"])


def add_phone_user(central: Central) -> None:
    """Kari's account, as an admin makes it (her password on stdin)."""
    argv = [script("trygg-central"), "user", "add", "kari", "--name", "Kari Nordmann"]
    argv += ["--roles", "employee", "--sites", SITE, "--password-stdin"]
    argv += ["--config", str(central.config)]
    done = subprocess.run(argv, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_a_phone_alarm_reaches_the_desks_with_its_position_and_escalates(
    broker: Broker, tmp_path: Path
) -> None:
    path = tmp_path / "escalation.toml"
    path.write_text(routine(acute=(1,)))
    central = Central(
        broker,
        tmp_path,
        USERS,
        sites=(SITE, NEIGHBOUR),
        user_sites={"ola": (SITE,), "per": (NEIGHBOUR,)},
        site_extra={SITE: (f'neighbours = ["{NEIGHBOUR}"]',)},
        extra=("[routines]", f'escalation = "{path}"'),
    )
    add_phone_user(central)
    central.start()
    try:
        async with (
            running_desks(central, USERS, tmp_path) as desks,
            httpx.AsyncClient(base_url=central.url, timeout=10) as phone,
        ):
            login = {"username": "kari", "password": PASSWORD, "label": "Kari sin"}
            credential = await phone.post("/api/mobile/credential", json=login)
            assert credential.status_code == 201, credential.text
            assert credential.json()["site"] == SITE
            phone.headers["Authorization"] = f"Bearer {credential.json()['token']}"

            alarm_id = str(uuid4())
            now = datetime.now(UTC)
            here = {"lat": 59.9127, "lon": 10.7461, "accuracy_m": 12.0, "at": now.isoformat()}
            body = {"level": "acute", "silent": True, "raised_at": now.isoformat()}
            raised = await phone.put(
                f"/api/mobile/alarms/{alarm_id}", json={**body, "position": here}
            )
            assert raised.status_code == 200, raised.text

            shown = await desks["ola"].wait_for(of(alarm_id, "alarm"))
            assert (shown["source"], shown["room"], shown["raised_by_name"], shown["silent"]) == (
                "mobile",
                "Mobil – Kari Nordmann",
                "Kari Nordmann",
                True,
            )
            assert shown["where"].endswith(": 59.91270, 10.74610 ± 12 m")

            moved = {**here, "lat": 59.95, "at": (now + timedelta(seconds=5)).isoformat()}
            answer = await phone.post(f"/api/mobile/alarms/{alarm_id}/position", json=moved)
            assert answer.status_code == 204
            update = await desks["ola"].wait_for(
                lambda line: of(alarm_id, "update")(line) and line["position"]["lat"] == 59.95
            )
            assert update["where"].endswith(": 59.95000, 10.74610 ± 12 m")

            # Nobody came within the routine's second: the neighbouring site has it now.
            widened = await desks["per"].wait_for(of(alarm_id))
            assert (widened["room"], widened["stage"]) == ("Mobil – Kari Nordmann", 1)

            await desks["ola"].send(f"coming {alarm_id}")
            for _ in range(300):
                state = (await phone.get(f"/api/mobile/alarms/{alarm_id}")).json()
                if state["responders"]:
                    break
                await asyncio.sleep(0.05)
            assert (state["state"], state["stored"], state["shown"]) == (
                "acknowledged",
                True,
                True,
            )
            assert [r["name"] for r in state["responders"]] == ["Ola Nordmann"]

        [record] = [a for a in central.alarms("ola") if a["alarm_id"] == alarm_id]
        kinds = [e["kind"] for e in record["events"]]
        assert (kinds.count("raised"), kinds.count("escalated"), kinds.count("coming")) == (1, 1, 1)
        assert record["position"]["lat"] == 59.95
    finally:
        central.stop()


async def test_a_put_resent_after_central_was_killed_reads_stored_and_is_one_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    """The phone sent its alarm and never read ``stored`` (central died, kill -9, right after
    the write). Its resend to the restarted central is answered from the record: stored, and
    the record has the alarm raised once."""
    central = Central(broker, tmp_path, {"ola": "Ola Nordmann"})
    add_phone_user(central)
    central.start()
    try:
        async with httpx.AsyncClient(base_url=central.url, timeout=10) as phone:
            login = {"username": "kari", "password": PASSWORD, "label": "Kari sin"}
            credential = await phone.post("/api/mobile/credential", json=login)
            assert credential.status_code == 201, credential.text
            phone.headers["Authorization"] = f"Bearer {credential.json()['token']}"
            alarm_id = str(uuid4())
            body = {"level": "assist", "silent": False, "raised_at": datetime.now(UTC).isoformat()}
            first = await phone.put(f"/api/mobile/alarms/{alarm_id}", json=body)
            assert first.status_code == 200, first.text
            # Only the record (Ola's view of it) is watched: the phone reads nothing more.
            for _ in range(400):
                recorded = any(a["alarm_id"] == alarm_id for a in central.alarms("ola"))
                if recorded:
                    break
                await asyncio.sleep(0.05)
            assert recorded, "the alarm never reached the record"
            central.kill()
            central.start()
            again = await phone.put(f"/api/mobile/alarms/{alarm_id}", json=body)
            assert again.status_code == 200, again.text
            assert (again.json()["stored"], again.json()["state"]) == (True, "received")
        [record] = [a for a in central.alarms("ola") if a["alarm_id"] == alarm_id]
        assert [e["kind"] for e in record["events"]].count("raised") == 1
        assert (record["source"], record["raised_by"]) == ("mobile", "kari")
    finally:
        central.stop()
