"""Flood containment without I/O: a token bucket per device, ``now`` passed in.

One stolen or broken device can send hundreds of alarms a second; a person cannot press a
button more than a few times a minute. If every one became its own card, the real alarms of
the office would scroll out of every screen. The rule here never drops an alarm (the shell
still stores and acks each one, so the record is complete); it only decides how an alarm is
*shown*:

* within the device's bucket (``burst`` alarms, refilled at ``rate_per_s``) an alarm is shown
  as itself, as always;
* past it, the alarm is not fanned out as a card of its own; the first such alarm starts a
  flood, which the shell shows to the site's facility managers as one ``flood`` fault
  ("flood from rom-101");
* when the device has sent no alarm for ``quiet``, the flood ends (the fault is cleared, with
  how many alarms it held) and the device's alarms are shown again.

Resends of an alarm already seen (same ``alarm_id``) are not new alarms: the shell asks only
for new ones.

The same bucket, keyed by (site, user) and tighter, limits a person's silent alarms from a desk
(``raise`` frames): a compromised desk can flood too. And a flood is contained everywhere a
list of alarms is shown, not only on the live fan-out: :func:`coalesce` splits the active
alarms a snapshot or the console's board would list into the ones shown as themselves and one
:class:`FloodCard` per flooding source ("flood from rom-101 (N alarms)").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from central.core.alarms import DESK_DEVICE
from protocol.screen import AlarmView

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
    coalesced: int  # alarms stored but not shown as cards of their own


FloodAction = FloodStarted | FloodEnded


@dataclass(frozen=True, slots=True)
class Verdict:
    show: bool  # False: store and ack, but do not fan out as a card
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


@dataclass(frozen=True, slots=True)
class FloodCard:
    """The one card standing for the coalesced alarms of one source at one site."""

    site: str
    source: str  # the device id, or for a desk's silent alarms the user id that raised them
    desk: bool
    alarms: int
    first: datetime  # raised_at of its oldest and newest alarm
    last: datetime


def flood_source(alarm: AlarmView) -> tuple[str, str, bool]:
    """(site, source, from a desk) of an alarm: what a flood is counted by."""
    if alarm.device == DESK_DEVICE and alarm.raised_by:
        return alarm.site, alarm.raised_by, True
    return alarm.site, alarm.device, False


def coalesce(
    alarms: Iterable[AlarmView], coalesced: Collection[UUID]
) -> tuple[list[AlarmView], list[FloodCard]]:
    """The alarms shown as themselves (order kept), and one card per flooding source."""
    shown: list[AlarmView] = []
    held: dict[tuple[str, str, bool], list[AlarmView]] = {}
    for alarm in alarms:
        if alarm.alarm_id in coalesced:
            held.setdefault(flood_source(alarm), []).append(alarm)
        else:
            shown.append(alarm)
    cards = [
        FloodCard(
            site,
            source,
            desk,
            len(group),
            min(a.raised_at for a in group),
            max(a.raised_at for a in group),
        )
        for (site, source, desk), group in sorted(held.items())
    ]
    return shown, cards
