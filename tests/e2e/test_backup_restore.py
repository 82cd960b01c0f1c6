"""``trygg-central backup`` during a stream of alarms, and ``restore``: a real central and
Mosquitto, alarms published as devices publish them, the acks watched on the broker.

Every alarm whose ack (sent only after central's commit) arrived before the backup command
started is in the restored record; no alarm published after the backup finished is (the
restore really put the old record back). The record is read whole from its file, read-only
(the API pages at most 1000 alarms, and a busy machine may get more through the stream), and
a central started on it serves the newest of them. Restore refuses while central runs and
changes nothing then.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import aiomqtt
import httpx

from tests.central.helpers import alarm_message, mqtt_tester, publish
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, script

DEVICES = tuple(f"knapp-{i}" for i in range(6))


async def run_cli(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        script("trygg-central"),
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Stream:
    """Alarms from the registry's buttons in turn, one every few milliseconds, until stopped;
    the acks central sends back, in order of arrival."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.published: list[UUID] = []
        self.acked: list[UUID] = []
        self.changed = asyncio.Event()
        self.stopping = False

    async def publish_forever(self) -> None:
        n = 0
        while not self.stopping:
            message = alarm_message(device=DEVICES[n % len(DEVICES)])
            self.published.append(message.alarm_id)
            await publish(self.client, message)
            n += 1
            await asyncio.sleep(0.01)

    async def read_acks(self) -> None:
        async for message in self.client.messages:
            data: dict[str, Any] = json.loads(bytes(message.payload))
            alarm_id = UUID(data["alarm_id"])
            if alarm_id not in self.acked:
                self.acked.append(alarm_id)
                self.changed.set()

    async def until_acked(self, count: int, within: float = 30) -> None:
        async def wait() -> None:
            while len(self.acked) < count:
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(wait(), within)
        except TimeoutError:
            raise AssertionError(f"{len(self.acked)} acks, expected {count}") from None


def stored_ids(store: Path) -> list[UUID]:
    """Every alarm in the record, oldest first: read from the file, read-only (WAL lets this
    run beside a running central, which goes on writing)."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute("SELECT alarm_id FROM alarms ORDER BY rowid").fetchall()
    finally:
        db.close()
    return [UUID(row[0]) for row in rows]


def served_ids(central: Central) -> list[UUID]:
    """The alarms central's API serves, newest first (at most 1000)."""
    token = central.tokens["kari"]
    reply = httpx.get(
        f"{central.url}/api/alarms?limit=1000",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    reply.raise_for_status()
    return [UUID(a["alarm_id"]) for a in reply.json()["alarms"]]


async def test_a_backup_during_a_stream_of_alarms_restores_every_acked_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    central = Central(
        broker,
        state,
        {"kari": "Kari Nordmann"},
        devices=tuple((SITE, d, "Resepsjon") for d in DEVICES),
    )
    central.start()
    backup_dir = tmp_path / "backup-1"
    try:
        async with mqtt_tester(broker) as client:
            await client.subscribe(f"trygg/v1/{SITE}/+/ack", qos=1)
            stream = Stream(client)
            tasks = [asyncio.create_task(stream.read_acks())]
            tasks.append(asyncio.create_task(stream.publish_forever()))
            try:
                await stream.until_acked(60)
                acked_before = set(stream.acked)  # the backup has not started yet
                code, out, err = await run_cli(
                    "backup", str(backup_dir), "--config", str(central.config)
                )
                assert code == 0, err
                published_after = len(stream.published)  # from here on: not in the backup
                await stream.until_acked(published_after + 20)
            finally:
                stream.stopping = True
                await asyncio.gather(tasks[1], return_exceptions=True)
                tasks[0].cancel()
                await asyncio.gather(tasks[0], return_exceptions=True)
        assert f"{backup_dir / 'central.db'}" in out

        # Restore refuses while central runs, and changes nothing.
        code, _, err = await run_cli("restore", str(backup_dir), "--config", str(central.config))
        assert code == 1
        assert "central is running on" in err, err
        assert "stop it first" in err, err
        assert not list(state.glob("pre-restore-*"))
        record = state / "central.db"
        assert set(stored_ids(record)) >= set(stream.acked)  # the live record has them all

        central.stop()
        code, out, err = await run_cli("restore", str(backup_dir), "--config", str(central.config))
        assert code == 0, err
        assert f"restored {state / 'central.db'}" in out
        [aside] = state.glob("pre-restore-*")
        assert (aside / "central.db").is_file()

        central.start()  # a fresh central on the restored record
        in_order = stored_ids(record)
        assert served_ids(central) == in_order[::-1][:1000]  # it serves that record
        restored = set(in_order)
        missing = acked_before - restored
        assert not missing, f"{len(missing)} acked alarms missing after restore"
        after = set(stream.published[published_after:])
        assert after
        assert not restored & after
        assert restored <= set(stream.published)
    finally:
        central.stop()
