"""Central killed and restarted: what the broker queued meanwhile arrives, exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central.config import CentralSettings
from tests.central.helpers import (
    OLA,
    SITE,
    alarm_message,
    make_settings,
    mqtt_tester,
    next_ack,
    publish,
)
from tests.support.broker import Broker
from tests.support.stack import kill_process, stop_process

CLI = Path(sys.executable).parent / "trygg-central"


def write_toml(settings: CentralSettings, path: Path) -> Path:
    m, h = settings.mqtt, settings.http
    lines = [
        "[mqtt]",
        f'host = "{m.host}"',
        f"port = {m.port}",
        f'username = "{m.username}"',
        f'password = "{m.password}"',
        f'client_id = "{m.client_id}"',
        "[http]",
        f'host = "{h.host}"',
        f"port = {h.port}",
        "[store]",
        f'path = "{settings.store.path}"',
    ]
    for site in settings.sites:
        lines += ["[[sites]]", f'id = "{site.id}"', f'name = "{site.name}"']
    for user in settings.users:
        sites = ", ".join(f'"{s}"' for s in user.sites)
        lines += [
            "[[users]]",
            f'id = "{user.id}"',
            f'name = "{user.name}"',
            f'token = "{user.token}"',
            f"sites = [{sites}]",
        ]
    if settings.registry.open:
        lines += ["[registry]", "open = true"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class CentralProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(CLI), "--config", str(self.config)], stderr=log)

    def kill(self) -> None:
        assert self.proc is not None
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def central_process(broker: Broker, tmp_path: Path) -> Iterator[tuple[CentralProcess, str]]:
    settings = make_settings(broker, tmp_path)
    process = CentralProcess(write_toml(settings, tmp_path / "central.toml"), tmp_path / "log")
    try:
        yield process, f"http://127.0.0.1:{settings.http.port}"
    finally:
        process.stop()


async def wait_connected(url: str, process: CentralProcess) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:

        async def connected() -> bool:
            try:
                state: object = (await client.get("/healthz")).json()["mqtt"]
                return state == "connected"
            except httpx.HTTPError:
                return False

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not await connected():
            assert process.proc, process.log.read_text()
            assert process.proc.poll() is None, process.log.read_text()
            assert loop.time() < deadline, "central did not come up"
            await asyncio.sleep(0.05)


async def test_alarm_queued_while_central_is_down_arrives_exactly_once(
    broker: Broker, central_process: tuple[CentralProcess, str]
) -> None:
    process, url = central_process
    process.start()
    await wait_connected(url, process)
    async with mqtt_tester(broker) as edge:
        await edge.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
        before = alarm_message()
        await publish(edge, before)
        assert (await next_ack(edge, alarm_id=str(before.alarm_id)))["state"] == "received"

        process.kill()
        during = alarm_message()
        await publish(edge, during)  # the broker queues it in central's session
        await publish(edge, before)  # an edge that missed its ack resends

        process.start()
        await wait_connected(url, process)
        ack = await next_ack(edge, alarm_id=str(during.alarm_id))
        assert ack["state"] == "received"
        await publish(edge, during)  # and resends once more: re-acked, not re-recorded
        await next_ack(edge, alarm_id=str(during.alarm_id))

        # The ack promises the alarm is stored; its "received" timeline entry is written just
        # after the ack went out, so give that write a moment.
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            for _ in range(100):
                response = await client.get(
                    "/api/alarms", headers={"Authorization": f"Bearer {OLA}"}
                )
                alarms = response.json()["alarms"]
                if all(len(a["events"]) >= 2 for a in alarms):
                    break
                await asyncio.sleep(0.05)
        ids = [a["alarm_id"] for a in alarms]
        assert sorted(ids) == sorted([str(before.alarm_id), str(during.alarm_id)])
        for alarm in alarms:
            kinds = [e["kind"] for e in alarm["events"]]
            assert kinds == ["raised", "received"], (alarm["alarm_id"], kinds)
    log = process.log.read_text()
    assert f"alarm {during.alarm_id} raised" in log
    assert f"alarm {during.alarm_id} received" in log
