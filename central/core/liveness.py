"""Screen liveness without I/O: when to ping every screen, and which screens stopped answering.

A websocket stays "open" while the desk behind it is frozen (SIGSTOP, a hung GUI) or no longer
reads: TCP keeps the socket up and the kernel keeps accepting bytes for a long while. Such a
screen must not count as someone who would get an alarm. So central sends one ``ping`` frame
to every screen each ``interval_s`` (the same prepared frame for all: cheap at 5,000 screens)
and a screen that has answered none for ``timeout_s`` is stale: the shell closes it, and the
coverage counts drop it.

Central itself can be paused (SIGSTOP, a VM snapshot, a loop blocked for seconds): on waking,
every screen looks silent for the length of the pause, through no fault of its own. A gap of
more than ``pause_s`` between two ticks is such a pause, and every screen gets a fresh
``timeout_s`` from the resumption.

``now`` is a monotonic clock in seconds (``loop.time()``); keys are whatever the shell uses
for a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")

PING_INTERVAL_S = 1.0
# Frozen at f: the last pong came at >= f - interval, so the screen is dropped by f + 7 + a
# tick: within the 10 s a non-reading screen may still count as coverage.
SCREEN_TIMEOUT_S = 7.0
PAUSE_S = 3.0  # a gap this long between ticks (every 0.5 s) means central itself was stopped


@dataclass(frozen=True, slots=True)
class Beat(Generic[K]):
    """What one tick decided: the ping to send to every screen (None: not yet due), the screens
    to close, and the length of central's own pause just noticed (None: there was none)."""

    ping: int | None = None
    stale: tuple[K, ...] = ()
    paused_s: float | None = None


@dataclass
class ScreenLiveness(Generic[K]):
    interval_s: float = PING_INTERVAL_S
    timeout_s: float = SCREEN_TIMEOUT_S
    pause_s: float = PAUSE_S
    seq: int = field(default=0, init=False)  # the last ping's number; 0: none sent yet
    _heard: dict[K, float] = field(default_factory=dict, init=False)  # last proof of reading
    _last_ping: float | None = field(default=None, init=False)
    _last_tick: float | None = field(default=None, init=False)

    def __len__(self) -> int:
        return len(self._heard)

    def joined(self, key: K, now: float) -> None:
        """A screen connected: its first ``timeout_s`` start now."""
        self._heard[key] = now

    def left(self, key: K) -> None:
        self._heard.pop(key, None)

    def pong(self, key: K, seq: int, now: float) -> bool:
        """A screen answered ping ``seq``. False (and ignored) for a screen not watched or a
        ``seq`` never sent: that proves nothing."""
        if key not in self._heard or not 0 < seq <= self.seq:
            return False
        self._heard[key] = now
        return True

    def tick(self, now: float) -> Beat[K]:
        paused: float | None = None
        if self._last_tick is not None and now - self._last_tick > self.pause_s:
            paused = now - self._last_tick
            for key in self._heard:
                self._heard[key] = now
        self._last_tick = now
        stale = tuple(k for k, heard in self._heard.items() if now - heard > self.timeout_s)
        for key in stale:
            del self._heard[key]
        ping: int | None = None
        if self._last_ping is None or now - self._last_ping >= self.interval_s:
            self.seq += 1
            self._last_ping = now
            ping = self.seq
        return Beat(ping, stale, paused)
