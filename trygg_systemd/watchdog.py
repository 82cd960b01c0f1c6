"""Whether to feed systemd's watchdog: every part's last beat and ``now`` in, a decision out.

systemd restarts a service when ``WATCHDOG=1`` stops coming (``WatchdogSec=``). Fed from a
timer, the watchdog would only prove that the timer runs; our services feed it only while the
parts an alarm needs are alive, each proving it by a *beat* from where it really works. Each
service names its parts: central its event loop, its store's writer and its MQTT link task;
the edge agent its event loop, its outbox's writer and its MQTT link task. A link task counts
when it runs, connected or retrying: a broker outage is supervision's business, and a restart
would not mend it. A part whose last beat is older than ``stale_after`` is stale; while any
is, the watchdog is not fed, and the status line says which part, so that ``systemctl status``
and the journal name the culprit.

A part probed *through* another (``via``: a writer thread and a link task are probed from the
event loop) is not blamed while that other is stale: a blocked loop sends no probes, and
naming the writer then would send the operator to the wrong place.

Pure, on a monotonic clock in seconds: the shell (trygg_systemd.feeding) beats, ticks and
sends. The timing follows sd_watchdog_enabled(3): fed about every half of ``WatchdogSec``,
parts beat every quarter, stale after a half, so a hang is reported within half the
watchdog's time and the restart follows at most one ``WatchdogSec`` after the last feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LOOP = "event loop"  # every service of ours runs on one asyncio loop


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    via: str | None = None  # the part whose work carries this one's beat


@dataclass(frozen=True, slots=True)
class Stale:
    part: str
    silent_s: float  # since its last beat (or since the watchdog started, if it never beat)


@dataclass(frozen=True, slots=True)
class Decision:
    feed: bool  # send WATCHDOG=1 now
    stale: tuple[Stale, ...]  # the parts to blame (empty: all alive)
    status: str | None  # a new STATUS= line (only when what is stale changed)


def stale_parts(
    parts: tuple[Part, ...], beats: Mapping[str, float], now: float, since: float, after: float
) -> tuple[Stale, ...]:
    """The parts silent for more than ``after`` seconds, without those probed via a part that
    is itself silent. A part that never beat counts from ``since``."""
    silent = {p.name: now - beats.get(p.name, since) for p in parts}
    late = {name for name, quiet in silent.items() if quiet > after}
    return tuple(
        Stale(p.name, silent[p.name])
        for p in parts
        if p.name in late and (p.via is None or p.via not in late)
    )


def describe(stale: tuple[Stale, ...]) -> str:
    if not stale:
        return "running; all parts alive"
    silent = ", ".join(f"{s.part} silent for {s.silent_s:.1f} s" for s in stale)
    return f"STALE: {silent}; watchdog not fed"


class WatchdogCore:
    """Create with the service's parts, the watchdog's timeout (``WatchdogSec``) and the start
    time; :meth:`tick` every :attr:`tick_s` with the parts' last beats."""

    def __init__(self, parts: tuple[Part, ...], timeout_s: float, started_at: float) -> None:
        if timeout_s <= 0:
            raise ValueError("the watchdog's timeout must be positive")
        if not parts:
            raise ValueError("a watchdog needs at least one part to watch")
        self.parts = parts
        self.feed_every_s = timeout_s / 2
        self.stale_after_s = timeout_s / 2
        self.tick_s = timeout_s / 4  # also how often each part should beat
        self._started_at = started_at
        self._last_fed: float | None = None
        self._blamed: tuple[str, ...] = ()

    def tick(self, beats: Mapping[str, float], now: float) -> Decision:
        stale = stale_parts(self.parts, beats, now, self._started_at, self.stale_after_s)
        blamed = tuple(s.part for s in stale)
        status = describe(stale) if blamed != self._blamed else None
        self._blamed = blamed
        # Half a tick of slack: ticks come every quarter, so feeds come about every half.
        due = self._last_fed is None or now - self._last_fed >= self.feed_every_s - self.tick_s / 2
        feed = not stale and due
        if feed:
            self._last_fed = now
        return Decision(feed=feed, stale=stale, status=status)
