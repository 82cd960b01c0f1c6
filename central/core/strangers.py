"""Alarms from devices the registry does not know, as one fault per device, without I/O.

Such an alarm is never dropped silently, and never shown as an alarm card either
(central.registry says why). It used to make one fault per alarm, never cleared: a device
the broker admits but the registry does not know could fill every facility manager's screen
and the faults table simply by pressing, or by a loop. Two rules keep it to one line per
device:

* One ``unknown_device`` fault per (site, device), raised on its first alarm. Its reason
  names the *latest* alarm (id, level, input, the room as the payload claims it, when) and
  how many there have been. Since a fault is identified by its reason, an update is a clear
  of the old text and a raise of the new one, so it is refreshed at most every
  ``UPDATE_EVERY`` (the alarms in between are counted and logged, and the tick brings the
  count up to date), never once per alarm.
* It is cleared when the device is registered (an open registry, or a registry that now
  lists it: ``known``), or after ``QUIET`` without an alarm from it: a stray that stopped is
  not a standing fault. Every alarm is still in central's log; a new one raises the fault
  again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from central.core.supervision import Fault, FaultKind
from protocol import AlarmMessage

UPDATE_EVERY = timedelta(seconds=30)  # the fault's text is refreshed at most this often
QUIET = timedelta(minutes=10)  # an unknown device without an alarm this long: cleared
MAX_REASON = 900

#: (fault, None) to raise it, (fault, at) to clear it.
FaultChange = tuple[Fault, datetime | None]


def describe(message: AlarmMessage, at: datetime) -> str:
    """One alarm of an unknown device, as its fault names it (the room as the device says)."""
    flags = "".join(f", {f}" for f in ("test", "drill") if getattr(message, f))
    return (
        f"alarm {message.alarm_id} ({message.level}{flags}, {message.source} {message.input!r},"
        f" room {message.room!r} as the device says, raised {message.raised_at.isoformat()},"
        f" received {at.isoformat()})"
    )


@dataclass(slots=True)
class _Stranger:
    fault: Fault  # as raised (and shown) now
    first: datetime
    count: int  # alarms from it since ``first``
    latest: str  # :func:`describe` of the latest one
    last_at: datetime
    shown_count: int  # the count the fault's text gives
    shown_at: datetime  # when that text was raised


def _fault(site: str, device: str, s: _Stranger) -> Fault:
    count = "1 alarm" if s.count == 1 else f"{s.count} alarms"
    reason = (
        f"{s.latest} from device {device!r}, which is not in the registry: not shown as an"
        f" alarm; {count} from it since {s.first.isoformat()}"
    )
    return Fault(site, device, FaultKind.UNKNOWN_DEVICE, reason[:MAX_REASON], s.first)


class UnknownDevices:
    """The unknown devices that sent alarms, each standing as one fault."""

    def __init__(self) -> None:
        self._devices: dict[tuple[str, str], _Stranger] = {}

    def alarm(self, message: AlarmMessage, now: datetime) -> list[FaultChange]:
        """An alarm from an unregistered (site, device): its fault raised, or brought up to
        date (at most every ``UPDATE_EVERY``)."""
        key = (message.site, message.device)
        latest = describe(message, now)
        found = self._devices.get(key)
        if found is None:
            placeholder = Fault(*key, FaultKind.UNKNOWN_DEVICE, "", now)
            found = _Stranger(placeholder, now, 1, latest, now, 1, now)
            found.fault = _fault(*key, found)
            self._devices[key] = found
            return [(found.fault, None)]
        found.count += 1
        found.latest = latest
        found.last_at = now
        return self._refresh(key, found, now)

    def tick(self, now: datetime, known: Callable[[str, str], bool]) -> list[FaultChange]:
        """Clear the faults of devices now registered or quiet for ``QUIET``; bring the
        others' counts up to date."""
        changes: list[FaultChange] = []
        for key, found in tuple(self._devices.items()):
            if known(*key) or now - found.last_at >= QUIET:
                del self._devices[key]
                changes.append((found.fault, now))
            else:
                changes.extend(self._refresh(key, found, now))
        return changes

    def faults(self) -> tuple[Fault, ...]:
        return tuple(s.fault for s in self._devices.values())

    @staticmethod
    def _refresh(key: tuple[str, str], found: _Stranger, now: datetime) -> list[FaultChange]:
        if found.count == found.shown_count or now - found.shown_at < UPDATE_EVERY:
            return []
        old = found.fault
        found.shown_count, found.shown_at = found.count, now
        found.fault = _fault(*key, found)
        return [(old, now), (found.fault, None)]
