"""The phone's API (protocol.mobile, central.api.mobile) over a real central and broker: the
credential, the alarm raised once however often it is sent, forged and implausible input
refused with nothing changed, the position kept while the alarm is active."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlite_utils import Database

from central.core import Person, Role
from central.store import accounts as rows
from protocol.screen import CommandKind
from tests.central.helpers import OTHER_SITE, SITE, until
from tests.support.broker import Broker
from tests.web.console import PASSWORD, Console, add_account, console

NOW = datetime.now(UTC)
HERE = {"lat": 59.9127, "lon": 10.7461, "accuracy_m": 12.5, "at": NOW.isoformat()}
LEADER = Person("leder", "Lea Leder", "", frozenset({"*"}), frozenset({Role.LEADER}))


def raised(**extra: Any) -> dict[str, Any]:
    return {"level": "acute", "silent": False, "raised_at": NOW.isoformat(), **extra}


async def phone_token(c: Console, user: str, label: str = "Karis telefon") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=c.url, timeout=10) as client:
        answer = await client.post(
            "/api/mobile/credential",
            json={"username": user, "password": PASSWORD, "label": label},
        )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def phone(c: Console, token: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=c.url, headers=headers, timeout=10)


async def record(c: Console, alarm_id: UUID) -> list[dict[str, Any]]:
    """The stored rows of ``alarm_id`` (the alarm record, as the API gives it)."""
    found = await c.running.central.recent(1000, None, include_tests=True)
    return [a for a in found if a["alarm_id"] == str(alarm_id)]


async def test_a_phone_logs_in_once_and_holds_a_revocable_labelled_token(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        user = "user-employee"
        credential = await phone_token(c, user)
        assert (credential["user"], credential["site"], credential["sites"]) == (
            user,
            SITE,
            [SITE, OTHER_SITE],
        )
        expires = datetime.fromisoformat(credential["expires_at"])
        assert timedelta(days=364) < expires - datetime.now(UTC) <= timedelta(days=365)
        central = c.running.central
        tokens = await central.read(lambda db: rows.tokens(db, user))
        mine = [t for t in tokens if t.token_id == rows.token_id_of(credential["token"])]
        assert [t.label for t in mine] == ["phone: Karis telefon"]
        issued = {"action": "token_issued", "target": mine[0].token_id}
        for _ in range(400):  # the audit trail is written behind the answer
            trail = await central.read(
                lambda db: list(db.query("SELECT action, target FROM audit_log ORDER BY seq"))
            )
            if issued in trail:
                break
            await asyncio.sleep(0.05)
        assert issued in trail
        assert {"action": "login", "target": user} in trail

        async with phone(c, credential["token"]) as client:
            assert (await client.get(f"/api/mobile/alarms/{uuid4()}")).status_code == 404

            def revoke(db: Database) -> None:
                rows.revoke_token(db, mine[0].token_id)

            await central.write(revoke)
            alarm_id = uuid4()
            refused = [
                await client.get(f"/api/mobile/alarms/{alarm_id}"),
                await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised()),
                await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=HERE),
            ]
        assert [a.status_code for a in refused] == [401, 401, 401]
        assert central.book.get(alarm_id) is None


async def test_a_wrong_password_is_401_and_counts_against_the_login_throttle(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c, httpx.AsyncClient(base_url=c.url) as client:
        body = {"username": "user-employee", "password": "feil-passord", "label": "x"}
        answer = await client.post("/api/mobile/credential", json=body)
        assert (answer.status_code, answer.json()) == (
            401,
            {"detail": "wrong username or password"},
        )
        assert "token" not in answer.text
        throttle = c.running.server.config.loaded_app.app.state.auth.throttle
        for _ in range(9):  # the account's limit is 10 failures in the window
            await client.post("/api/mobile/credential", json=body)
        good = {**body, "password": PASSWORD}
        throttled = await client.post("/api/mobile/credential", json=good)
        assert throttled.status_code == 429
        assert throttle.wait_s("user-employee", "127.0.0.1") > 0


async def test_the_same_alarm_sent_twice_is_one_alarm_in_the_record(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        token = (await phone_token(c, "user-employee"))["token"]
        alarm_id = uuid4()
        async with phone(c, token) as client:
            first = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(position=HERE))
            second = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised())
            assert (first.status_code, second.status_code) == (200, 200)
            assert first.json()["position"] == second.json()["position"]

            async def stored() -> dict[str, Any]:
                answer: dict[str, Any] = (await client.get(f"/api/mobile/alarms/{alarm_id}")).json()
                return answer

            states: list[dict[str, Any]] = []

            async def poll() -> bool:
                states.append(await stored())
                return bool(states[-1]["stored"])

            for _ in range(400):
                if await poll():
                    break
                await asyncio.sleep(0.05)
            assert states[-1] == {
                "alarm_id": str(alarm_id),
                "state": "received",
                "stored": True,
                "shown": False,
                "responders": [],
                "level": "acute",
                "silent": False,
                "position": {**HERE, "at": NOW.isoformat().replace("+00:00", "Z")},
            }
            again = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised())
            assert again.json()["stored"] is True
        [row] = await record(c, alarm_id)
        assert (row["source"], row["device"], row["room"], row["raised_by"]) == (
            "mobile",
            "mobile",
            "Mobil – User-Employee",
            "user-employee",
        )
        assert [e["kind"] for e in row["events"]].count("raised") == 1


async def test_a_forged_alarm_id_of_another_user_is_409_and_changes_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        await add_account(c.running, "nils", frozenset({Role.EMPLOYEE}), "Nils Nilsen")
        kari = (await phone_token(c, "user-employee"))["token"]
        nils = (await phone_token(c, "nils"))["token"]
        alarm_id = uuid4()
        async with phone(c, kari) as client:
            assert (await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised())).is_success
        central = c.running.central
        await until(lambda: central.book.stored(alarm_id), what="the alarm stored")
        async with phone(c, nils) as client:
            forged = await client.put(
                f"/api/mobile/alarms/{alarm_id}", json=raised(level="assist", position=HERE)
            )
            read = await client.get(f"/api/mobile/alarms/{alarm_id}")
            moved = await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=HERE)
        assert (forged.status_code, forged.json()) == (409, {"detail": "alarm_id_taken"})
        assert (read.status_code, moved.status_code) == (404, 404)
        after = central.book.get(alarm_id)
        assert after is not None
        assert (after.level, after.position, after.raised_by) == ("acute", None, "user-employee")
        [row] = await record(c, alarm_id)
        assert (row["level"], row["position"], row["raised_by"]) == ("acute", None, "user-employee")
        assert [e for e in row["events"] if e["actor"] == "nils"] == []


async def test_an_implausible_position_is_422_and_changes_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        token = (await phone_token(c, "user-employee"))["token"]
        central = c.running.central
        far = {**HERE, "lat": 123.4}
        vague = {**HERE, "accuracy_m": 5_000_000}
        new_id, alarm_id = uuid4(), uuid4()
        async with phone(c, token) as client:
            refused = await client.put(f"/api/mobile/alarms/{new_id}", json=raised(position=far))
            assert refused.status_code == 422
            assert central.book.get(new_id) is None
            ok = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(position=HERE))
            assert ok.status_code == 200
            await until(lambda: central.book.stored(alarm_id), what="the alarm stored")
            for bad in (far, vague, {**HERE, "at": "yesterday"}, {**HERE, "at": "2025-01-01"}):
                answer = await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=bad)
                assert answer.status_code == 422, bad
        assert await record(c, new_id) == []
        [row] = await record(c, alarm_id)
        assert row["position"]["lat"] == HERE["lat"]


async def test_a_newer_position_is_stored_and_a_resolved_alarm_takes_none(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        token = (await phone_token(c, "user-employee"))["token"]
        central = c.running.central
        alarm_id = uuid4()
        later = (NOW + timedelta(seconds=5)).isoformat()
        moved = {"lat": 59.95, "lon": 10.8, "accuracy_m": 40.0, "at": later}
        async with phone(c, token) as client:
            await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised())  # no position
            answer = await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=moved)
            assert answer.status_code == 204
            older = await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=HERE)
            assert older.status_code == 204  # older than the one kept: ignored

            async def stored_lat() -> object:
                rows_now = await record(c, alarm_id)
                return rows_now and (rows_now[0]["position"] or {}).get("lat")

            for _ in range(400):
                if await stored_lat() == 59.95:
                    break
                await asyncio.sleep(0.05)
            assert await stored_lat() == 59.95
            assert central.answer(LEADER, CommandKind.RESOLVE, alarm_id) == []
            await until(
                lambda: (v := central.book.get(alarm_id)) is not None and v.state == "resolved",
                what="the resolution stored",
            )
            late = {**moved, "at": (NOW + timedelta(seconds=9)).isoformat()}
            answer = await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=late)
            assert (answer.status_code, answer.json()) == (409, {"detail": "already_resolved"})
            final = (await client.get(f"/api/mobile/alarms/{alarm_id}")).json()
        assert (final["state"], final["position"]["lat"]) == ("resolved", 59.95)


async def test_a_site_no_longer_the_persons_falls_back_to_their_site_and_none_is_403(
    broker: Broker, tmp_path: Path
) -> None:
    """The phone names the site it got at login; an admin has moved the person since. The
    alarm goes to the site the person covers now (never refused for that, the timeline says
    so); a person left with no site at all is refused with the reason, nothing recorded."""
    async with console(broker, tmp_path) as c:
        await add_account(c.running, "nils", frozenset({Role.EMPLOYEE}), "Nils Nilsen")
        credential = await phone_token(c, "nils")
        assert credential["site"] == SITE
        central = c.running.central

        async def move(sites: frozenset[str]) -> None:
            found = await central.read(lambda db: rows.account(db, "nils"))
            assert found is not None
            moved = rows.Account(found.user_id, found.name, found.password_hash, found.roles, sites)
            await central.write(lambda db: rows.save_account(db, moved, central.clock()))

        await move(frozenset({OTHER_SITE}))
        alarm_id, lost_id = uuid4(), uuid4()
        async with phone(c, credential["token"]) as client:
            moved = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(site=SITE))
            assert moved.status_code == 200, moved.text
            await until(lambda: central.book.stored(alarm_id), what="the alarm stored")
            await move(frozenset())
            again = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(site=SITE))
            lost = await client.put(f"/api/mobile/alarms/{lost_id}", json=raised(site=SITE))
        assert (again.status_code, again.json()["stored"]) == (200, True)  # known: as it stands
        assert (lost.status_code, lost.json()) == (403, {"detail": "no_site"})
        assert central.book.get(lost_id) is None
        [row] = await record(c, alarm_id)
        assert row["site"] == OTHER_SITE
        [event] = [e for e in row["events"] if e["kind"] == "raised"]
        assert event["detail"].endswith(
            f"; no position; site '{SITE}' is no longer theirs: raised at their site '{OTHER_SITE}'"
        )
        assert await record(c, lost_id) == []


async def test_an_alarm_raised_longer_ago_than_retention_is_raised_once_if_the_record_lacks_it(
    broker: Broker, tmp_path: Path
) -> None:
    """Older than the book's memory: central looks in the record. Not there (a phone whose
    clock is behind) → raised all the same; a resend then reads it as it stands, once."""
    async with console(broker, tmp_path) as c:
        token = (await phone_token(c, "user-employee"))["token"]
        alarm_id = uuid4()
        old = (NOW - timedelta(days=8)).isoformat()
        async with phone(c, token) as client:
            late = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(raised_at=old))
            assert late.status_code == 200, late.text
            assert c.running.central.book.get(alarm_id) is not None
            await until(lambda: c.running.central.book.stored(alarm_id))
            again = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(raised_at=old))
            assert (again.status_code, again.json()["stored"]) == (200, True)
        assert len(await record(c, alarm_id)) == 1
        kinds = await c.running.central.read(
            lambda db: [
                r["kind"]
                for r in db.query("SELECT kind FROM events WHERE alarm_id = ?", [str(alarm_id)])
            ]
        )
        assert kinds.count("raised") == 1
