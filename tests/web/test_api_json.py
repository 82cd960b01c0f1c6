"""The JSON of /healthz and every /api endpoint keeps its shape for existing clients.

The desk, the CLI and scripts read these answers; the typed response models
(``central.api.models``) must not change a key, a type or a format (a time stays
``2025-01-01T10:00:00+00:00``, never ``...Z``). The shapes were recorded from the answers of
the untyped routes, over a real central with an alarm, a device, a self-test, a test alarm
and a closed round; ``TRYGG_WRITE_API_SHAPES=1`` records them again (then read the diff).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central.core import Role
from protocol import AlarmLevel, AlarmMessage, AlarmSource, CheckName, CheckResult
from protocol.messages import Health, HeartbeatMessage, SelftestResultMessage
from tests.central.helpers import SITE, until
from tests.support.broker import Broker
from tests.web.console import console

SHAPES = Path(__file__).with_name("api_shapes.json")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shape(value: Any) -> Any:
    """Keys, types and string formats; not the values that differ from run to run."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        found = {json.dumps(shape(v), sort_keys=True) for v in value}
        return [json.loads(s) for s in sorted(found)]
    if isinstance(value, bool) or value is None:
        return value if value is None else "bool"
    if isinstance(value, int | float):
        return type(value).__name__
    return re.sub(r"\d", "9", _UUID.sub("<uuid>", value))


async def test_the_api_answers_keep_their_json(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c:
        central = c.running.central
        alarm = AlarmMessage(
            alarm_id="5f0c8a52-4a8e-4f7e-9a51-2d7c1b0e9a11",
            site=SITE,
            device="rom-101",
            input="desk",
            room="Kontor",
            source=AlarmSource.BUTTON,
            level=AlarmLevel.ACUTE,
            raised_at=datetime.now(UTC),
        )
        central.on_alarm(alarm)
        await until(
            lambda: (
                (found := central.book.get(alarm.alarm_id)) is not None
                and found.state == "received"
            ),
            what="the alarm stored",
        )
        beat = HeartbeatMessage(
            site=SITE,
            device="rom-101",
            at=datetime.now(UTC),
            interval_s=10,
            health=Health(inputs=("desk", "door")),
        )
        central.on_device(beat)
        await until(lambda: (SITE, "rom-101") in central.testing.known, what="device known")
        admin = {"Authorization": f"Bearer {c.tokens[Role.ADMIN]}"}
        async with c.client() as client:
            ran = await client.post(
                "/api/schedules/daily-device-selftest/run", params={"site": SITE}, headers=admin
            )
            [run_id] = ran.json()["runs"]
            central.on_device(
                SelftestResultMessage(
                    site=SITE,
                    device="rom-101",
                    run_id=run_id,
                    at=datetime.now(UTC),
                    results=(
                        CheckResult(name=CheckName.CLOCK, ok=True),
                        CheckResult(name=CheckName.BROKER, ok=False, detail="no PUBACK"),
                    ),
                )
            )
            started = await client.post("/api/test-rounds", json={"site": SITE}, headers=admin)
            round_id = started.json()["round_id"]
            failed = await client.post(
                f"/api/test-rounds/{round_id}/fail",
                json={"device": "rom-101", "input": "door"},
                headers=admin,
            )

            async def tested() -> bool:
                answer = await client.get(f"/api/tests/{run_id}", headers=admin)
                return bool(answer.json()["result"] != "open")

            for _ in range(200):  # bounded polling: the store writes the self-test's answer
                if await tested():
                    break
                await until(lambda: True)
            answers: dict[str, Any] = {
                "POST /api/schedules/{id}/run": ran,
                "POST /api/test-rounds": started,
                "POST /api/test-rounds/{id}/fail": failed,
                "GET /api/test-rounds/{id}": await client.get(
                    f"/api/test-rounds/{round_id}", headers=admin
                ),
                "POST /api/test-rounds/{id}/close": await client.post(
                    f"/api/test-rounds/{round_id}/close", headers=admin
                ),
                "GET /healthz anonymous": await client.get("/healthz"),
                "GET /healthz": await client.get("/healthz", headers=admin),
            }
            for path in (
                "/api/alarms",
                "/api/alarms?include_tests=true",
                "/api/devices",
                "/api/coverage",
                "/api/schedules",
                "/api/tests",
                "/api/tests/overdue",
                "/api/test-rounds",
            ):
                answers[f"GET {path}"] = await client.get(path, headers=admin)
            answers["GET /api/tests/{id}"] = await client.get(f"/api/tests/{run_id}", headers=admin)
    got = {}
    for name, answer in answers.items():
        assert answer.status_code < 300, f"{name}: {answer.status_code} {answer.text}"
        got[name] = shape(answer.json())
    if os.environ.get("TRYGG_WRITE_API_SHAPES"):
        SHAPES.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    expected = json.loads(SHAPES.read_text())
    for name in expected:
        assert got.get(name) == expected[name], name
    assert set(got) == set(expected)
