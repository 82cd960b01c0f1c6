"""Central under systemd: ``READY=1`` when it really serves, the watchdog fed only while its
parts are alive, ``STOPPING=1`` on the way out (the notify protocol: central.sdnotify).

:class:`SupervisedServer` is uvicorn's server with two moments added: after its start-up
(lifespan done: store open, MQTT link task started; HTTP socket bound) it says ``READY=1`` and
starts the :class:`Watchdog`; before its shutdown it says ``STOPPING=1`` and stops it.

The watchdog's decision is pure (central.core.watchdog); this shell only makes the parts beat
and sends what the core decides. Each part beats from where it really works:

- the event loop: a task that wakes every quarter of ``WatchdogSec`` (if the loop is blocked,
  it does not run);
- the store's writer thread: a probe write submitted to its queue like any other write; the
  writer beats from its own thread when it reaches the probe, inside a transaction it began
  with ``BEGIN IMMEDIATE``, so it has the database's write lock (a hung disk, a lock held by
  someone else or a writer stuck on an earlier batch never reaches it). One probe at a time;
- the MQTT link: its task is running (connected or retrying; never "connected", a broker
  outage must not restart central).

The decision and the sending run on a thread of their own, so a blocked loop is still
reported (``STATUS=``, the journal) instead of silently starving the watchdog. The status is
sent before it is logged: a stalled log pipe (a journald that does not read) must not keep
the status from systemd. ``faulthandler`` is on: when systemd gives up and sends SIGABRT,
every thread's stack goes to the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from central.core.watchdog import LINK, LOOP, STORE, WatchdogCore
from central.sdnotify import Notifier, WatchdogTiming, watchdog_timing
from central.store import Store

log = logging.getLogger("central.watchdog")


class Beats:
    """The parts' last beats (monotonic seconds), written from any thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._beats: dict[str, float] = {}

    def beat(self, part: str) -> None:
        at = self._clock()
        with self._lock:
            self._beats[part] = at

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._beats)


class Watchdog:
    """Start on the loop with :meth:`start` once central serves; :meth:`stop` before it stops."""

    def __init__(
        self,
        store: Store,
        link_running: Callable[[], bool],
        notifier: Notifier,
        timing: WatchdogTiming,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._link_running = link_running
        self._notifier = notifier
        self._clock = clock
        self.timeout_s = timing.timeout_s
        self.core = WatchdogCore(timing.timeout_s, clock())
        self.beats = Beats(clock)
        self._probe: asyncio.Future[None] | None = None
        self._beating: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._feed_forever, name="watchdog", daemon=True)

    async def start(self) -> None:
        self._beating = asyncio.create_task(self._beat_forever(), name="watchdog-beats")
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._beating is not None:
            self._beating.cancel()
            await asyncio.gather(self._beating, return_exceptions=True)
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    # --- the beats (on the loop; the store's from its writer thread) ------------------------

    async def _beat_forever(self) -> None:
        while True:
            self.beats.beat(LOOP)
            if self._link_running():
                self.beats.beat(LINK)
            if self._probe is None or self._probe.done():
                self._probe = self._store.submit(self._store_beat)
                self._probe.add_done_callback(_settled)
            await asyncio.sleep(self.core.tick_s)

    def _store_beat(self, _db: Any) -> None:
        """Runs on the store's writer thread, inside its transaction (write lock held)."""
        self.beats.beat(STORE)

    # --- the decision and the sending (own thread) -----------------------------------------

    def _feed_forever(self) -> None:
        while not self._stopping.wait(self.core.tick_s):
            decision = self.core.tick(self.beats.snapshot(), self._clock())
            if decision.status is not None:
                self._notifier.notify(f"STATUS={decision.status}")
                if decision.stale:
                    log.error("watchdog: %s", decision.status)
                else:
                    log.warning("watchdog: %s", decision.status)
            if decision.feed:
                self._notifier.notify("WATCHDOG=1")


def _settled(probe: asyncio.Future[None]) -> None:
    """A probe that failed (busy, closed) only fails to beat; its error is the store's to log."""
    if not probe.cancelled():
        probe.exception()


class SupervisedServer(uvicorn.Server):
    """uvicorn's server, telling systemd when central is ready and feeding its watchdog."""

    def __init__(self, config: uvicorn.Config, notifier: Notifier | None = None) -> None:
        super().__init__(config)
        self.notifier = notifier or Notifier()
        self.watchdog: Watchdog | None = None
        if not faulthandler.is_enabled():
            faulthandler.enable()  # SIGABRT from the watchdog: every thread's stack logged

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started or self.should_exit:
            return
        central = getattr(getattr(self.config.app, "state", None), "central", None)
        timing = watchdog_timing(os.environ, os.getpid())
        if central is not None and timing is not None and self.notifier.enabled:
            self.watchdog = Watchdog(
                central.store, lambda: bool(central.link_running), self.notifier, timing
            )
        where = f"{self.config.host}:{self.config.port}"
        self.notifier.notify("READY=1", f"STATUS=running; serving {where}")
        if self.watchdog is not None:
            await self.watchdog.start()
            log.info(
                "watchdog: fed while the event loop, the store writer and the mqtt link are "
                "alive (WatchdogSec %.1f s)",
                self.watchdog.timeout_s,
            )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.notifier.notify("STOPPING=1", "STATUS=stopping")
        if self.watchdog is not None:
            with contextlib.suppress(Exception):
                await self.watchdog.stop()
        await super().shutdown(sockets)
