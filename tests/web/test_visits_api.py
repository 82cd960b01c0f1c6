"""The visit timer's API (protocol.visits, central.api.visits) over a real central and broker:
bad input refused with nothing changed, another user's visit unknown to the caller, a revoked
phone credential shut out, the visit on disk when the start is answered, the VAPID key made
once (0600) and served, the push subscription kept."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlite_utils import Database

from central.store import accounts as rows
from central.store import visits as stored
from central.visiting import VAPID_FILE
from tests.central.helpers import SITE
from tests.support.broker import Broker
from tests.web.console import console
from tests.web.test_mobile_api import phone, phone_token


def visit(minutes: float = 60, **extra: Any) -> dict[str, Any]:
    until = datetime.now(UTC) + timedelta(minutes=minutes)
    return {"visit_id": str(uuid4()), "until": until.isoformat(), "grace_min": 5, **extra}


async def test_a_visit_is_started_read_and_checked_out_by_its_owner_only(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        kari = await phone_token(c, "user-employee")
        ola = await phone_token(c, "user-responder", "Olas telefon")
        central = c.running.central
        body = visit(address="Storgata 1", colleague="user-responder")
        async with phone(c, kari["token"]) as mine, phone(c, ola["token"]) as other:
            started = await mine.post("/api/mobile/visits", json=body)
            assert started.status_code == 201, started.text
            found = started.json()
            assert (found["state"], found["site"], found["grace_min"], found["address"]) == (
                "running",
                SITE,
                5,
                "Storgata 1",
            )
            # Answered once on disk: a restart would keep it.
            kept = await central.read(stored.open_visits)
            assert [(str(v.visit_id), v.user, v.colleague) for v in kept] == [
                (body["visit_id"], "user-employee", "user-responder")
            ]
            again = await mine.post("/api/mobile/visits", json=body)  # a resend: the same visit
            assert (again.status_code, again.json()) == (201, found)

            visit_id = body["visit_id"]
            # Another user's visit id: unknown to them, and theirs to take never.
            assert (await other.get(f"/api/mobile/visits/{visit_id}")).status_code == 404
            taken = await other.post("/api/mobile/visits", json=body)
            assert (taken.status_code, taken.json()["detail"]) == (409, "visit_id_taken")
            out = await other.post(f"/api/mobile/visits/{visit_id}/checkout")
            assert out.status_code == 404
            here = {"lat": 59.9, "lon": 10.7, "accuracy_m": 9, "at": datetime.now(UTC).isoformat()}
            moved = await other.post(f"/api/mobile/visits/{visit_id}/position", json=here)
            assert moved.status_code == 404
            assert (await mine.get(f"/api/mobile/visits/{visit_id}")).json() == found

            assert (
                await mine.post(f"/api/mobile/visits/{visit_id}/position", json=here)
            ).status_code == 204
            far = {**here, "lat": 91}
            bad = await mine.post(f"/api/mobile/visits/{visit_id}/position", json=far)
            assert bad.status_code == 422
            assert (await mine.get(f"/api/mobile/visits/{visit_id}")).json()["position"][
                "lat"
            ] == 59.9

            done = await mine.post(f"/api/mobile/visits/{visit_id}/checkout")
            assert (done.status_code, done.json()["state"]) == (200, "checked_out")
            assert await central.read(stored.open_visits) == []
            late = await mine.post(f"/api/mobile/visits/{visit_id}/position", json=here)
            assert (late.status_code, late.json()["detail"]) == (409, "visit_ended")


async def test_bad_visits_are_refused_and_change_nothing(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        async with phone(c, kari["token"]) as mine:
            past = visit(minutes=-1)
            refused = await mine.post("/api/mobile/visits", json=past)
            assert (refused.status_code, refused.json()["detail"]) == (422, "until_past")
            long = visit(minutes=25 * 60)
            refused = await mine.post("/api/mobile/visits", json=long)
            assert (refused.status_code, refused.json()["detail"]) == (422, "too_long")
            for wrong in (
                {**visit(), "grace_min": -1},
                {**visit(), "until": "2099-01-01T10:00:00"},  # no time zone
                {**visit(), "visit_id": "not-a-uuid"},
                {**visit(), "address": "x" * 201},
                {**visit(), "site": "nowhere"},
            ):
                answer = await mine.post("/api/mobile/visits", json=wrong)
                assert answer.status_code in (403, 422), (wrong, answer.text)
            assert (await mine.get(f"/api/mobile/visits/{past['visit_id']}")).status_code == 404
            assert await central.read(stored.open_visits) == []


async def test_a_revoked_phone_is_shut_out_of_every_visit_route(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        body = visit()
        async with phone(c, kari["token"]) as mine:
            assert (await mine.post("/api/mobile/visits", json=body)).status_code == 201

            def revoke(db: Database) -> None:
                rows.revoke_token(db, rows.token_id_of(kari["token"]))

            await central.write(revoke)
            visit_id = body["visit_id"]
            here = {"lat": 59.9, "lon": 10.7, "accuracy_m": 9, "at": datetime.now(UTC).isoformat()}
            subscription = {
                "endpoint": "http://127.0.0.1:9/p",
                "keys": {"p256dh": "a", "auth": "b"},
            }
            answers = [
                await mine.post("/api/mobile/visits", json=visit()),
                await mine.get(f"/api/mobile/visits/{visit_id}"),
                await mine.post(f"/api/mobile/visits/{visit_id}/checkout"),
                await mine.post(f"/api/mobile/visits/{visit_id}/position", json=here),
                await mine.put("/api/mobile/push-subscription", json=subscription),
                await mine.get("/api/mobile/push-key"),
            ]
            assert [a.status_code for a in answers] == [401] * 6
            (still,) = await central.read(stored.open_visits)
            assert (str(still.visit_id), still.ended_at, still.position) == (visit_id, None, None)
            assert await central.read(stored.subscriptions) == {}


async def test_the_push_key_is_made_once_private_and_the_subscription_kept(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        key_file = central.visiting.key_path
        assert key_file.name == VAPID_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first = key_file.read_bytes()
        async with phone(c, kari["token"]) as mine:
            key = (await mine.get("/api/mobile/push-key")).json()["public_key"]
            assert key == central.visiting.push_key
            assert len(key) == 87
            subscription = {
                "endpoint": "https://push.example/abc",
                "keys": {"p256dh": "BPk", "auth": "xyz"},
            }
            put = await mine.put("/api/mobile/push-subscription", json=subscription)
            assert put.status_code == 204
            bad = await mine.put("/api/mobile/push-subscription", json={"endpoint": "ftp://x"})
            assert bad.status_code == 422
        assert await central.read(stored.subscriptions) == {"user-employee": subscription}
        await central.visiting.start()  # as at the next start: the same key, not a new one
        assert key_file.read_bytes() == first
        assert central.visiting.push_key == key
