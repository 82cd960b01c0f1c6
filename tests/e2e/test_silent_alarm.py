"""The silent alarm from a desk (3.4), against a real central: colleagues see who needs help
and where; the raiser's connection gets the routine and the confirmation, nothing more."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import websockets

from protocol.screen import RaiseRequest, encode_frame
from tests.support.stack import SITE, Central, Desk


async def test_raise_from_a_desk_reaches_colleagues_once(
    central: Central, desks: dict[str, Desk]
) -> None:
    headers = {"Authorization": f"Bearer {central.tokens['kari']}"}
    async with websockets.connect(central.ws_url, additional_headers=headers) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello"
        assert set(hello["routines"]) == {"assist", "acute"}
        assert hello["site_names"] == {SITE: f"Site {SITE}"}
        await ws.recv()  # snapshot

        request = RaiseRequest(
            alarm_id=uuid4(),
            level="acute",
            site=SITE,
            room="Kontor 3.12",
            floor="3. etasje",
            raised_at=datetime.now(UTC),
        )
        for _ in range(2):  # a desk re-sends until it sees the alarm stored
            await ws.send(encode_frame(request))

        seen = await desks["ola"].wait_for(lambda ln: ln["alarm_id"] == str(request.alarm_id))
        assert (seen["raised_by"], seen["raised_by_name"]) == ("kari", "Kari Nordmann")
        assert (seen["room"], seen["floor"], seen["source"]) == (
            "Kontor 3.12",
            "3. etasje",
            "desktop",
        )
        await desks["ola"].send(f"coming {request.alarm_id}")
        # The raiser's own connection hears that help is coming.
        while True:
            frame = json.loads(await ws.recv())
            alarm = frame.get("alarm", {})
            if alarm.get("alarm_id") == str(request.alarm_id) and alarm.get("responders"):
                break
        assert alarm["responders"][0]["user"] == "ola"

    [stored] = central.alarms("ola")
    assert stored["alarm_id"] == str(request.alarm_id)
    assert [e["kind"] for e in stored["events"]].count("raised") == 1
    new_lines = [ln for ln in desks["ola"].lines if ln["event"] == "alarm"]
    assert len(new_lines) == 1
