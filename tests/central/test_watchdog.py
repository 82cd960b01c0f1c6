"""Central's watchdog shell with a real store and a real notify socket: the event loop, the
store's real writer thread, the MQTT link's task and a ticker's passes keep it fed; a dead
link task is named and the feed stops. (The protocol and the pure core, shared with the edge:
tests/trygg_systemd. Central's own ticker, hung: tests/central/test_ticker.py. Central as a
process under the watchdog: tests/deploy/test_watchdog.py.)"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from central.store import Store
from central.watchdog import LINK, Watchdog
from tests.support.systemd import Fields, NotifySocket
from trygg_systemd.feeding import Beat
from trygg_systemd.notify import Notifier, WatchdogTiming


def status(fields: Fields) -> bool:
    return any(f.startswith("STATUS=") for f in fields)


async def test_the_shell_feeds_while_all_live_and_names_a_dead_link_task(tmp_path: Path) -> None:
    systemd = NotifySocket()
    store = Store(tmp_path / "central.db")
    await store.open()

    async def link() -> None:  # stands in for MqttLink.run's task: here, one that dies
        await dying.wait()
        raise RuntimeError("a bug in an alarm handler")

    async def ticker() -> None:  # stands in for Central._tick_forever: a pass every 0.05 s
        while True:
            await asyncio.sleep(0.05)
            passes[0]()

    dying = asyncio.Event()
    task = asyncio.create_task(link())
    passes: list[Beat] = []
    watchdog = Watchdog(
        store,
        lambda: not task.done(),
        passes.append,  # handed its beat at once
        Notifier({"NOTIFY_SOCKET": systemd.name}),
        WatchdogTiming(0.8),
    )
    assert len(passes) == 1
    ticking = asyncio.create_task(ticker())
    await watchdog.start()
    try:
        # The loop, the real writer thread and the task all beat: fed, and nothing else said.
        await asyncio.to_thread(systemd.wait_feeds, 3)
        assert all(fields == ("WATCHDOG=1",) for fields in systemd.messages())
        assert store.transactions > 0  # the writer's beats are real transactions
        dying.set()
        await asyncio.gather(task, return_exceptions=True)
        at = await asyncio.to_thread(systemd.wait, status)
        assert len(systemd.messages(at)[0]) == 1
        assert re.fullmatch(
            rf"STATUS=STALE: {LINK} silent for [0-9.]+ s; watchdog not fed",
            systemd.messages(at)[0][0],
        )
    finally:
        ticking.cancel()
        await watchdog.stop()
        await store.close()
        systemd.close()
