"""A phone's alarm on the console: the board and the alarm page say whose phone and where it
last was (or "uten posisjon"), the board follows its position, and with ``[map] tile_url``
the alarm page has the vendored Leaflet map, its tile host allowed by the page's CSP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from central.core import Role
from central.web.hardening import page_policy, tile_source
from tests.central.helpers import until
from tests.support.broker import Broker
from tests.web.console import Console, console
from tests.web.test_mobile_api import HERE, phone, phone_token, raised

TILES = "https://{s}.tile.example.org/{z}/{x}/{y}.png"


async def raise_from_phone(c: Console, position: dict[str, Any] | None) -> str:
    token = (await phone_token(c, "user-employee"))["token"]
    alarm_id = uuid4()
    async with phone(c, token) as client:
        answer = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised(position=position))
    assert answer.status_code == 200, answer.text
    central = c.running.central
    await until(lambda: central.book.stored(alarm_id), what="the phone's alarm stored")
    return str(alarm_id)


def test_the_tile_host_is_what_the_pages_policy_allows() -> None:
    assert tile_source(TILES) == "https://*.tile.example.org"
    assert tile_source(None) is None
    assert "img-src 'self' data: https://*.tile.example.org;" in page_policy(tile_source(TILES))


async def test_board_and_alarm_page_show_the_phone_and_no_map_without_tiles(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        alarm_id = await raise_from_phone(c, None)
        async with c.client(Role.ADMIN) as client:
            board = (await client.get("/board/live")).text
            page = await client.get(f"/alarms/{alarm_id}")
        assert "Mobil – User-Employee" in board
        assert 'data-position="no"><strong>Mobil:</strong> uten posisjon' in board
        assert page.status_code == 200
        assert "<h1>" in page.text
        assert "Mobil – User-Employee</h1>" in page.text
        assert 'data-position="no">uten posisjon</dd>' in page.text
        assert "alarm-map" not in page.text
        assert "leaflet" not in page.text
        assert "img-src 'self' data:;" in page.headers["content-security-policy"]


async def test_the_board_follows_the_position_and_the_page_maps_it(
    broker: Broker, tmp_path: Path
) -> None:
    sections = {"map": {"tile_url": TILES, "attribution": "© Kartverket"}}
    async with console(broker, tmp_path, sections) as c:
        alarm_id = await raise_from_phone(c, HERE)
        token = (await phone_token(c, "user-employee", "second"))["token"]
        later = {"lat": 60.39299, "lon": 5.32415, "accuracy_m": 8.0}
        later["at"] = datetime.now(UTC).isoformat()  # type: ignore[assignment]
        async with phone(c, token) as client:
            moved = await client.post(f"/api/mobile/alarms/{alarm_id}/position", json=later)
        assert moved.status_code == 204
        async with c.client(Role.ADMIN) as client:
            board = (await client.get("/board/live")).text
            assert ": 60.39299, 5.32415 ± 8 m" in board
            assert f'<a href="/alarms/{alarm_id}">Kart</a>' in board
            central = c.running.central
            await until(
                lambda: (
                    (v := central.book.get(UUID(alarm_id))) is not None
                    and v.position is not None
                    and v.position.lat == 60.39299
                ),
                what="the position in the book",
            )
            page = None
            for _ in range(400):  # the page reads the record, written behind the answer
                page = await client.get(f"/alarms/{alarm_id}")
                if "60.39299" in page.text:
                    break
                await asyncio.sleep(0.05)
            assert page is not None
            assert 'id="alarm-map"' in page.text
            assert 'data-lat="60.39299" data-lon="5.32415" data-accuracy="8.0"' in page.text
            assert f'data-tiles="{TILES}"' in page.text
            assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in page.text
            csp = page.headers["content-security-policy"]
            assert "img-src 'self' data: https://*.tile.example.org;" in csp
            assert "script-src 'self';" in csp
            leaflet = await client.get("/static/vendor/leaflet/leaflet.js")
            licence = await client.get("/static/vendor/leaflet/LICENSE")
        assert leaflet.status_code == 200
        assert "BSD 2-Clause License" in licence.text
