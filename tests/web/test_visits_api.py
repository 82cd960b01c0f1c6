"""The visit timer's API (protocol.visits, central.api.visits) over a real central and broker:
bad input refused with nothing changed, another user's visit unknown to the caller, a revoked
phone credential shut out, the visit on disk when the start is answered, the VAPID key made
once (0600) and served (a broken key turns Web Push off, not central), the push subscription
kept per phone credential and dropped with it, an endpoint central must not post to refused."""

from __future__ import annotations

import asyncio
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
from tests.support.push_endpoint import push_endpoint
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
        kept = {rows.digest(kari["token"]): subscription}
        assert await central.read(stored.subscriptions) == kept
        await central.visiting.start()  # as at the next start: the same key, not a new one
        assert key_file.read_bytes() == first
        assert central.visiting.push_key == key
        assert [p.name for p in key_file.parent.iterdir() if p.name.startswith(".vapid-")] == []

        def revoke(db: Database) -> None:
            rows.revoke_token(db, rows.token_id_of(kari["token"]))

        await central.write(revoke)  # the phone is revoked: its subscription goes with it
        assert await central.read(stored.subscriptions) == {}


async def test_a_broken_push_key_turns_web_push_off_but_not_central(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        central.visiting.key_path.write_bytes(b"")  # as a crash mid-write would have left it
        await central.visiting.start()  # as at the next start: no exception
        assert central.visiting.push_key is None
        async with phone(c, kari["token"]) as mine:
            off = await mine.get("/api/mobile/push-key")
            assert (off.status_code, off.json()["detail"]) == (503, "web_push_off")
            # The timer itself goes on: a visit is still started (and would still be raised).
            assert (await mine.post("/api/mobile/visits", json=visit())).status_code == 201


PRIVATE_ENDPOINTS = [
    ("https://127.0.0.1/p", "the push endpoint's address 127.0.0.1 is not public"),
    ("https://10.1.2.3:8443/p", "the push endpoint's address 10.1.2.3 is not public"),
    ("https://[::1]/p", "the push endpoint's address ::1 is not public"),
    ("https://169.254.169.254/latest", "the push endpoint's address 169.254.169.254 is not public"),
    (
        "https://[::ffff:192.168.1.1]/p",
        "the push endpoint's address ::ffff:192.168.1.1 is not public",
    ),
    ("https://0.0.0.0/p", "the push endpoint's address 0.0.0.0 is not public"),
    ("https://224.0.0.1/p", "the push endpoint's address 224.0.0.1 is not public"),
    ("http://push.example/p", "the push endpoint must be https"),
    ("http://127.0.0.1:9/p", "the push endpoint must be https"),
]


async def test_a_push_endpoint_central_must_not_post_to_is_refused(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        keys = {"p256dh": "BPk", "auth": "xyz"}
        async with phone(c, kari["token"]) as mine:
            for endpoint, reason in PRIVATE_ENDPOINTS:
                body = {"endpoint": endpoint, "keys": keys}
                put = await mine.put("/api/mobile/push-subscription", json=body)
                assert (put.status_code, put.json()["detail"]) == (422, reason), endpoint
            assert await central.read(stored.subscriptions) == {}


async def test_private_push_endpoints_are_allowed_only_with_the_setting(
    broker: Broker, tmp_path: Path
) -> None:
    sections = {"visits": {"push_allow_private": True}}
    async with console(broker, tmp_path, sections) as c:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        body = {"endpoint": "http://127.0.0.1:9/p", "keys": {"p256dh": "BPk", "auth": "xyz"}}
        async with phone(c, kari["token"]) as mine:
            put = await mine.put("/api/mobile/push-subscription", json=body)
            assert put.status_code == 204, put.text
            ftp = await mine.put(
                "/api/mobile/push-subscription", json={**body, "endpoint": "ftp://x/"}
            )
            assert ftp.status_code == 422
        assert await central.read(stored.subscriptions) == {rows.digest(kari["token"]): body}


async def test_a_subscription_the_push_service_says_is_gone_is_dropped(
    broker: Broker, tmp_path: Path
) -> None:
    sections = {"visits": {"push_allow_private": True}}
    async with console(broker, tmp_path, sections) as c, push_endpoint() as pushes:
        kari = await phone_token(c, "user-employee")
        central = c.running.central
        pushes.status = 410  # as a push service answers for an unsubscribed browser
        async with phone(c, kari["token"]) as mine:
            put = await mine.put("/api/mobile/push-subscription", json=pushes.subscription())
            assert put.status_code == 204, put.text
            assert len(await central.read(stored.subscriptions)) == 1
            body = {**visit(minutes=1 / 60), "grace_min": 0}  # overdue in ~1 s
            assert (await mine.post("/api/mobile/visits", json=body)).status_code == 201
            (asked,) = await pushes.wait(1)
            assert body["visit_id"] in asked.text
            for _ in range(200):
                if await central.read(stored.subscriptions) == {}:
                    break
                await asyncio.sleep(0.05)
            assert await central.read(stored.subscriptions) == {}
