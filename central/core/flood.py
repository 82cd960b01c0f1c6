"""Flood containment without I/O: a token bucket per device, ``now`` passed in.

One stolen or broken device can send hundreds of alarms a second; a person cannot press a
button more than a few times a minute. If every one became its own card, the real alarms of
the office would scroll out of every screen. The rule here never drops an alarm (the shell
still stores, acks and shows each one); it only decides when a source's cards are *merged*:

* within the device's bucket (``burst`` alarms, refilled at ``rate_per_s``) an alarm is shown
  as itself, as always;
* past it, a flood starts: the shell merges the source's active alarms into one card on every
  screen (:mod:`central.core.floodcards`: room, highest level, count) and tells the site's
  facility managers with one ``flood`` fault ("flood from rom-101");
* when the device has sent no alarm for ``quiet``, the flood ends (the fault is cleared, with
  how many alarms came during it). The card stays merged until none of its alarms is active.

Resends of an alarm already seen (same ``alarm_id``) are not new alarms: the shell asks only
for new ones.

The same bucket, keyed by (site, user) and tighter, limits a person's silent alarms from a desk
(``raise`` frames): a compromised desk can flood too, and its alarms merge the same way into one
card per person (never only a fault).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

RATE_PER_S = 0.2  # one alarm every five seconds, sustained
BURST = 10  # ten presses in a row are still ten cards
QUIET = timedelta(seconds=60)
# A person's silent alarms from a desk: three at once, then one a minute.
DESK_RATE_PER_S = 1 / 60
DESK_BURST = 3


@dataclass(frozen=True, slots=True)
class FloodStarted:
    site: str
    device: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FloodEnded:
    site: str
    device: str
    at: datetime
    coalesced: int  # alarms that came during the flood (each merged into the one card)


FloodAction = FloodStarted | FloodEnded


@dataclass(frozen=True, slots=True)
class Verdict:
    show: bool  # False: the source floods (its alarms are merged into one card)
    actions: tuple[FloodAction, ...] = ()


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime
    last_alarm: datetime
    flooding: bool = False
    coalesced: int = 0


@dataclass(slots=True)
class FloodGuard:
    rate_per_s: float = RATE_PER_S
    burst: int = BURST
    quiet: timedelta = QUIET
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def flooding(self) -> list[tuple[str, str]]:
        return sorted(key for key, b in self._buckets.items() if b.flooding)

    def alarm(self, site: str, device: str, now: datetime) -> Verdict:
        """A new alarm from ``site``/``device`` at ``now``: show it, or coalesce it."""
        bucket = self._buckets.get((site, device))
        if bucket is None:
            bucket = self._buckets[(site, device)] = _Bucket(float(self.burst), now, now)
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_s)
        bucket.at = now
        bucket.last_alarm = now
        if bucket.flooding:
            bucket.coalesced += 1
            return Verdict(show=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict(show=True)
        bucket.flooding = True
        bucket.coalesced = 1
        return Verdict(show=False, actions=(FloodStarted(site, device, now),))

    def resume(self, site: str, device: str, now: datetime) -> list[FloodAction]:
        """After a restart, a source whose card is still merged: its flood is on again (the
        fault stands) until it has been quiet for ``quiet``, with an empty bucket."""
        if (site, device) in self._buckets:
            return []
        self._buckets[(site, device)] = _Bucket(0.0, now, now, flooding=True)
        return [FloodStarted(site, device, now)]

    def tick(self, now: datetime) -> list[FloodAction]:
        """Floods whose device has been quiet for ``quiet`` end; idle buckets are forgotten."""
        actions: list[FloodAction] = []
        for key, bucket in list(self._buckets.items()):
            if now - bucket.last_alarm < self.quiet:
                continue
            if bucket.flooding:
                actions.append(FloodEnded(key[0], key[1], now, bucket.coalesced))
            del self._buckets[key]  # a full bucket again: nothing to remember
        return actions
