"""Which of central's facts the alarm receiving centre (ARC) hears, as :class:`ArcEvent` values.

Pure: the service hands it what was *stored* (an escalation stage, a resolution, an
announcement) or what supervision decided (a device fault raised or cleared), and sends what
comes back through :class:`central.arc.ArcLink`. The rules live here, in one place, so that
docs/arc.md can state them and a test can check each by exact equality:

* An alarm reaches the ARC only through a stage of its escalation routine that names the ARC
  (routines/escalation.toml): never a test alarm, never a drill (the escalation core keeps both
  away), never at once — the site's own colleagues get their chance first. Acute is Contact ID
  120 (panic); acute raised silently from a desk is 122 (silent panic: the raiser may be
  watched); assist is 101. The zone is the device's ``arc_zone`` from the registry.
* Its resolution is a restore of the same event, sent only for an alarm the ARC was told of
  (``"arc"`` in its ``escalated_to``): an ARC never hears "all clear" for an alarm it never had.
* Evacuate and lock down are events of their own (fixed zones 901/902); "All clear" restores
  the announcement it ends, and so does one of the other kind replacing it (a lockdown that
  becomes an evacuation): the ARC never keeps a zone open that the site has left.
* A device fault (offline, tamper, a stuck input, a silent sensor board, a reported fault) is
  trouble (380) on that device's zone, restored when cleared (``central.arc.troubles`` keeps
  one open trouble per device and kind, also across a restart of central). Faults of the
  whole site (no screen, the broker link, a flood) are central's own business and stay off the
  ARC's desk.

Every event's ``key`` names what makes it one (the alarm id, the announcement id, the fault and
its start), so the outbox sends an event offered twice only once (a restart re-running a step).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from central.arc.events import ArcEvent, ArcKind
from central.core.announcements import Announcement
from central.core.escalation import ARC
from central.core.supervision import FaultKind
from protocol import AlarmLevel, AlarmSource
from protocol.messages import AnnouncementKind
from protocol.screen import AlarmState, AlarmView

#: Device faults that are trouble for the ARC (the others belong to the site, not a device).
TROUBLE_KINDS = frozenset(
    {
        FaultKind.OFFLINE,
        FaultKind.TAMPER,
        FaultKind.STUCK_INPUT,
        FaultKind.SENSOR_BOARD,
        FaultKind.DEVICE_FAULT,
    }
)
_ANNOUNCED = {
    AnnouncementKind.EVACUATE: ArcKind.EVACUATE,
    AnnouncementKind.LOCKDOWN: ArcKind.LOCKDOWN,
}

Zones = Mapping[tuple[str, str], int]


def zone_numbers(devices: Iterable[tuple[str, str, int | None]]) -> dict[tuple[str, str], int]:
    """Each (site, device, arc_zone) of the registry that has a zone: the number the ARC
    knows the device by (set explicitly in the registry, so that adding or reordering devices
    never moves a room at the ARC; central's config requires it at a site with an ARC)."""
    return {(site, device): zone for site, device, zone in devices if zone is not None}


def alarm_kind(view: AlarmView) -> ArcKind:
    """The ARC's word for an alarm: assist, panic, or a silent panic raised from a desk."""
    if view.level is AlarmLevel.ASSIST:
        return ArcKind.ASSIST
    return ArcKind.SILENT if view.source is AlarmSource.DESKTOP else ArcKind.PANIC


def alarm_report(view: AlarmView, zones: Zones) -> ArcEvent | None:
    """The event for an alarm a stored escalation stage sent to the ARC (None: never for a
    test or a drill, whatever a routine says)."""
    if view.test or view.drill:
        return None
    return ArcEvent(
        view.site,
        str(view.alarm_id),
        alarm_kind(view),
        view.raised_at,
        zone=zones.get((view.site, view.device), 0),
    )


def resolved_report(view: AlarmView, zones: Zones) -> ArcEvent | None:
    """The restore for a stored resolution, if the ARC was told of the alarm."""
    if view.state is not AlarmState.RESOLVED or ARC not in view.escalated_to:
        return None
    alarm = alarm_report(view, zones)
    if alarm is None or view.resolved_at is None:
        return None
    return ArcEvent(
        alarm.site, alarm.key, alarm.kind, view.resolved_at, zone=alarm.zone, restore=True
    )


def announcement_report(now: Announcement, previous: Announcement | None) -> ArcEvent | None:
    """Evacuate / lock down, or "All clear" as the restore of the announcement it ends."""
    kind = _ANNOUNCED.get(now.kind)
    if kind is not None:
        return ArcEvent(now.site, str(now.announcement_id), kind, now.at)
    ended = _ANNOUNCED.get(previous.kind) if previous is not None else None
    if previous is None or ended is None:
        return None
    return ArcEvent(now.site, str(previous.announcement_id), ended, now.at, restore=True)


def replaced_report(now: Announcement, previous: Announcement | None) -> ArcEvent | None:
    """The restore of the announcement ``now`` replaces with one of the other kind (lockdown
    becomes evacuate, or back), sent before ``now``'s own event. Evacuate replacing evacuate
    (one zone becoming the whole site) keeps 901 open: nothing to restore."""
    kind = _ANNOUNCED.get(now.kind)
    ended = _ANNOUNCED.get(previous.kind) if previous is not None else None
    if previous is None or kind is None or ended is None or ended is kind:
        return None
    return ArcEvent(now.site, str(previous.announcement_id), ended, now.at, restore=True)
