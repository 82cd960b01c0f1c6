"""Central's side of the alarm receiving centre: what happened in central becomes ARC events.

The shell around the pure rules of :mod:`central.arc.reports` (which fact is which event) and
:mod:`central.arc.troubles` (device trouble across restarts), over the transmitter
:class:`central.arc.ArcLink`. The service calls one method per fact, each *after* the fact is
stored (an escalation stage, a resolution) or decided (an announcement, a fault), and ticks it
with supervision so that an unreachable ARC is a fault for the site's facility managers.

Why a start replays: the link's outbox sends an event it already sent never again (its key), so
at start everything the record says went to the ARC is simply offered again. That closes the
window between a commit and the send without a second record of "sent" to keep in step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from central.arc.events import ArcEvent
from central.arc.link import ArcLink
from central.arc.outbox import RETENTION
from central.arc.reports import (
    alarm_report,
    announcement_report,
    replaced_report,
    resolved_report,
    zone_numbers,
)
from central.arc.troubles import SETTLE_AFTER, Troubles
from central.config import CentralSettings
from central.core.announcements import Announcement
from central.core.escalation import ARC, Escalated
from central.core.supervision import Fault, SupervisionAction, Supervisor, arc_fault
from protocol.screen import AlarmState, AlarmView

log = logging.getLogger("central.arc")

#: An announcement and the one it replaced or ended (None: the first).
Told = tuple[Announcement, Announcement | None]


class ArcReporting:
    """Create with the settings; ``await start(...)`` after the record is restored."""

    def __init__(self, settings: CentralSettings, link: ArcLink | None = None) -> None:
        self.link = link or ArcLink.from_settings(settings)
        self.sites = frozenset(s.id for s in settings.sites if s.arc is not None)
        self.zones = zone_numbers((d.site, d.id, d.arc_zone) for d in settings.devices)
        self.troubles = Troubles(self.zones)  # device trouble the ARCs have open
        self._down: dict[str, Fault] = {}  # sites whose ARC is unreachable, as faults
        self._settle_at: datetime | None = None

    async def start(self, kept: Iterable[AlarmView], told: Iterable[Told], now: datetime) -> None:
        """Sends what no ARC confirmed before the stop, then offers again what the record
        says went to the ARC (``kept``: the alarm book's alarms; ``told``: each site's latest
        announcement); only what the outbox still remembers, so nothing old is sent again."""
        await self.link.start()
        horizon = now - RETENTION + timedelta(days=1)
        for view in kept:
            if ARC in view.escalated_to and view.raised_at > horizon:
                self._send(alarm_report(view, self.zones))
                self._send(resolved_report(view, self.zones))
        for announced, previous in told:
            if announced.at > horizon:
                self.announced(announced, previous)
        self.troubles.restore(await self.link.open_troubles())
        self._settle_at = now + SETTLE_AFTER

    async def stop(self) -> None:
        await self.link.stop()

    # --- the facts, as they are stored or decided ----------------------------------------------

    def escalated(self, alarm: AlarmView, escalated: Escalated) -> None:
        """A stored escalation stage that names the ARC (only at a site that has one)."""
        log.warning(
            "alarm %s at %s goes to the ARC (stage %d: %s)",
            alarm.alarm_id,
            alarm.site,
            escalated.stage,
            escalated.reason,
        )
        self._send(alarm_report(alarm, self.zones))

    def stored(self, row: AlarmView | None) -> None:
        """An alarm row committed: a resolution of an alarm the ARC had is its restore."""
        if row is not None and row.state is AlarmState.RESOLVED:
            self._send(resolved_report(row, self.zones))

    def announced(self, now: Announcement, previous: Announcement | None) -> None:
        self._send(replaced_report(now, previous))  # a lockdown become an evacuation: ended
        self._send(announcement_report(now, previous))

    def fault_changed(self, action: SupervisionAction) -> None:
        self._send(self.troubles.changed(action))

    def tick(
        self,
        now: datetime,
        supervisor: Supervisor,
        carry_out: Callable[[list[SupervisionAction]], None],
    ) -> None:
        """The link state as faults for facility managers, and (once, a while after the
        start) the restore of open troubles that no fault stands behind any more."""
        down = self.link.faults()
        for site, fault in list(self._down.items()):
            if site not in down:
                del self._down[site]
                carry_out(supervisor.withdraw(fault, now))
        for site, state in down.items():
            if site not in self._down:
                self._down[site] = arc_fault(site, state.reason, state.since)
                carry_out(supervisor.report(self._down[site]))
        if self._settle_at is not None and now >= self._settle_at:
            self._settle_at = None
            for event in self.troubles.settle(now):
                self._send(event)

    def _send(self, event: ArcEvent | None) -> None:
        if event is not None:
            self.link.send(event)
