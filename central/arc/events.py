"""What central tells the alarm receiving centre (ARC): the event and its two codes.

One table maps each kind of event to its Contact ID code (ADM-CID, SIA DC-05) and its SIA code
(SIA-DCS, SIA DC-03), so the two formats can never disagree about what an event is; the SIA
code is the one a receiver maps the Contact ID code to (pysiaalarm's table, after DC-05
Annex). An operator hands this same table to the ARC (docs/arc.md).

An event carries its own ``key``: the same event offered twice (a central restart re-runs an
escalation step; a resolution is recorded again) has the same key and is sent once. The
caller builds the key from what makes the event unique (the alarm id, the announcement id);
the kind and the restore flag are part of it, so an alarm and its restore are two events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ArcKind(StrEnum):
    PANIC = "panic"  # an acute alarm (hold-up/panic button), audible at the site
    SILENT = "silent"  # an acute alarm raised silently: the raiser may be under threat
    ASSIST = "assist"  # a call for a colleague's help (not acute)
    TEST = "test"  # periodic / link test report
    TROUBLE = "trouble"  # a device (button, edge) is faulty or gone
    EVACUATE = "evacuate"  # "Evacuate" announced for the site (restore: "All clear")
    LOCKDOWN = "lockdown"  # "Lock down" announced for the site (restore: "All clear")


@dataclass(frozen=True, slots=True)
class Code:
    cid: int  # Contact ID event code (3 digits)
    sia: str  # SIA event code (2 letters)
    sia_restore: str  # the SIA code of its restore (Contact ID: same code, qualifier 3)
    zone: int | None = None  # a fixed zone number (announcements); None: the event's own


#: The code table (docs/arc.md shows the same). Restore = Contact ID qualifier 3.
CODES: dict[ArcKind, Code] = {
    ArcKind.PANIC: Code(120, "PA", "PH"),
    ArcKind.SILENT: Code(122, "HA", "HH"),
    ArcKind.ASSIST: Code(101, "QA", "QH"),
    ArcKind.TEST: Code(602, "RP", "RP"),
    ArcKind.TROUBLE: Code(380, "YX", "YZ"),
    ArcKind.EVACUATE: Code(150, "UA", "UH", zone=901),
    ArcKind.LOCKDOWN: Code(150, "UA", "UH", zone=902),
}

MAX_ZONE = 999  # Contact ID's zone/user field has three digits


@dataclass(frozen=True, slots=True)
class ArcEvent:
    """One event for a site's ARC. ``key`` is unique per event (e.g. the alarm id)."""

    site: str
    key: str
    kind: ArcKind
    at: datetime
    zone: int = 0  # zone or user number, 0-999 (announcements use their fixed zone)
    restore: bool = False  # the end of the condition (resolved, all clear, trouble gone)

    def __post_init__(self) -> None:
        if not 0 <= self.zone <= MAX_ZONE:
            raise ValueError(f"zone {self.zone} is outside 0-{MAX_ZONE}")
        if not self.key or not self.site:
            raise ValueError("an ARC event needs a site and a key")

    @property
    def unique(self) -> str:
        """What makes it one event: its key, kind and whether it is the restore."""
        return f"{self.key}:{self.kind.value}:{'restore' if self.restore else 'alarm'}"

    @property
    def code(self) -> Code:
        return CODES[self.kind]

    @property
    def zone_number(self) -> int:
        fixed = self.code.zone
        return self.zone if fixed is None else fixed


def cid_data(event: ArcEvent, area: int) -> str:
    """The Contact ID block ``QEEE GG CCC`` (qualifier 1 new, 3 restore; area; zone)."""
    qualifier = 3 if event.restore else 1
    return f"{qualifier}{event.code.cid:03d} {area:02d} {event.zone_number:03d}"


def sia_data(event: ArcEvent, area: int) -> str:
    """The SIA-DCS block ``Nri<area>/<CODE><zone>`` (the restore has its own code)."""
    code = event.code.sia_restore if event.restore else event.code.sia
    return f"Nri{area}/{code}{event.zone_number:03d}"
