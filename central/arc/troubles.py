"""Device trouble at the ARC: one open trouble per device and kind, closed exactly once.

Pure. Supervision raises and clears faults (central.core.supervision); the ARC must see one
trouble (Contact ID 380) per device and kind of fault while it lasts and one restore when it
ends — whatever central does in between. Two things make that more than a mapping:

* **Central restarts.** Supervision starts afresh: a device still offline is found offline
  again with a new start, and one that came back meanwhile is simply never faulted, so a plain
  mapping would send the ARC a second trouble for the first case and never a restore for the
  second. So the troubles the ARC has open are read back from the ARC's outbox at start
  (:meth:`Troubles.restore`): a fault found again takes up the open trouble (nothing is sent),
  and :meth:`Troubles.settle`, called once supervision has had time to judge every device,
  restores each open trouble that no fault stands behind any more.
* **Several faults of one kind** (a device reporting two different faults) are one trouble;
  it is restored when the last of them clears.

The event's key names the device, the kind and when the trouble began, so the outbox sends a
trouble and its restore once each (``central.arc.outbox``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from central.arc.events import ArcEvent, ArcKind
from central.arc.reports import TROUBLE_KINDS, Zones
from central.core.supervision import Fault, FaultCleared, FaultRaised

#: How long after a start supervision needs before an open trouble without a fault is over:
#: a device still offline is found so by its retained status at once, or by missed heartbeats
#: within a few intervals.
SETTLE_AFTER = timedelta(minutes=3)

_Where = tuple[str, str, str]  # site, device, fault kind


@dataclass(slots=True)
class _Open:
    event: ArcEvent  # the trouble the ARC was sent
    reasons: set[str] = field(default_factory=set)  # the faults standing behind it now


def _where(fault: Fault) -> _Where | None:
    if not fault.device or fault.kind not in TROUBLE_KINDS:
        return None
    return (fault.site, fault.device, fault.kind.value)


def _parse(event: ArcEvent) -> _Where | None:
    device, _, rest = event.key.partition("/")
    kind = rest.partition("/")[0]
    return (event.site, device, kind) if device and kind else None


class Troubles:
    """The troubles the ARC has open, fed with supervision's fault actions."""

    def __init__(self, zones: Zones) -> None:
        self._zones = zones
        self._open: dict[_Where, _Open] = {}

    def restore(self, open_at_arc: Iterable[ArcEvent]) -> None:
        """At start: the troubles the ARC was sent and never got the restore of."""
        for event in open_at_arc:
            where = _parse(event)
            if event.kind is ArcKind.TROUBLE and not event.restore and where is not None:
                self._open.setdefault(where, _Open(event))

    def changed(self, action: FaultRaised | FaultCleared) -> ArcEvent | None:
        """A fault raised or cleared: the trouble or restore to send (None: nothing new)."""
        fault = action.fault
        where = _where(fault)
        if where is None:
            return None
        found = self._open.get(where)
        if isinstance(action, FaultRaised):
            if found is not None:  # the ARC has this trouble open already
                found.reasons.add(fault.reason)
                return None
            key = f"{fault.device}/{fault.kind.value}/{fault.since.isoformat()}"
            zone = self._zones.get((fault.site, fault.device), 0)
            event = ArcEvent(fault.site, key, ArcKind.TROUBLE, fault.since, zone=zone)
            self._open[where] = _Open(event, {fault.reason})
            return event
        if found is None:
            return None
        found.reasons.discard(fault.reason)
        if found.reasons:
            return None  # another fault of this kind still stands
        return self._close(where, action.at)

    def settle(self, now: datetime) -> list[ArcEvent]:
        """Restores for the open troubles no fault has taken up since the start."""
        return [self._close(where, now) for where, o in list(self._open.items()) if not o.reasons]

    def _close(self, where: _Where, now: datetime) -> ArcEvent:
        event = self._open.pop(where).event
        return ArcEvent(event.site, event.key, event.kind, now, zone=event.zone, restore=True)
