"""Central under systemd: ``READY=1`` when it really serves, the watchdog fed only while its
parts are alive, ``STOPPING=1`` on the way out (the notify protocol: trygg_systemd.notify).

:class:`SupervisedServer` is uvicorn's server with two moments added: after its start-up
(lifespan done: store open, MQTT link task started; HTTP socket bound) it says ``READY=1`` and
starts the :class:`Watchdog`; before its shutdown it says ``STOPPING=1`` and stops it.

The watchdog's decision (trygg_systemd.watchdog) and its shell (trygg_systemd.feeding) are
shared with the edge agent; what is central's is which parts it watches and how each beats:

- the event loop: the shell's task, which does not run while the loop is blocked;
- the store's writer thread: a probe write submitted to its queue like any other write; the
  writer beats from its own thread when it reaches the probe, inside a transaction it began
  with ``BEGIN IMMEDIATE``, so it has the database's write lock (a hung disk, a lock held by
  someone else or a writer stuck on an earlier batch never reaches it);
- the MQTT link: its task is running (connected or retrying; never "connected", a broker
  outage must not restart central);
- the ticker (``Central._tick_forever``: escalation, supervision, schedules, every half
  second): it beats at the end of each full pass, so a step that hangs (an ``await`` that
  never returns) stops the feed, though the loop itself still runs. A step that *raises* does
  not: it is logged and counted and the other steps go on (``Central.tick_once``).

``faulthandler`` is on: when systemd gives up and sends SIGABRT, every thread's stack goes to
the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from central.store import Store
from trygg_systemd.feeding import Beat, PartsWatchdog
from trygg_systemd.notify import Notifier, WatchdogTiming, watchdog_timing
from trygg_systemd.watchdog import LOOP, Part

log = logging.getLogger("central.watchdog")

STORE = "store writer"
LINK = "mqtt link"
TICKER = "ticker"
CENTRAL_PARTS = (Part(LOOP), Part(STORE, via=LOOP), Part(LINK, via=LOOP), Part(TICKER, via=LOOP))


class Watchdog(PartsWatchdog):
    """Central's parts under the shared watchdog: the loop, the store's writer, the link, the
    ticker (``ticker`` is handed the ticker's beat: ``Central.beat_each_pass``)."""

    def __init__(
        self,
        store: Store,
        link_running: Callable[[], bool],
        ticker: Callable[[Beat], None],
        notifier: Notifier,
        timing: WatchdogTiming,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        def probe_store(beat: Beat) -> asyncio.Future[None]:
            def on_writer_thread(_db: Any) -> None:  # inside its transaction: lock held
                beat()

            return store.submit(on_writer_thread)

        super().__init__(
            CENTRAL_PARTS,
            notifier,
            timing,
            log,
            alive={LINK: link_running},
            probes={STORE: probe_store},
            clock=clock,
            own={TICKER: ticker},
        )


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
                central.store,
                lambda: bool(central.link_running),
                central.beat_each_pass,
                self.notifier,
                timing,
            )
        where = f"{self.config.host}:{self.config.port}"
        self.notifier.notify("READY=1", f"STATUS=running; serving {where}")
        if self.watchdog is not None:
            await self.watchdog.start()
            log.info(
                "watchdog: fed while the event loop, the store writer, the mqtt link and the "
                "ticker are alive (WatchdogSec %.1f s)",
                self.watchdog.timeout_s,
            )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.notifier.notify("STOPPING=1", "STATUS=stopping")
        if self.watchdog is not None:
            with contextlib.suppress(Exception):
                await self.watchdog.stop()
        await super().shutdown(sockets)
