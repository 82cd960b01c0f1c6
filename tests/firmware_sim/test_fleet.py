"""``trygg-sim fleet`` against a real Mosquitto and a real central."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from protocol import codec
from protocol.messages import HeartbeatMessage, StatusMessage
from tests.support.broker import TESTER_PASSWORD, TESTER_USER, Broker
from tests.support.stack import SITE, Central, script


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """Fifty simulated devices share the tester's account here, which a broker that binds
    client ids to accounts (deploy/'s, and the suite's default) rightly refuses."""
    b = Broker(tmp_path_factory.mktemp("broker"), bind_client_ids=False)
    b.start()
    try:
        yield b
    finally:
        b.stop()


async def test_fleet_heartbeats_and_alarms_acked_by_central(broker: Broker, tmp_path: Path) -> None:
    central = Central(broker, tmp_path, {"kari": "Kari Nordmann"})
    central.start()
    beating: set[str] = set()
    online: set[str] = set()
    try:
        async with aiomqtt.Client(
            broker.host, broker.port, username=TESTER_USER, password=TESTER_PASSWORD
        ) as watcher:
            await watcher.subscribe(f"trygg/v1/{SITE}/+/heartbeat")
            await watcher.subscribe(f"trygg/v1/{SITE}/+/status")

            async def watch() -> None:
                async for message in watcher.messages:
                    seen = codec.decode(str(message.topic), bytes(message.payload))
                    if isinstance(seen, HeartbeatMessage):
                        beating.add(seen.device)
                    elif isinstance(seen, StatusMessage) and seen.state == "online":
                        online.add(seen.device)

            watching = asyncio.create_task(watch())
            fleet = await asyncio.create_subprocess_exec(
                script("trygg-sim"),
                "fleet",
                "--broker",
                f"{broker.host}:{broker.port}",
                "--devices",
                "50",
                "--site",
                SITE,
                "--user",
                TESTER_USER,
                "--heartbeat-s",
                "0.5",
                "--alarms-per-s",
                "5",
                "--duration-s",
                "3",
                "--visible-alarms",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "TRYGG_SIM_FLEET_PASSWORD": TESTER_PASSWORD},
            )
            out, err = await asyncio.wait_for(fleet.communicate(), 60)
            watching.cancel()
        assert fleet.returncode == 0, err.decode()
        report = json.loads(out)
        assert report["devices"] == report["connected_peak"] == 50
        assert report["heartbeats"] > 0
        assert report["heartbeat_lag_ms"]["p50"] >= 0
        assert report["alarms_sent"] > 0
        assert report["alarms_acked"] == report["alarms_sent"]  # central acked every one
        assert len(beating) == 50
        assert len(online) == 50
        stored = central.alarms("kari")
        assert len(stored) == report["alarms_sent"]
        assert {a["device"] for a in stored} <= {f"sim-{n:02d}" for n in range(1, 51)}
    finally:
        central.stop()


def test_fleet_refuses_to_start_without_a_password() -> None:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TRYGG_SIM_FLEET_PASSWORD"}
    done = subprocess.run(
        [script("trygg-sim"), "fleet", "--broker", "127.0.0.1:1", "--devices", "1"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2
    assert "no password" in done.stderr
    bad = subprocess.run(
        [script("trygg-sim"), "fleet", "--broker", "nowhere", "--devices", "1"],
        capture_output=True,
        text=True,
        env={**env, "TRYGG_SIM_FLEET_PASSWORD": "x" * 12},
    )
    assert bad.returncode == 2
    assert "host:port" in bad.stderr
