"""Bad input gets a clear error and changes nothing; central keeps serving."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.e2e.test_exactly_once import third_party_alarm, wait_alarms
from tests.support.broker import Broker
from tests.support.stack import SITE, Central

TOPIC = f"trygg/v1/{SITE}/rom-102/alarm"


async def test_malformed_payloads_are_counted_and_change_nothing(
    broker: Broker, central: Central
) -> None:
    good = third_party_alarm("rom-102")
    wrong_type = {**good, "alarm_id": str(uuid.uuid4()), "presses": "many"}
    other_device = {**good, "alarm_id": str(uuid.uuid4()), "device": "rom-999"}
    cases = {
        "bad_json": b'{"v": 1, "alarm_id": ',
        "too_large": b"x" * (1024 * 1024),
        "invalid_message": json.dumps(wrong_type).encode(),
        "topic_mismatch": json.dumps(other_device).encode(),
    }
    for payload in cases.values():
        broker.pub(TOPIC, payload)

    for _ in range(100):
        rejected = central.health()["rejected"]
        if all(rejected.get(reason, 0) >= 1 for reason in cases):
            break
        await asyncio.sleep(0.1)
    assert {reason: rejected.get(reason, 0) for reason in cases} == dict.fromkeys(cases, 1)
    assert central.alarms("kari") == []
    assert "topic_mismatch" in central.logs()

    # Still serving: a valid alarm afterwards goes through.
    broker.pub(TOPIC, json.dumps(good).encode())
    [alarm] = await wait_alarms(central, 1)
    assert alarm["alarm_id"] == good["alarm_id"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-valid-token-at-all"}])
async def test_screen_without_valid_token_is_refused(
    central: Central, headers: dict[str, str]
) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(central.ws_url, additional_headers=headers):
            pass
    assert info.value.response.status_code in (401, 403)
    assert central.health()["screens"] == 0
