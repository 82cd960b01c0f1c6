"""The device registry at ingest: where an alarm comes from is central's knowledge, not the
payload's.

Central's config lists its devices (``[[devices]]``: site, id, room, floor, inputs). The same
list generates the broker's accounts and ACL (:mod:`central.brokerconfig`), so a device can
publish only under its own ``trygg/v1/{site}/{device}/``, and here an alarm's room and floor
are replaced by the registry's: a device cannot move itself to another room or site.

An alarm from a (site, device) the registry does not know can only reach central when the
broker and the registry disagree (a broker configured by hand, a device added to the broker
but not to central) or when central's own account is misused. It is still, possibly, a button
someone pressed, so it is never dropped silently; it is also not trusted enough to light up
every screen of a site. Central records it as an ``unknown_device`` fault carrying the
alarm's details (stored in the faults table, logged) and shows that fault to the facility
managers of the site it names (and to those who cover every site), never to another site's
screens. It is not acked: the device's LED keeps saying "sending", which is the truth.

The registry is required: a config without ``[[devices]]`` is refused (central.config)
unless the operator opts out explicitly with ``[registry] open = true``, for trials only. An
*open* registry trusts every device the broker lets in and takes rooms from payloads; central
warns at start and the console's board says so. A registry that is not open and empty (only
possible when settings are built by hand) trusts no device.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from central.config import DeviceSettings
from central.core.alarms import DESK_DEVICE
from central.core.flood import FloodAction, FloodEnded, FloodStarted
from central.core.floodcards import drill_of
from central.core.supervision import Fault, FaultKind
from protocol import AlarmMessage

log = logging.getLogger("central.registry")


class Registry:
    def __init__(self, devices: Iterable[DeviceSettings], *, trust_all: bool = False) -> None:
        self._devices = {(d.site, d.id): d for d in devices}
        self._open = trust_all

    @property
    def open(self) -> bool:
        """``[registry] open = true``: every device is trusted (trials only)."""
        return self._open

    def device(self, site: str, device: str) -> DeviceSettings | None:
        return self._devices.get((site, device))

    def devices(self) -> list[DeviceSettings]:
        return sorted(self._devices.values(), key=lambda d: (d.site, d.id))

    def announce_refusal(self, site: str, device: str, kind: str) -> str | None:
        """None if ``device`` of ``site`` may announce ``kind`` (its ``announces``); else why
        not. The topic's site and device are the broker's (its ACL), never the payload's
        alone: a device can only ask for its own site. Even an open registry trusts no device
        to evacuate a building: only a declared device may."""
        known = self.device(site, device)
        if known is None:
            return "unregistered_device"
        if kind not in known.announces:
            return "announce_not_allowed"
        return None

    def devices_at(self, site: str) -> list[DeviceSettings]:
        return [d for d in self.devices() if d.site == site]

    def place(self, message: AlarmMessage) -> AlarmMessage | None:
        """The alarm with the registry's room and floor; None if its device is unknown."""
        if self.open:
            return message
        known = self.device(message.site, message.device)
        if known is None:
            return None
        if known.inputs and message.input not in known.inputs:
            log.warning(
                "alarm %s from %s/%s names input %r, not among its registered inputs %s",
                message.alarm_id,
                message.site,
                message.device,
                message.input,
                ", ".join(known.inputs),
            )
        if (message.room, message.floor) == (known.room, known.floor):
            return message
        return message.model_copy(update={"room": known.room, "floor": known.floor})


def flood_fault(site: str, source: str, since: datetime, desk: bool = False) -> Fault:
    """The fault of a flood from a device, or (``desk``) of silent alarms from a user's desk;
    a flood of drills (its own source, central.core.floodcards) is a fault of its own."""
    rest = "its active alarms are shown as one card on every screen (room, count)"
    drilling = drill_of(source)
    drills = "drills" if drilling is not None else "alarms"
    name = drilling if drilling is not None else source
    if desk:
        reason = f"flood of silent {drills} from the desk of {name}: {rest}"
        return Fault(site, DESK_DEVICE, FaultKind.FLOOD, reason, since)
    what = "flood of drills from" if drilling is not None else "flood from"
    return Fault(site, name, FaultKind.FLOOD, f"{what} {name}: {rest}", since)


def flood_faults(
    actions: Iterable[FloodAction], desk: bool = False
) -> list[tuple[Fault, datetime | None]]:
    """(fault, cleared_at) per flood that started (None) or ended."""
    out: list[tuple[Fault, datetime | None]] = []
    what = "the desk of " if desk else ""
    for action in actions:
        if isinstance(action, FloodStarted):
            log.warning(
                "flood from %s%s at %s: merging its alarms into one card",
                what,
                action.device,
                action.site,
            )
            out.append((flood_fault(action.site, action.device, action.at, desk), None))
        elif isinstance(action, FloodEnded):
            log.warning(
                "flood from %s%s at %s ended: %d alarms came during it (merged into its card)",
                what,
                action.device,
                action.site,
                action.coalesced,
            )
            out.append((flood_fault(action.site, action.device, action.at, desk), action.at))
    return out
