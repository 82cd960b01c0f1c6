"""Supervision without I/O: is every device alive and well, and would an alarm reach anyone?

Feed it what central hears (status, heartbeats, how many screens each site has) and ``now``;
it answers with faults raised and cleared. The rules:

* a device is offline on a retained ``status`` offline (its last will, or a clean shutdown),
  or when ``missed_heartbeats`` heartbeat intervals pass without one; any message from it
  after that brings it back;
* the device's own health faults (sensor board unplugged or silent, tamper, a stuck input)
  are faults here too, for as long as the device reports them;
* a site with opening hours and no connected screen during those hours (after ``grace``, so a
  screen reconnecting is not a fault) has a ``no_screen`` fault: an alarm now would reach nobody;
* central does not blame devices for its own pause: when two ticks are more than ``pause``
  apart (central was stopped, or its loop blocked), no heartbeat could have been heard in
  between, so every device gets a fresh grace from the resumption: ``missed_heartbeats``
  intervals, and at least ``resume_grace`` (time for the MQTT link to come back and deliver);
* nor for the broker being out of its reach: while central's own MQTT link is down it hears no
  device, so none is judged (no ``offline``); instead, after ``link_grace``, each site gets one
  ``broker_unreachable`` fault (no alarm from any device reaches central while it lasts, and
  its facility managers must know), cleared when the link is back; from then every device has
  the same fresh grace as after central's own pause. A retained ``status`` offline heard after
  the link is back is still the device's own word (a will published while central was away, or
  before the broker's last save) and is judged as always: Mosquitto publishes no wills of its
  own when it restarts, and a device that is alive says "online" again when it reconnects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

MISSED_HEARTBEATS = 3
COVERAGE_GRACE = timedelta(seconds=10)
PAUSE = timedelta(seconds=3)  # ticks come every 0.5 s: a longer gap is central's own pause
RESUME_GRACE = timedelta(seconds=10)
LINK_GRACE = timedelta(seconds=3)  # central's MQTT link down this long: a broker fault


class FaultKind(StrEnum):
    OFFLINE = "offline"
    SENSOR_BOARD = "sensor_board"  # the board is unplugged or silent
    TAMPER = "tamper"
    STUCK_INPUT = "stuck_input"  # a button held closed far longer than any press
    DEVICE_FAULT = "device_fault"  # anything else the device says is wrong
    NO_SCREEN = "no_screen"  # open hours and nobody connected: an alarm would reach nobody
    # Found by central itself, not reported by the device (its health never clears them):
    UNKNOWN_DEVICE = "unknown_device"  # an alarm from a (site, device) not in the registry
    FLOOD = "flood"  # a device raises alarms faster than people press buttons
    BROKER_UNREACHABLE = "broker_unreachable"  # central's MQTT link is down: it hears no device
    ARC_UNREACHABLE = "arc_unreachable"  # no receiver of the site's alarm receiving centre answers


#: Faults central raises on what it sees, not on what a device says of itself.
CENTRAL_KINDS = frozenset(
    {
        FaultKind.OFFLINE,
        FaultKind.UNKNOWN_DEVICE,
        FaultKind.FLOOD,
        FaultKind.BROKER_UNREACHABLE,
        FaultKind.ARC_UNREACHABLE,
    }
)
BROKER_REASON = "central cannot reach the MQTT broker: no alarm from any device reaches central"


def fault_kind(text: str) -> FaultKind:
    """The kind of a device's own health fault, from its text (docs/protocol.md, Health)."""
    lowered = text.lower()
    if "tamper" in lowered:
        return FaultKind.TAMPER
    if lowered.startswith("sensor-board"):
        return FaultKind.SENSOR_BOARD
    if lowered.startswith("input ") and ("stuck" in lowered or "closed at start" in lowered):
        return FaultKind.STUCK_INPUT
    return FaultKind.DEVICE_FAULT


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """When a site is open: ``start``–``end`` local time on ``days`` (Monday = 0)."""

    start: time
    end: time
    zone: tzinfo
    days: frozenset[int] = frozenset(range(5))

    @classmethod
    def parse(cls, text: str, zone: tzinfo, days: Iterable[int] = range(5)) -> OpeningHours:
        """``"08:00-16:00"`` (``"00:00-24:00"``: the whole day); ValueError saying why not."""
        first, sep, last = text.partition("-")
        if not sep:
            raise ValueError(f"opening hours {text!r} are not HH:MM-HH:MM")
        start = time.fromisoformat(first.strip())
        end = time.max if last.strip() == "24:00" else time.fromisoformat(last.strip())
        if end <= start:
            raise ValueError(f"opening hours {text!r} end before they start")
        return cls(start, end, zone, frozenset(days))

    def open_at(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end


@dataclass(frozen=True, slots=True)
class Fault:
    site: str
    device: str  # "" for a fault of the whole site
    kind: FaultKind
    reason: str
    since: datetime

    @property
    def key(self) -> tuple[str, str, FaultKind, str]:
        return (self.site, self.device, self.kind, self.reason)


@dataclass(frozen=True, slots=True)
class FaultRaised:
    fault: Fault


@dataclass(frozen=True, slots=True)
class FaultCleared:
    fault: Fault
    at: datetime


SupervisionAction = FaultRaised | FaultCleared


def arc_fault(site: str, reason: str, since: datetime) -> Fault:
    """The site's alarm receiving centre answers on no receiver (central.arc): an alarm that
    escalates to it would not get there, so its facility managers must know."""
    why = (
        f"the alarm receiving centre does not answer ({reason})"
        if reason
        else ("the alarm receiving centre does not answer")
    )
    return Fault(site, "", FaultKind.ARC_UNREACHABLE, why, since)


@dataclass(slots=True)
class DeviceRecord:
    """What supervision knows of one device (the API shows it)."""

    site: str
    device: str
    online: bool
    since: datetime  # when ``online`` last changed
    last_seen: datetime
    interval_s: float | None = None  # its heartbeat interval, once one has come
    health_faults: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    offline_reason: str = ""


@dataclass(slots=True)
class _Coverage:
    screens: int = 0
    uncovered_since: datetime | None = None


class Supervisor:
    """Devices and sites under watch. Every method returns the faults that changed.

    ``hours``: each site's opening hours (None: its coverage is not watched). ``started``: when
    watching began (a site with no screen since then is uncovered from then).
    """

    def __init__(
        self,
        hours: Mapping[str, OpeningHours | None],
        started: datetime,
        missed_heartbeats: int = MISSED_HEARTBEATS,
        grace: timedelta = COVERAGE_GRACE,
        pause: timedelta = PAUSE,
        resume_grace: timedelta = RESUME_GRACE,
        link_grace: timedelta = LINK_GRACE,
    ) -> None:
        self.hours = dict(hours)
        self.started = started
        self.missed_heartbeats = missed_heartbeats
        self.grace = grace
        self.pause = pause
        self.resume_grace = resume_grace
        self.link_grace = link_grace
        self.resumed: datetime | None = None  # the end of central's last own pause
        self.paused_for: timedelta | None = None  # how long that pause was
        self.link_down_since: datetime | None = None  # central's MQTT link is down since then
        # Devices not heard since this moment (a pause's end, the link's return) get a fresh
        # grace from it.
        self._fresh_from: datetime | None = None
        self._last_tick: datetime | None = None
        self._devices: dict[tuple[str, str], DeviceRecord] = {}
        self._faults: dict[tuple[str, str, FaultKind, str], Fault] = {}
        self._coverage: dict[str, _Coverage] = {}

    # --- queries -------------------------------------------------------------------------

    def devices(self) -> list[DeviceRecord]:
        return sorted(self._devices.values(), key=lambda d: (d.site, d.device))

    def device(self, site: str, device: str) -> DeviceRecord | None:
        return self._devices.get((site, device))

    def faults(self) -> list[Fault]:
        return sorted(self._faults.values(), key=lambda f: (f.site, f.device, f.kind, f.reason))

    def screens(self, site: str) -> int:
        return self._coverage.get(site, _Coverage()).screens

    # --- what central hears --------------------------------------------------------------

    def status(
        self,
        site: str,
        device: str,
        online: bool,
        now: datetime,
        health_faults: Iterable[str] | None = None,
        inputs: Iterable[str] | None = None,
    ) -> list[SupervisionAction]:
        """A retained ``status``: online (with health) or offline (the will, or a shutdown)."""
        record = self._record(site, device, now)
        if not online:
            return self._went_offline(record, "status offline (last will or shutdown)", now)
        actions = self._came_back(record, now)
        return actions + self._health(record, health_faults, inputs, now)

    def heartbeat(
        self,
        site: str,
        device: str,
        interval_s: float,
        now: datetime,
        health_faults: Iterable[str] = (),
        inputs: Iterable[str] | None = None,
    ) -> list[SupervisionAction]:
        record = self._record(site, device, now)
        record.interval_s = interval_s
        actions = self._came_back(record, now)
        return actions + self._health(record, health_faults, inputs, now)

    def heard(self, site: str, device: str, now: datetime) -> list[SupervisionAction]:
        """Any other message from the device (an event, a self-test result): it is alive."""
        return self._came_back(self._record(site, device, now), now)

    def screens_changed(self, site: str, count: int, now: datetime) -> list[SupervisionAction]:
        coverage = self._coverage.setdefault(site, _Coverage())
        if count > 0:
            coverage.screens = count
            coverage.uncovered_since = None
            return self._clear(lambda f: f.site == site and f.kind is FaultKind.NO_SCREEN, now)
        if coverage.screens > 0 or coverage.uncovered_since is None:
            coverage.uncovered_since = now
        coverage.screens = 0
        return self._check_coverage(site, now)

    def link(self, up: bool, now: datetime) -> list[SupervisionAction]:
        """Central's own MQTT link came up or went down (or another attempt failed)."""
        if not up:
            if self.link_down_since is None:
                self.link_down_since = now
            return []
        if self.link_down_since is None:
            return []
        self.link_down_since = None
        self._fresh(now)
        return self._clear(lambda f: f.kind is FaultKind.BROKER_UNREACHABLE, now)

    def tick(self, now: datetime) -> list[SupervisionAction]:
        """Time passing: missed heartbeats, and opening hours beginning or ending."""
        if self._last_tick is not None and now - self._last_tick > self.pause:
            self.resumed, self.paused_for = now, now - self._last_tick
            self._fresh(now)
        self._last_tick = max(now, self._last_tick or now)
        actions: list[SupervisionAction] = []
        down = self.link_down_since
        if down is not None and now - down >= self.link_grace:
            for site in sorted(self.hours) or [""]:
                actions += self._raise(
                    Fault(site, "", FaultKind.BROKER_UNREACHABLE, BROKER_REASON, down)
                )
        for record in self._devices.values():
            if down is not None or not record.online or record.interval_s is None:
                continue  # deaf to every device while the link is down: nobody is judged
            allowed = timedelta(seconds=record.interval_s * self.missed_heartbeats)
            fresh = self._fresh_from
            if fresh is not None and record.last_seen < fresh:
                # Not heard since central woke up or got its link back: counted from then.
                if now - fresh <= max(allowed, self.resume_grace):
                    continue
            elif now - record.last_seen <= allowed:
                continue
            reason = f"no heartbeat for {self.missed_heartbeats} intervals"
            actions += self._went_offline(record, reason, now)
        for site in self.hours:
            actions += self._check_coverage(site, now)
        return actions

    # --- internals -------------------------------------------------------------------------

    def _fresh(self, now: datetime) -> None:
        self._fresh_from = max(now, self._fresh_from or now)

    def _record(self, site: str, device: str, now: datetime) -> DeviceRecord:
        record = self._devices.get((site, device))
        if record is None:
            record = DeviceRecord(site, device, online=True, since=now, last_seen=now)
            self._devices[(site, device)] = record
        return record

    def _went_offline(
        self, record: DeviceRecord, reason: str, now: datetime
    ) -> list[SupervisionAction]:
        record.last_seen = max(record.last_seen, now)
        if not record.online:
            return []
        record.online = False
        record.since = now
        record.offline_reason = reason
        return self._raise(Fault(record.site, record.device, FaultKind.OFFLINE, reason, now))

    def _came_back(self, record: DeviceRecord, now: datetime) -> list[SupervisionAction]:
        record.last_seen = now
        if record.online:
            return []
        record.online = True
        record.since = now
        record.offline_reason = ""
        return self._clear(
            lambda f: (f.site, f.device, f.kind) == (record.site, record.device, FaultKind.OFFLINE),
            now,
        )

    def _health(
        self,
        record: DeviceRecord,
        health_faults: Iterable[str] | None,
        inputs: Iterable[str] | None,
        now: datetime,
    ) -> list[SupervisionAction]:
        if inputs is not None:
            named = tuple(inputs)
            if named:
                record.inputs = named
        if health_faults is None:
            return []
        current = tuple(dict.fromkeys(health_faults))
        record.health_faults = current
        wanted = {(record.site, record.device, fault_kind(t), t) for t in current}
        actions = self._clear(
            lambda f: (
                (f.site, f.device) == (record.site, record.device)
                and f.kind not in CENTRAL_KINDS
                and f.key not in wanted
            ),
            now,
        )
        for text in current:
            actions += self._raise(Fault(record.site, record.device, fault_kind(text), text, now))
        return actions

    def _check_coverage(self, site: str, now: datetime) -> list[SupervisionAction]:
        hours = self.hours.get(site)
        coverage = self._coverage.setdefault(site, _Coverage())
        if coverage.screens == 0 and coverage.uncovered_since is None:
            coverage.uncovered_since = self.started
        uncovered = coverage.uncovered_since
        if (
            hours is not None
            and uncovered is not None
            and hours.open_at(now)
            and now - uncovered >= self.grace
        ):
            reason = "no screen connected during opening hours"
            return self._raise(Fault(site, "", FaultKind.NO_SCREEN, reason, now))
        return self._clear(lambda f: f.site == site and f.kind is FaultKind.NO_SCREEN, now)

    def report(self, fault: Fault) -> list[SupervisionAction]:
        """A fault central found itself (an unregistered device's alarm, a flood)."""
        return self._raise(fault)

    def withdraw(self, fault: Fault, now: datetime) -> list[SupervisionAction]:
        """Clear a fault central raised with :meth:`report` (a flood that ended)."""
        return self._clear(lambda f: f.key == fault.key, now)

    def _raise(self, fault: Fault) -> list[SupervisionAction]:
        if fault.key in self._faults:
            return []
        self._faults[fault.key] = fault
        return [FaultRaised(fault)]

    def _clear(self, which: Callable[[Fault], bool], now: datetime) -> list[SupervisionAction]:
        gone = [f for f in self._faults.values() if which(f)]
        for fault in gone:
            del self._faults[fault.key]
        return [FaultCleared(fault, now) for fault in gone]
