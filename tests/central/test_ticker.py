"""Central's ticker (escalation, supervision, schedules: ``Central.tick_once`` every half
second) on a real central in this event loop, with a real Mosquitto and store.

- Steps that raise on every pass (a bug in the drill or report jobs, which come before
  escalation) are logged once and counted, on ``/metrics`` too, and the steps after them still
  run: an alarm nobody answers escalates all the same, and the watchdog is still fed.
- A pass that hangs (an ``await`` in the self-tests' step that never returns) stops the
  ticker's beats: the watchdog names the ticker, and only it, and stops feeding; once the step
  returns the ticker beats and the watchdog is fed again.

The faults are bugs put into our own steps (the steps' work itself is not replaced); the
watchdog is central's own shell on a real notify socket (tests/support/systemd.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from prometheus_client.parser import text_string_to_metric_families

from central.config import CentralSettings
from central.watchdog import Watchdog
from tests.central.helpers import (
    OTHER_SITE,
    alarm_message,
    make_settings,
    mqtt_tester,
    publish,
    serve,
    until,
)
from tests.support.broker import Broker
from tests.support.systemd import Fields, NotifySocket
from trygg_systemd.notify import Notifier, WatchdogTiming

WATCHDOG_S = 4.0  # stale after 2 s: the ticker passes every 0.5 s


def settings(broker: Broker, tmp_path: Path) -> CentralSettings:
    """Central with an escalation routine whose first acute stage comes after 1 s."""
    routine = tmp_path / "escalation.toml"
    routine.write_text(
        'unseen_after_s = 600\n[[acute.stages]]\nafter_s = 1\nnotify = ["neighbours"]\n'
    )
    data = make_settings(broker, tmp_path).model_dump()
    data["sites"][0]["neighbours"] = [OTHER_SITE]
    data["routines"]["escalation"] = str(routine)
    return CentralSettings.model_validate(data)


def escalated(alarm_id: str) -> Any:
    def query(db: sqlite_utils.Database) -> list[str]:
        sql = "SELECT kind FROM events WHERE alarm_id = ? AND kind = 'escalated'"
        return [row["kind"] for row in db.query(sql, [alarm_id])]

    return query


def status(fields: Fields) -> str | None:
    return next((f for f in fields if f.startswith("STATUS=")), None)


async def test_a_step_that_raises_every_pass_stops_neither_escalation_nor_the_feed(
    module_broker: Broker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="central.alarms")
    systemd = NotifySocket()
    broker = module_broker
    async with serve(settings(broker, tmp_path)) as running:
        central = running.central
        watchdog = Watchdog(
            central.store,
            lambda: central.link_running,
            central.beat_each_pass,
            Notifier({"NOTIFY_SOCKET": systemd.name}),
            WatchdogTiming(WATCHDOG_S),
        )
        await watchdog.start()
        try:

            def bug(_now: datetime) -> None:
                raise RuntimeError("a bug in a job before escalation")

            monkeypatch.setattr(central.drilling, "tick", bug)
            monkeypatch.setattr(central.reports, "tick", bug)
            message = alarm_message()  # acute, nobody answers
            async with mqtt_tester(broker) as edge:
                await publish(edge, message)
            alarm_id = str(message.alarm_id)
            found: list[str] = []

            async def taken() -> bool:
                found[:] = await central.store.read(escalated(alarm_id))
                return bool(found)

            for _ in range(150):  # bounded: 15 s
                if await taken():
                    break
                await asyncio.sleep(0.1)
            assert found == ["escalated"], "the stage after 1 s was not taken"
            await until(lambda: central.tick_failures["reports"] >= 3, what="failing passes")
            assert central.tick_failures["drilling"] >= 3
            assert central.tick_failures["escalation"] == 0
            # Logged with its traceback once (not twice a second), naming the step.
            logged = [r for r in caplog.records if "tick step reports failed" in r.getMessage()]
            assert len(logged) == 1
            assert logged[0].exc_info is not None
            # Counted on /metrics, by step; every step's series is there from the start.
            scraped = {
                sample.labels["step"]: sample.value
                for family in text_string_to_metric_families(
                    (await central.metrics.scrape()).decode()
                )
                for sample in family.samples
                if sample.name == "trygg_tick_failures_total"
            }
            assert scraped["reports"] >= 3
            assert scraped["escalation"] == 0
            assert set(scraped) == set(central.tick_failures)
            # The passes complete, failing steps and all: the ticker beats, the feed goes on.
            fed = systemd.count()
            await asyncio.to_thread(systemd.wait_feeds, 2, fed)
        finally:
            await watchdog.stop()
            systemd.close()


async def test_a_hung_pass_is_named_the_ticker_and_the_feed_stops_until_it_returns(
    module_broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    systemd = NotifySocket()
    async with serve(make_settings(module_broker, tmp_path)) as running:
        central = running.central
        watchdog = Watchdog(
            central.store,
            lambda: central.link_running,
            central.beat_each_pass,
            Notifier({"NOTIFY_SOCKET": systemd.name}),
            WatchdogTiming(WATCHDOG_S),
        )
        await watchdog.start()
        try:
            await asyncio.to_thread(systemd.wait_feeds, 1)
            release = asyncio.Event()
            real_tick = central.testing.tick

            async def hangs(now: datetime) -> None:
                await release.wait()  # a store read, a lock, a peer that never answers
                await real_tick(now)

            monkeypatch.setattr(central.testing, "tick", hangs)
            at = await asyncio.to_thread(
                systemd.wait, lambda f: (status(f) or "").startswith("STATUS=STALE")
            )
            said = status(systemd.messages(at)[0])
            assert said is not None
            assert said.startswith("STATUS=STALE: ticker silent for"), said
            assert said.count("silent for") == 1  # the loop, the writer and the link live
            await asyncio.to_thread(systemd.watchdog_expires, WATCHDOG_S / 2)  # not fed
            assert not [m for m in systemd.messages(at) if "WATCHDOG=1" in m]

            monkeypatch.setattr(central.testing, "tick", real_tick)
            release.set()  # the pass completes: the ticker beats, fed again
            back = await asyncio.to_thread(
                systemd.wait, lambda f: status(f) == "STATUS=running; all parts alive", at
            )
            await asyncio.to_thread(systemd.wait_feeds, 1, back)
        finally:
            await watchdog.stop()
            systemd.close()
