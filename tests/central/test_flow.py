"""An alarm's whole life through real parts: Mosquitto, uvicorn, websockets and SQLite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    Command,
    CommandKind,
    ErrorFrame,
    Hello,
    Snapshot,
    encode_frame,
)
from tests.central.helpers import (
    KARI,
    OLA,
    OTHER_SITE,
    SITE,
    alarm_message,
    frame_of,
    get_json,
    make_settings,
    mqtt_tester,
    next_ack,
    next_frame,
    publish,
    screen,
    serve,
)
from tests.support.broker import Broker


async def test_alarm_reaches_screens_and_edge_hears_each_step(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, mqtt_tester(broker) as edge:
        await edge.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
        async with screen(running, KARI) as kari, screen(running, OLA) as ola:
            for ws in (kari, ola):
                assert isinstance(await next_frame(ws), Hello)
                assert isinstance(await next_frame(ws), Snapshot)
            message = alarm_message()
            await publish(edge, message)
            for ws in (kari, ola):
                new = await frame_of(ws, AlarmNew, alarm_id=message.alarm_id)
                assert new.alarm.state is AlarmState.RAISED
                received = await frame_of(ws, AlarmUpdate, alarm_id=message.alarm_id)
                assert received.alarm.state is AlarmState.RECEIVED
            ack = await next_ack(edge, alarm_id=str(message.alarm_id))
            assert ack["state"] == "received"

            coming = Command(type=CommandKind.COMING, alarm_id=message.alarm_id)
            await kari.send(encode_frame(coming))
            for ws in (kari, ola):
                update = await frame_of(ws, AlarmUpdate, state=AlarmState.ACKNOWLEDGED)
                assert [r.user for r in update.alarm.responders] == ["kari"]
            ack = await next_ack(edge, alarm_id=str(message.alarm_id), state="acknowledged")
            assert [r["user"] for r in ack["responders"]] == ["kari"]

            await ola.send(
                encode_frame(Command(type=CommandKind.RESOLVE, alarm_id=message.alarm_id))
            )
            for ws in (kari, ola):
                update = await frame_of(ws, AlarmUpdate, state=AlarmState.RESOLVED)
                assert update.alarm.resolved_by == "ola"
            ack = await next_ack(edge, alarm_id=str(message.alarm_id), state="resolved")
            assert ack["state"] == "resolved"

        record = await get_json(running, "/api/alarms", KARI)
        [alarm] = record["alarms"]
        assert alarm["state"] == "resolved"
        kinds = [e["kind"] for e in alarm["events"]]
        assert kinds[:2] == ["raised", "received"]
        assert "coming" in kinds
        assert kinds[-1] == "resolved"


async def test_same_alarm_twice_is_one_alarm_and_acked_again(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, mqtt_tester(broker) as edge:
        await edge.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
        message = alarm_message()
        await publish(edge, message)
        first = await next_ack(edge, alarm_id=str(message.alarm_id))
        await publish(edge, message)
        again = await next_ack(edge, alarm_id=str(message.alarm_id))
        assert first["state"] == again["state"] == "received"
        assert first["presses"] == again["presses"] == 1
        record = await get_json(running, "/api/alarms", OLA)
        assert [a["alarm_id"] for a in record["alarms"]] == [str(message.alarm_id)]
        assert [e["kind"] for e in record["alarms"][0]["events"]] == ["raised", "received"]


async def test_a_repress_is_acked_with_its_count_once_stored(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, mqtt_tester(broker) as edge:
        await edge.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
        message = alarm_message()
        await publish(edge, message)
        assert (await next_ack(edge, alarm_id=str(message.alarm_id)))["presses"] == 1
        await publish(edge, message.model_copy(update={"presses": 2}))
        ack = await next_ack(edge, alarm_id=str(message.alarm_id), presses=2)
        assert ack["state"] == "received"
        [stored] = (await get_json(running, "/api/alarms", OLA))["alarms"]
        assert stored["presses"] == 2


async def test_screens_see_only_their_sites_and_get_a_snapshot(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, mqtt_tester(broker) as edge:
        await edge.subscribe("trygg/v1/+/+/ack", qos=1)
        oslo, bergen = alarm_message(), alarm_message(site=OTHER_SITE, device="skranke-1")
        for message in (oslo, bergen):
            await publish(edge, message)
            await next_ack(edge, alarm_id=str(message.alarm_id))
        async with screen(running, KARI) as kari:
            hello = await next_frame(kari)
            assert (hello.user, hello.sites) == ("kari", (SITE,))
            snapshot = await next_frame(kari)
            assert [a.alarm_id for a in snapshot.alarms] == [oslo.alarm_id]
            # Commands on another site's alarm are refused, and the socket stays.
            await kari.send(
                encode_frame(Command(type=CommandKind.COMING, alarm_id=bergen.alarm_id))
            )
            error = await next_frame(kari)
            assert isinstance(error, ErrorFrame)
            assert error.reason.startswith("not_your_site")
        record = await get_json(running, "/api/alarms", KARI)
        assert [a["alarm_id"] for a in record["alarms"]] == [str(oslo.alarm_id)]
        everything = await get_json(running, "/api/alarms?limit=1", OLA)
        assert [a["alarm_id"] for a in everything["alarms"]] == [str(bergen.alarm_id)]
        async with httpx.AsyncClient(base_url=running.http) as client:
            forbidden = await client.get(
                "/api/alarms?site=bergen", headers={"Authorization": f"Bearer {KARI}"}
            )
            assert forbidden.status_code == 403
            assert (await client.get("/api/alarms")).status_code == 401
            wrong = await client.get("/api/alarms", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401


async def test_sockets_without_a_valid_token_are_refused_before_accept(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token-wrong"}):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(running.ws, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 403
        # Never a token in the URL (it ends up in logs): refused like no token at all.
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{running.ws}?token={KARI}"):
                pass
        assert refused.value.response.status_code == 403
        async with screen(running, KARI) as ws:  # the header is the way
            assert isinstance(await next_frame(ws), Hello)
        health = await get_json(running, "/healthz", OLA)
        assert health["rejected"]["screen_unauthorized"] == 3


async def test_bad_frames_get_an_error_and_the_socket_stays(broker: Broker, tmp_path: Path) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, screen(running, KARI) as ws:
        await next_frame(ws), await next_frame(ws)
        for bad in ("not json", '{"type": "dance", "alarm_id": "x"}', "x" * 5000):
            await ws.send(bad)
            error = await next_frame(ws)
            assert isinstance(error, ErrorFrame)
        await ws.send(encode_frame(Command(type=CommandKind.RESOLVE, alarm_id=uuid4())))
        error = await next_frame(ws)
        assert error.reason.startswith("unknown_alarm")
        health = await get_json(running, "/healthz", OLA)
        assert health["screens"] == 1
        assert health["rejected"] == {
            "screen_bad_json": 1,
            "screen_invalid_message": 1,
            "screen_too_large": 1,
        }


async def test_malformed_mqtt_is_counted_not_stored_and_central_serves(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, mqtt_tester(broker) as edge:
        good = alarm_message().model_dump(mode="json")
        topic = f"trygg/v1/{SITE}/rom-101/alarm"
        await edge.publish(topic, b"{not json", qos=1)
        await edge.publish(topic, b" " * (1 << 20), qos=1)
        await edge.publish(topic, json.dumps({**good, "presses": "many"}).encode(), qos=1)
        await edge.publish(topic, json.dumps({**good, "device": "rom-999"}).encode(), qos=1)
        await edge.publish(f"trygg/v1/{SITE}/Bad_Device/alarm", json.dumps(good).encode(), qos=1)
        await edge.publish(topic, json.dumps({**good, "v": 2}).encode(), qos=1)
        expected = {
            "bad_json": 1,
            "too_large": 1,
            "invalid_message": 1,
            "topic_mismatch": 1,
            "bad_topic": 1,
            "unknown_version": 1,
        }
        health: dict[str, Any] = {}

        async def counted() -> bool:
            nonlocal health
            health = await get_json(running, "/healthz", OLA)
            rejected: object = health["rejected"]
            return rejected == expected

        for _ in range(250):
            if await counted():
                break
            await asyncio.sleep(0.02)
        assert health["rejected"] == expected
        assert health["status"] == "ok"
        assert health["mqtt"] == "connected"
        assert (await get_json(running, "/api/alarms", OLA))["alarms"] == []
        # ... and a good alarm afterwards is handled as ever.
        await edge.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
        await edge.publish(topic, json.dumps(good).encode(), qos=1)
        assert (await next_ack(edge, alarm_id=good["alarm_id"]))["state"] == "received"


async def test_any_asgi_websocket_server_works_through_the_queued_outlet(
    broker: Broker, tmp_path: Path
) -> None:
    settings = make_settings(broker, tmp_path)
    async with (
        serve(settings, ws="websockets-sansio") as running,
        mqtt_tester(broker) as edge,
        screen(running, KARI) as ws,
    ):
        await next_frame(ws), await next_frame(ws)
        message = alarm_message()
        await publish(edge, message)
        new = await frame_of(ws, AlarmNew, alarm_id=message.alarm_id)
        assert new.alarm.room == "Møterom 101"
        await frame_of(ws, AlarmUpdate, state=AlarmState.RECEIVED)
