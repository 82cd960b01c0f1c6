"""The watchdog's shell: makes a service's parts beat, ticks the core, sends what it decides.

The decision is pure (trygg_systemd.watchdog); this shell does the rest, the same for every
service of ours, and each service says what its parts are and how each one proves it lives:

- the event loop (always): a task that wakes every quarter of ``WatchdogSec``; if the loop is
  blocked, it does not run;
- *alive* parts, asked on the loop: a callable that says whether the part runs now (a link's
  task: running, connected or retrying; never "connected", a broker outage must not get a
  service restarted);
- *probed* parts, whose work happens on a thread of their own (a database writer): a probe is
  submitted like any other work and beats from that thread when the work really reaches it
  (central's store writer inside its transaction, the edge's outbox writer holding the
  database's write lock), so a hung disk, a lock held by someone else or a writer stuck on an
  earlier job never beats. One probe at a time per part: a stuck writer is not buried in them;
- *self-beating* parts, loops of the service's own that do their work in passes (central's
  ticker: escalation, supervision, schedules): each is handed its beat when the watchdog is
  made and beats at the end of every full pass, so a pass that hangs (an ``await`` that never
  returns) or a loop that died stops its beats, though the event loop itself still runs.

The decision and the sending run on a thread of their own, so a blocked loop is still
reported (``STATUS=``, the journal) instead of silently starving the watchdog. The status is
sent before it is logged: a stalled log pipe (a journald that does not read) must not keep
the status from systemd.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from trygg_systemd.notify import Notifier, WatchdogTiming
from trygg_systemd.watchdog import LOOP, Part, WatchdogCore

Beat = Callable[[], None]
#: Submits work that calls ``beat`` from the part's own thread once it really got there; the
#: future settles when that work is done (None: nothing could be submitted now).
Probe = Callable[[Beat], "asyncio.Future[Any] | None"]


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


class PartsWatchdog:
    """Start on the loop with :meth:`start` once the service is ready; :meth:`stop` before it
    stops. ``parts`` are the core's (the event loop among them, as :data:`LOOP`); each other
    part is in one of ``alive``, ``probes`` and ``own`` (given its beat: ``connect(beat)``)."""

    def __init__(
        self,
        parts: tuple[Part, ...],
        notifier: Notifier,
        timing: WatchdogTiming,
        log: logging.Logger,
        alive: Mapping[str, Callable[[], bool]] | None = None,
        probes: Mapping[str, Probe] | None = None,
        clock: Callable[[], float] = time.monotonic,
        own: Mapping[str, Callable[[Beat], None]] | None = None,
    ) -> None:
        self._alive = dict(alive or {})
        self._probes = dict(probes or {})
        own = dict(own or {})
        names = {p.name for p in parts}
        kinds = (self._alive, self._probes, own)
        watched = [LOOP, *(part for kind in kinds for part in kind)]
        if names != set(watched) or len(watched) != len(set(watched)):
            raise ValueError(f"parts {sorted(names)} but beats for {sorted(watched)}")
        self._notifier = notifier
        self._log = log
        self._clock = clock
        self.timeout_s = timing.timeout_s
        self.core = WatchdogCore(parts, timing.timeout_s, clock())
        self.beats = Beats(clock)
        for part, connect in own.items():
            connect(self._beat_of(part))
        self._pending: dict[str, asyncio.Future[Any]] = {}
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

    # --- the beats (on the loop; probed parts from their own threads) -----------------------

    def _beat_of(self, part: str) -> Beat:
        def beat() -> None:
            self.beats.beat(part)

        return beat

    async def _beat_forever(self) -> None:
        while True:
            self.beats.beat(LOOP)
            for part, alive in self._alive.items():
                if alive():
                    self.beats.beat(part)
            for part, probe in self._probes.items():
                self._probe(part, probe)
            await asyncio.sleep(self.core.tick_s)

    def _probe(self, part: str, probe: Probe) -> None:
        pending = self._pending.get(part)
        if pending is not None and not pending.done():
            return  # the last probe has not got through yet: that part is not beating
        try:
            future = probe(lambda: self.beats.beat(part))
        except Exception:  # closed, shut down: no beat, which is what the core must see
            future = None
        if future is None:
            self._pending.pop(part, None)
            return
        future.add_done_callback(_settled)
        self._pending[part] = future

    # --- the decision and the sending (own thread) -----------------------------------------

    def _feed_forever(self) -> None:
        while not self._stopping.wait(self.core.tick_s):
            decision = self.core.tick(self.beats.snapshot(), self._clock())
            if decision.status is not None:
                self._notifier.notify(f"STATUS={decision.status}")
                level = logging.ERROR if decision.stale else logging.WARNING
                # Logged from a thread of its own: a log line may block (a full stderr pipe,
                # a stuck journal), and this thread must go on judging and telling systemd.
                threading.Thread(
                    target=self._log.log,
                    args=(level, "watchdog: %s", decision.status),
                    name="watchdog-log",
                    daemon=True,
                ).start()
            if decision.feed:
                self._notifier.notify("WATCHDOG=1")


def _settled(probe: asyncio.Future[Any]) -> None:
    """A probe that failed (busy, closed) only fails to beat; its error is the part's to log."""
    if not probe.cancelled():
        probe.exception()
