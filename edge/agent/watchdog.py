"""The edge agent under systemd (``Type=notify``, ``WatchdogSec=``): ready, alive, stopping.

:class:`Supervised` runs an :class:`EdgeAgent` and says three things to systemd through the
notify protocol (trygg_systemd.notify), each at the moment it is true:

- ``READY=1`` once the agent is really ready: its config loaded, its pins claimed, its outbox
  open (every unsent alarm of an earlier run back on its LED), its MQTT link's task started,
  and presses taken. Not "connected": an edge whose broker is down still raises alarms, keeps
  them on disk and sends them when the broker is back, and a restart would not mend a broker;
- ``WATCHDOG=1`` only while the parts an alarm needs are alive: the event loop, the outbox's
  writer thread (it reaches a probe queued behind the writes and holds the database's write
  lock: a hung SD card, a lock held by someone else or a writer stuck on an earlier write
  never beats) and the MQTT link's task (running, connected or retrying). A stale part is
  named in ``STATUS=`` and the journal. The decision is the shared pure core
  (trygg_systemd.watchdog) and the beating and sending its shared shell
  (trygg_systemd.feeding): only the parts and their probes are the edge's;
- ``STOPPING=1`` when asked to stop, before the agent says "offline" and closes its pins.

An agent that cannot start (a pin that cannot be claimed, an outbox that cannot be opened)
says why in ``STATUS=`` as it fails; systemd restarts it (``Restart=always``). ``faulthandler``
is on: when systemd gives up on a stale part and sends SIGABRT, every thread's stack goes to
the journal. Without ``$NOTIFY_SOCKET`` (run by hand, in tests) nothing is sent and nothing
changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import os
from collections.abc import Mapping

from edge.agent.wiring import EdgeAgent
from edge.errors import EdgeError
from trygg_systemd.feeding import PartsWatchdog
from trygg_systemd.notify import Notifier, WatchdogTiming, watchdog_timing
from trygg_systemd.watchdog import LOOP, Part

log = logging.getLogger("edge.watchdog")

OUTBOX = "outbox writer"
LINK = "mqtt link"
EDGE_PARTS = (Part(LOOP), Part(OUTBOX, via=LOOP), Part(LINK, via=LOOP))


def edge_watchdog(agent: EdgeAgent, notifier: Notifier, timing: WatchdogTiming) -> PartsWatchdog:
    """The edge's parts under the shared watchdog: the loop, the outbox's writer, the link."""
    return PartsWatchdog(
        EDGE_PARTS,
        notifier,
        timing,
        log,
        alive={LINK: lambda: agent.link_running},
        probes={OUTBOX: agent.probe_outbox_writer},
    )


class Supervised:
    """``await run()`` until the agent ends; :meth:`stop` (a signal handler's) ends it."""

    def __init__(
        self,
        agent: EdgeAgent,
        notifier: Notifier | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.agent = agent
        self.notifier = notifier or Notifier(env)
        self._timing = watchdog_timing(os.environ if env is None else env, os.getpid())
        self.watchdog: PartsWatchdog | None = None
        self._stop = asyncio.Event()
        if not faulthandler.is_enabled():
            faulthandler.enable()  # SIGABRT from the watchdog: every thread's stack logged

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        running = asyncio.create_task(self.agent.run(), name="edge-agent")
        try:
            if await self._until_ready(running):
                await self._ready()
                stopping = asyncio.create_task(self._stop.wait())
                await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
        finally:
            if not running.done():  # an orderly stop (an agent that failed says why below)
                self.notifier.notify("STOPPING=1", "STATUS=stopping")
            if self.watchdog is not None:
                with contextlib.suppress(Exception):
                    await self.watchdog.stop()
            self.agent.stop()
            try:
                await running
            except EdgeError as exc:
                self.notifier.notify(f"STATUS=cannot run: {exc}")
                raise

    async def _until_ready(self, running: asyncio.Task[None]) -> bool:
        """True once the agent is ready; False if it ended or was asked to stop first."""
        while True:
            changed = self.agent.changed  # taken before the check: no change slips past
            if self.agent.ready:
                return True
            if running.done() or self._stop.is_set():
                return False
            waits = {
                asyncio.create_task(changed.wait()),
                asyncio.create_task(self._stop.wait()),
            }
            await asyncio.wait({running, *waits}, return_when=asyncio.FIRST_COMPLETED)
            for wait in waits:
                wait.cancel()

    async def _ready(self) -> None:
        settings = self.agent.settings
        inputs = ", ".join(b.input for b in settings.buttons) or "none"
        self.notifier.notify(
            "READY=1",
            f"STATUS=running; {settings.site}/{settings.device} watching inputs {inputs}; "
            "outbox open, mqtt link started",
        )
        if self._timing is not None and self.notifier.enabled:
            self.watchdog = edge_watchdog(self.agent, self.notifier, self._timing)
            await self.watchdog.start()
            log.info(
                "watchdog: fed while the event loop, the outbox writer and the mqtt link are "
                "alive (WatchdogSec %.1f s)",
                self.watchdog.timeout_s,
            )
