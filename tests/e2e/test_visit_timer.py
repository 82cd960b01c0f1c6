"""The lone-work visit timer on real processes: ``trygg-central``, headless ``trygg-desk``s, a
local Web Push endpoint, and the phone played by HTTP calls exactly as the page at ``/m`` makes
them (protocol.visits) — until it goes silent: no page at all, the test just stops calling.

Kari (an account with a password) logs her phone in, hands central its push subscription
(made by the test: its own P-256 key pair and auth secret, as a browser would), and starts a
home visit ending in ~2 s with no grace, Ola as her colleague. She posts one position and then
nothing. Central asks her phone (the push is decrypted here and its text checked) and Ola's
desk ("call her"); nobody checks out, so central raises an assist alarm by itself: on the
site's desks, raised by Kari, with her last position, "visit timer" on its timeline. A second
visit checked out in time raises nothing, and a visit survives a restart of central.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx

from central.core.visits import alarm_id_of
from tests.e2e.test_mobile_alarm import PASSWORD, add_phone_user
from tests.support.broker import Broker
from tests.support.push_endpoint import push_endpoint
from tests.support.stack import SITE, Central, running_desks

USERS = {"ola": "Ola Nordmann", "per": "Per Hansen"}
# ~2 s: asked, then the alarm; the push endpoint is on loopback (http), refused by default.
ANSWER_WITHIN = ("[visits]", "answer_within_min = 0.03", "push_allow_private = true")


@asynccontextmanager
async def phone_for(central: Central) -> AsyncIterator[httpx.AsyncClient]:
    """Kari's phone, logged in once (a phone credential, as the page gets it)."""
    async with httpx.AsyncClient(base_url=central.url, timeout=10) as phone:
        login = {"username": "kari", "password": PASSWORD, "label": "Kari sin"}
        credential = await phone.post("/api/mobile/credential", json=login)
        assert credential.status_code == 201, credential.text
        phone.headers["Authorization"] = f"Bearer {credential.json()['token']}"
        yield phone


def visit_body(seconds: float, grace_min: float = 0, **extra: Any) -> dict[str, Any]:
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    body = {"visit_id": str(uuid4()), "until": until.isoformat(), "grace_min": grace_min}
    return {**body, "address": "Storgata 1", **extra}


async def state_of(phone: httpx.AsyncClient, visit_id: str, want: str) -> dict[str, Any]:
    for _ in range(600):
        found: dict[str, Any] = (await phone.get(f"/api/mobile/visits/{visit_id}")).json()
        if found["state"] == want:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"visit {visit_id} never {want}: {found}")


async def test_a_silent_phone_is_asked_then_its_visit_raises_an_assist_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    central = Central(broker, tmp_path, USERS, extra=ANSWER_WITHIN)
    add_phone_user(central)
    central.start()
    try:
        async with (
            push_endpoint() as pushes,
            running_desks(central, USERS, tmp_path) as desks,
            phone_for(central) as phone,
        ):
            key = (await phone.get("/api/mobile/push-key")).json()["public_key"]
            assert len(key) == 87  # 65 bytes (an uncompressed P-256 point), base64url
            subscribed = await phone.put(
                "/api/mobile/push-subscription", json=pushes.subscription()
            )
            assert subscribed.status_code == 204, subscribed.text

            body = visit_body(2, colleague="ola")
            started = await phone.post("/api/mobile/visits", json=body)
            assert started.status_code == 201, started.text
            assert (started.json()["state"], started.json()["site"]) == ("running", SITE)
            visit_id = body["visit_id"]
            here = {
                "lat": 59.9127,
                "lon": 10.7461,
                "accuracy_m": 15.0,
                "at": datetime.now(UTC).isoformat(),
            }
            posted = await phone.post(f"/api/mobile/visits/{visit_id}/position", json=here)
            assert posted.status_code == 204
            # From here on the phone says nothing: locked, dead or out of coverage.

            push = (await pushes.wait(1))[0]
            assert pushes.refused == []
            assert push.headers["authorization"].startswith("vapid t=")
            assert json.loads(push.text) == {
                "title": "Trygg",
                "body": "Er du OK? Sjekk ut av besøket",
                "url": "/m",
                "visit_id": visit_id,
            }

            notice = await desks["ola"].wait_for(lambda line: line["event"] == "visit_overdue")
            assert (notice["visit_id"], notice["user"], notice["address"]) == (
                visit_id,
                "kari",
                "Storgata 1",
            )
            assert notice["text"].startswith(
                "Kari Nordmann has not checked out of the home visit (Storgata 1, until "
            )
            assert notice["text"].endswith(") — call them.")
            # Only the chosen colleague is asked: Per's desk has no notice.
            assert not [line for line in desks["per"].lines if line["event"] == "visit_overdue"]

            alarm_id = str(alarm_id_of(UUID(visit_id)))
            shown = await desks["per"].wait_for(
                lambda line: line.get("alarm_id") == alarm_id and line["event"] == "alarm"
            )
            assert (shown["source"], shown["level"], shown["raised_by"], shown["room"]) == (
                "mobile",
                "assist",
                "kari",
                "Mobil – Kari Nordmann",
            )
            assert shown["position"]["lat"] == 59.9127
            assert shown["where"].endswith(": 59.91270, 10.74610 ± 15 m")
            raised = await state_of(phone, visit_id, "raised")
            assert raised["alarm_id"] == alarm_id

            for _ in range(300):  # the record is written behind the screens
                record = [a for a in central.alarms("ola") if a["alarm_id"] == alarm_id]
                if record:
                    break
                await asyncio.sleep(0.05)
            assert record, (central.alarms("ola"), central.logs())
            (first,) = [e for e in record[0]["events"] if e["kind"] == "raised"]
            assert "raised by the visit timer" in first["detail"]
            assert first["actor"] == "kari"
            # Asked once: the alarm came ~2 s after the push, and the visit is "raised" now
            # (the timer is done with it), so a second push would have come by now.
            assert len(pushes.received) == 1, pushes.received
    finally:
        central.stop()


async def test_a_visit_checked_out_in_time_raises_nothing_and_survives_a_restart(
    broker: Broker, tmp_path: Path
) -> None:
    central = Central(broker, tmp_path, USERS, extra=ANSWER_WITHIN)
    add_phone_user(central)
    central.start()
    try:
        async with (
            push_endpoint() as pushes,
            running_desks(central, USERS, tmp_path) as desks,
            phone_for(central) as phone,
        ):
            await phone.put("/api/mobile/push-subscription", json=pushes.subscription())
            early = visit_body(2)
            assert (await phone.post("/api/mobile/visits", json=early)).status_code == 201
            out = await phone.post(f"/api/mobile/visits/{early['visit_id']}/checkout")
            assert (out.status_code, out.json()["state"]) == (200, "checked_out")

            # A second visit, overdue later: once it has raised its alarm, the first (due
            # long before it) has had every chance to raise one too.
            # ... and names a colleague with no desk connected: every desk of the site is asked.
            late = visit_body(3, colleague="nobody-here")
            assert (await phone.post("/api/mobile/visits", json=late)).status_code == 201
            await state_of(phone, late["visit_id"], "raised")
            for user in USERS:
                asked = await desks[user].wait_for(lambda line: line["event"] == "visit_overdue")
                assert asked["visit_id"] == late["visit_id"]
            early_alarm = str(alarm_id_of(UUID(early["visit_id"])))
            assert [a for a in central.alarms("per") if a["alarm_id"] == early_alarm] == []
            assert all(early["visit_id"] not in p.text for p in pushes.received)
            assert not any(early_alarm == line.get("alarm_id") for line in desks["per"].lines)

            kept = visit_body(3600, colleague="ola")
            assert (await phone.post("/api/mobile/visits", json=kept)).status_code == 201

        central.kill()  # a power cut: the visit is on disk
        central.start()
        async with httpx.AsyncClient(base_url=central.url, timeout=10) as again:
            again.headers["Authorization"] = phone.headers["Authorization"]
            found = await again.get(f"/api/mobile/visits/{kept['visit_id']}")
            assert found.status_code == 200, found.text
            assert (found.json()["state"], found.json()["colleague"]) == ("running", "ola")
            checked = await again.post(f"/api/mobile/visits/{kept['visit_id']}/checkout")
            assert checked.json()["state"] == "checked_out"
    finally:
        central.stop()
