"""Central's ``/metrics`` (Prometheus text format): what an operator graphs and alerts on.

Why it is shaped so:

* **One registry per app, none global.** :class:`Metrics` owns a ``CollectorRegistry`` made by
  ``create_app``; two centrals in one process (the tests) never share a number, and nothing
  registers itself at import time.
* **State is read, not mirrored.** What *is* (alarms open by level and state, screens per
  site, devices online and offline, self-tests overdue, the MQTT and ARC links) is read from
  the live parts at scrape time by :class:`_Live`, a custom collector: there is no second copy
  to keep in step, so a gauge cannot drift from what the board shows.
* **Events are counted where they become true.** What *happened* (alarms raised and resolved,
  the first "I'm coming") is counted in :meth:`Metrics.committed`, which the service calls once
  per committed write: a step counts once it is on disk, exactly once (a failed write's events
  ride along with the next one and are committed once), never for a change a restart could
  take back. Store commit latency is one ``Histogram.observe`` from the writer thread, after
  the commit: no I/O and no lock of ours on the alarm's path. Only transactions that carry an
  alarm's write are timed (the store says which): the watchdog's probe, an empty transaction
  every few seconds, would otherwise be most of them and hide what an alarm waits for.
* **Tests and drills are never real.** Every alarm counter carries ``kind`` = ``real``,
  ``drill`` or ``test`` (a test wins over a drill), and time to the first "I'm coming" is
  measured for real alarms only.
* **Bounded labels.** Sites (from the config), levels, states, kinds and self-test kinds:
  never an alarm id, a device id or a user. Every label combination is present from the
  start (at 0), so dashboards and ``rate()`` see a series before its first event.

Time to the first "I'm coming" runs from the alarm's ``raised_at`` (the press, on the device's
clock, which self-tests keep within 2 s of central's; a desk's or phone's raise time) to the
first colleague's answer, both as the record has them, and is counted once that answer is
stored. It is measured for alarms raised while this central runs, and for those still
unanswered when it started. Self-tests overdue need the test log's last passes: the one
store read of a scrape, on the store's reader thread, never the writer's.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from central.arc.session import Status
from central.core import EventKind, Persist
from central.core.schedule import SelfTestKind
from central.store import testlog
from protocol import AlarmLevel
from protocol.screen import AlarmState, AlarmView

if TYPE_CHECKING:
    from central.service import Central

#: What an alarm is in every statistic: a test wins over a drill; the rest are real.
KINDS = ("real", "drill", "test")
LEVELS = tuple(level.value for level in AlarmLevel)
OPEN_STATES = tuple(s.value for s in AlarmState if s is not AlarmState.RESOLVED)
# Seconds: help within seconds is the aim, a few minutes is the tail worth seeing.
COMING_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
# Seconds: a group commit with fsync is milliseconds on an SSD, more on an SD card.
COMMIT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def kind_of(alarm: AlarmView) -> str:
    return "test" if alarm.test else "drill" if alarm.drill else "real"


class Metrics:
    """One per app (``create_app`` makes it and hands it to ``Central``, whose ``start``
    calls :meth:`watch`); the route calls :meth:`scrape`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.raised = Counter(
            "trygg_alarms_raised",
            "Alarms raised (counted once stored), by level and kind (real, drill, test).",
            ("level", "kind"),
            registry=r,
        )
        self.resolved = Counter(
            "trygg_alarms_resolved",
            "Alarms resolved (counted once stored), by level and kind (real, drill, test).",
            ("level", "kind"),
            registry=r,
        )
        self.first_coming = Histogram(
            "trygg_alarm_first_coming_seconds",
            "From a real alarm's raise to its first stored 'I'm coming', by level.",
            ("level",),
            buckets=COMING_BUCKETS,
            registry=r,
        )
        self.store_commit = Histogram(
            "trygg_store_commit_seconds",
            "One transaction of the store's writer that carried an alarm write, BEGIN to COMMIT.",
            buckets=COMMIT_BUCKETS,
            registry=r,
        )
        for level in LEVELS:
            self.first_coming.labels(level)
            for kind in KINDS:
                self.raised.labels(level, kind)
                self.resolved.labels(level, kind)
        # Real alarms raised and not yet answered: alarm id → level and raise time. Bounded by
        # the active alarms: an entry goes with the first "I'm coming" or the resolution.
        self._waiting: dict[UUID, tuple[str, datetime]] = {}
        self._live = _Live()
        r.register(self._live)
        ProcessCollector(registry=r)  # memory, CPU, open files of central's process
        PlatformCollector(registry=r)  # the Python version

    def watch(self, central: Central) -> None:
        """Read ``central``'s live state at each scrape (``Central.start`` calls it once the
        book is restored): real alarms restored unanswered are timed too."""
        self._live.central = central
        for alarm in central.book.active():
            if kind_of(alarm) == "real" and not alarm.responders:
                self._waiting[alarm.alarm_id] = (alarm.level.value, alarm.raised_at)

    def committed(self, persist: Persist) -> None:
        """The store committed ``persist``: count the steps it carried (the service's hook)."""
        row = persist.alarm
        if row is None:  # receipts only (delivered, shown)
            return
        level, kind = row.level.value, kind_of(row)
        for event in persist.events:
            if event.kind is EventKind.RAISED:
                self.raised.labels(level, kind).inc()
                if kind == "real":
                    self._waiting[row.alarm_id] = (level, row.raised_at)
            elif event.kind is EventKind.COMING:
                waiting = self._waiting.pop(row.alarm_id, None)
                if waiting is not None:
                    seconds = (event.at - waiting[1]).total_seconds()
                    self.first_coming.labels(waiting[0]).observe(max(0.0, seconds))
            elif event.kind is EventKind.RESOLVED:
                self.resolved.labels(level, kind).inc()
                self._waiting.pop(row.alarm_id, None)

    async def scrape(self) -> bytes:
        """The text exposition. Self-tests overdue need the test log's last passes: read first
        (on the store's reader thread), then every collector runs here, on the loop."""
        central = self._live.central
        if central is not None:
            passed = await central.read(testlog.last_passed)
            found = central.testing.overdue(lambda _site: True, passed, central.clock())
            self._live.overdue = Tally((o.site, o.kind) for o in found)
        return generate_latest(self.registry)


class _Live:
    """The gauges, read from central's parts at scrape time (on the event loop)."""

    def __init__(self) -> None:
        self.central: Central | None = None
        self.overdue: Tally[tuple[str, str]] = Tally()

    def describe(self) -> Iterable[Metric]:
        return list(_families())

    def collect(self) -> Iterable[Metric]:
        central = self.central
        if central is None:
            return []
        families = {f.name: f for f in _families()}
        sites = [s.id for s in central.settings.sites]

        alarms = families["trygg_alarms_open"]
        open_now = Tally((a.level.value, a.state.value, kind_of(a)) for a in central.book.active())
        for level in LEVELS:
            for state in OPEN_STATES:
                for kind in KINDS:
                    alarms.add_metric([level, state, kind], open_now[(level, state, kind)])

        screens = families["trygg_screens_connected"]
        for site in sites:
            screens.add_metric([site], len(central.hub.screens(site)))

        devices = families["trygg_devices"]
        online = Tally(_device_states(central))
        for site in sites:
            for state in ("online", "offline"):
                devices.add_metric([site, state], online[(site, state)])

        overdue = families["trygg_selftests_overdue"]
        for site in sites:
            for test in SelfTestKind:
                overdue.add_metric([site, test.value], self.overdue[(site, test.value)])

        arc = families["trygg_arc_link_up"]
        for site in sorted(central.arc.sites):
            link_state = central.arc.link.state(site)
            up = link_state is not None and link_state.status is Status.UP
            arc.add_metric([site], 1 if up else 0)

        link = central.link
        families["trygg_mqtt_connected"].add_metric([], 1 if link.connected else 0)
        families["trygg_mqtt_reconnects"].add_metric([], max(0, link.connects - 1))
        families["trygg_screens_dropped"].add_metric([], central.hub.dropped)
        failed = families["trygg_tick_failures"]
        for step, count in central.tick_failures.items():  # every step, at 0 from the start
            failed.add_metric([step], count)
        _mail(central, families)
        return list(families.values())


def _mail(central: Central, families: dict[str, GaugeMetricFamily | CounterMetricFamily]) -> None:
    """The incident reports' e-mail outbox (central.mailing): all 0 without ``[email]``."""
    mailer = central.reports.mailer
    families["trygg_mail_sent"].add_metric([], mailer.sent if mailer else 0)
    for outcome in ("retried", "refused"):
        count = mailer.failed[outcome] if mailer else 0
        families["trygg_mail_failed"].add_metric([outcome], count)
    families["trygg_mail_owed"].add_metric([], mailer.owed if mailer else 0)
    oldest = mailer.oldest_owed if mailer else None
    age = max(0.0, (central.clock() - oldest).total_seconds()) if oldest is not None else 0.0
    families["trygg_mail_owed_oldest_seconds"].add_metric([], age)


def _device_states(central: Central) -> Iterator[tuple[str, str]]:
    """(site, "online"/"offline") per device: every device central has heard of and every
    device of the registry (one never heard is offline, as ``/api/devices`` says)."""
    known = set(central.known_devices()) | {(d.site, d.id) for d in central.registry.devices()}
    for site, device in known:
        record = central.device(site, device)
        yield site, "online" if record is not None and record.online else "offline"


def _families() -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    yield GaugeMetricFamily(
        "trygg_alarms_open",
        "Alarms open now (not resolved), by level, state and kind (real, drill, test).",
        labels=("level", "state", "kind"),
    )
    yield GaugeMetricFamily(
        "trygg_screens_connected",
        "Screens (desks) connected now that would get an alarm of the site.",
        labels=("site",),
    )
    yield GaugeMetricFamily(
        "trygg_devices",
        "Devices of the site by state (online, offline); never heard counts as offline.",
        labels=("site", "state"),
    )
    yield GaugeMetricFamily(
        "trygg_selftests_overdue",
        "Self-test targets not passed within their schedule's period, by site and kind.",
        labels=("site", "kind"),
    )
    yield GaugeMetricFamily(
        "trygg_arc_link_up",
        "The site's alarm receiving centre answers (1) or not yet / not now (0).",
        labels=("site",),
    )
    yield GaugeMetricFamily("trygg_mqtt_connected", "Central's link to the MQTT broker is up.")
    yield CounterMetricFamily(
        "trygg_mqtt_reconnects", "Times central's MQTT link came back after its first connect."
    )
    yield CounterMetricFamily(
        "trygg_screens_dropped", "Screens dropped for being gone or too slow to take frames."
    )
    yield CounterMetricFamily(
        "trygg_mail_sent", "Incident-report e-mails the SMTP server took, since central started."
    )
    yield CounterMetricFamily(
        "trygg_mail_failed",
        "Incident-report e-mail tries that failed, since central started: retried (tried"
        " again later) or refused (for good: the recipient, or a message that cannot be made).",
        labels=("outcome",),
    )
    yield GaugeMetricFamily("trygg_mail_owed", "Incident-report e-mails waiting to be sent.")
    yield GaugeMetricFamily(
        "trygg_mail_owed_oldest_seconds",
        "How long the oldest incident-report e-mail waiting has waited (0: none waits).",
    )
    yield CounterMetricFamily(
        "trygg_tick_failures",
        "Steps of central's ticker (escalation, supervision, schedules...) that raised, by step.",
        labels=("step",),
    )
