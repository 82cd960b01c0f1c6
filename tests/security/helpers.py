"""Shared by the MQTT security tests: a device's alarm as a third-party device sends it, and
bounded polling of central's API."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.support.stack import Central


def alarm_payload(site: str, device: str, room: str = "Møterom 101") -> tuple[str, bytes, str]:
    """(topic, payload, alarm_id) of one acute button alarm, as docs/protocol.md shapes it."""
    alarm_id = str(uuid.uuid4())
    body = {
        "v": 1,
        "site": site,
        "device": device,
        "alarm_id": alarm_id,
        "level": "acute",
        "room": room,
        "source": "button",
        "input": "desk",
        "raised_at": datetime.now(UTC).isoformat(),
    }
    return f"trygg/v1/{site}/{device}/alarm", json.dumps(body).encode(), alarm_id


async def wait_for_alarm(
    central: Central, user: str, alarm_id: str, timeout: float = 20
) -> dict[str, Any]:
    for _ in range(int(timeout / 0.1)):
        for alarm in central.alarms(user):
            if alarm["alarm_id"] == alarm_id:
                return alarm
        await asyncio.sleep(0.1)
    raise AssertionError(f"alarm {alarm_id} never reached central:\n{central.logs()}")
