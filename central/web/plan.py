"""A site's floor plan for the board: zones and rooms as rectangles, rooms lit by alarm level.

The level is told three ways, never by colour alone: the fill colour, a pattern (acute is
hatched), and the words and symbol written in the room. A drill never lights a room as an
alarm and is not counted in ``lit``: a room with only drills says DRILL (``drill``).
"""

from __future__ import annotations

from dataclasses import dataclass

from central.config import RoomSettings, SiteSettings, ZoneSettings
from protocol import AlarmLevel
from protocol.screen import AlarmView

_RANK = {AlarmLevel.ASSIST: 1, AlarmLevel.ACUTE: 2}


@dataclass(frozen=True, slots=True)
class LitRoom:
    room: RoomSettings
    level: AlarmLevel | None  # the highest active level of a real alarm in the room; None: quiet
    drill: bool = False  # a drill is active in the room


@dataclass(frozen=True, slots=True)
class Plan:
    site: SiteSettings
    zones: tuple[ZoneSettings, ...]
    rooms: tuple[LitRoom, ...]
    unplaced: tuple[AlarmView, ...]  # alarms from a room that is not on the plan

    @property
    def lit(self) -> int:
        return sum(1 for r in self.rooms if r.level is not None)


def plan_of(site: SiteSettings, active: list[AlarmView]) -> Plan:
    levels: dict[str, AlarmLevel] = {}
    drills: set[str] = set()
    unplaced = []
    for view in active:
        if view.site != site.id:
            continue
        room = site.room_of(view.device, view.room)
        if room is None:
            unplaced.append(view)
            continue
        if view.drill:
            drills.add(room.id)
            continue
        current = levels.get(room.id)
        if current is None or _RANK[view.level] > _RANK[current]:
            levels[room.id] = view.level
    rooms = tuple(LitRoom(r, levels.get(r.id), r.id in drills) for r in site.rooms)
    return Plan(site, site.zones, rooms, tuple(unplaced))
