"""One card per flooding source, without I/O: containment may merge cards, never hide a room.

A flood (a device past its bucket, or a person's desk past the silent-alarm limit; see
:mod:`central.core.flood`) must not push other rooms off the screens, but every alarm of it may
be real, so none may disappear from a responder's view either. The rule here: while a source
floods, *all* its active alarms are shown on every screen of the site as exactly one card, the
source's oldest active alarm, carrying

* ``flood``: how many active alarms it stands for (itself included),
* ``level``: the highest level among them, and ``presses``: their presses together,
* its own room, state and responders ("I'm coming" on it is recorded on that alarm and reaches
  the device's LED as always).

Every change of any of those alarms (new, a re-press, stored, coming, resolved) is an update of
the card, never dropped. When the flood starts, the cards screens already show of the source's
other alarms are withdrawn with ``merged_into`` (not resolved). When the card's own alarm is
resolved and others remain, the next oldest becomes the card (sent as new). The source stops
being merged only when none of its alarms is active any more; :meth:`FloodCards.merging` says
which sources are merged so that the shell can store it (a restart keeps the card).

Escalation (:mod:`central.core.escalation`) and a flood: the card stands for the whole flood, so

* it carries the wider audience of every alarm it ever stood for (``escalated_sites``,
  ``escalated_users``, ``escalated_to``, the highest ``stage``): whoever any member reached sees
  the card, and keeps seeing it (its resolution included) while the source is merged;
* "shown", "I'm coming", "can't come" and "resolve" given on the card are given on every
  member (:meth:`FloodCards.members`; the shell records a receipt per member), and an alarm that
  joins a card already shown is shown by the same people (``Shown.joined``);
* the flood escalates once, not once per alarm: only its *leader* (the oldest member at the
  flood's highest level, usually the card's own alarm) takes stages; the other members are
  held (:meth:`FloodCards.held`) while merged. So one flood reaches the ARC once, not N times.
  The leader escalates by its own routine; a member that becomes leader (the leader resolved
  alone, or a more acute alarm joining) escalates from its own raise from then on.

The shell feeds every broadcast of a real alarm through :meth:`FloodCards.changed`, which says
what to send instead; a snapshot or the console's board lists alarms through
:meth:`FloodCards.listed`. Test alarms are never merged (they go to their tester only). Drills
are merged apart from real alarms, as a source of their own (:data:`DRILL_MARK`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from central.core.alarms import DESK_DEVICE
from central.core.model import Broadcast
from protocol import AlarmLevel
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, AlarmView

Source = tuple[str, str, bool]  # (site, device, False) or (site, the raising user, True)
#: Drills are a source of their own (``drill:rom-101``; no device or user id has a colon):
#: contained by a budget of their own (central.core.flood), merged into a card of their own,
#: so that a drill never uses up its room's real budget and a real alarm never joins a drill's
#: card.
DRILL_MARK = "drill:"


def flood_name(name: str, drill: bool) -> str:
    """The name a flood of ``name`` (a device, or a desk's raiser) is counted by."""
    return f"{DRILL_MARK}{name}" if drill else name


def drill_of(name: str) -> str | None:
    """The device (or raiser) of a drills' flood name; None for a real source's."""
    return name.removeprefix(DRILL_MARK) if name.startswith(DRILL_MARK) else None


def flood_source(alarm: AlarmView) -> Source:
    """What a flood is counted by: the device, or for a desk's silent alarm the person;
    drills apart from real alarms (:data:`DRILL_MARK`)."""
    if alarm.device == DESK_DEVICE and alarm.raised_by:
        return alarm.site, flood_name(alarm.raised_by, alarm.drill), True
    return alarm.site, flood_name(alarm.device, alarm.drill), False


@dataclass(slots=True)
class _Group:
    since: datetime
    members: dict[UUID, AlarmView] = field(default_factory=dict)  # oldest first: the card
    acute: int = 0  # members at the highest level
    presses: int = 0
    # The wider audience of every member it ever had (sticky while merged: never narrowed).
    stage: int = 0
    escalated_to: dict[str, None] = field(default_factory=dict)
    sites: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)

    def put(self, view: AlarmView) -> None:
        old = self.members.get(view.alarm_id)
        if old is not None:  # in place: the order (which alarm is the card) stays
            self.acute -= old.level is AlarmLevel.ACUTE
            self.presses -= old.presses
        self.members[view.alarm_id] = view
        self.acute += view.level is AlarmLevel.ACUTE
        self.presses += view.presses
        self.stage = max(self.stage, view.stage)
        self.escalated_to.update(dict.fromkeys(view.escalated_to))
        self.sites.update(view.escalated_sites)
        self.users.update(view.escalated_users)

    def drop(self, alarm_id: UUID) -> None:
        old = self.members.pop(alarm_id, None)
        if old is not None:
            self.acute -= old.level is AlarmLevel.ACUTE
            self.presses -= old.presses

    @property
    def first(self) -> UUID:
        return next(iter(self.members))

    @property
    def leader(self) -> UUID:
        """The member that escalates for the flood: the oldest at the highest level."""
        if self.acute:
            return next(a for a, v in self.members.items() if v.level is AlarmLevel.ACUTE)
        return self.first

    def audience(self, site: str) -> dict[str, object]:
        """The escalation fields of the card: every member's wider audience together."""
        return {
            "stage": self.stage,
            "escalated_to": tuple(self.escalated_to),
            "escalated_sites": tuple(sorted(self.sites - {site})),
            "escalated_users": tuple(sorted(self.users)),
        }

    def card(self) -> AlarmView:
        view = self.members[self.first]
        level = AlarmLevel.ACUTE if self.acute else view.level
        update = {"flood": len(self.members), "level": level, "presses": self.presses}
        return view.model_copy(update=update | self.audience(view.site))

    def widened(self, view: AlarmView) -> AlarmView:
        """``view`` (a member's resolution) told to everyone the card reached."""
        return view.model_copy(update=self.audience(view.site))


@dataclass(frozen=True, slots=True)
class Shown:
    """What to send for one alarm change: ``None`` frames means "as it is" (not merged)."""

    out: tuple[Broadcast, ...] | None
    ended: Source | None = None  # the source's last active alarm was resolved: merged no more
    joined: UUID | None = None  # a new alarm joined this card (which screens already show)
    # A merged alarm (not the card) was resolved: its flood's card stands for it, so it asks
    # for no incident report of its own (one report per flood, asked when the card resolves).
    merged_away: UUID | None = None


class FloodCards:
    """The merged sources and their active alarms (the latest view of each)."""

    def __init__(self) -> None:
        self._groups: dict[Source, _Group] = {}

    def merging(self) -> dict[Source, datetime]:
        """Merged sources and since when (what the shell stores)."""
        return {source: group.since for source, group in self._groups.items()}

    def members(self, alarm_id: UUID) -> tuple[UUID, ...]:
        """The alarms a "resolve" on ``alarm_id`` resolves: if it is a card, every alarm of its
        flood (the card last, so that the card goes away last); otherwise itself."""
        for group in self._groups.values():
            if group.members and group.first == alarm_id:
                return (*(a for a in group.members if a != alarm_id), alarm_id)
        return (alarm_id,)

    def card(self, alarm_id: UUID) -> AlarmView | None:
        """The card as screens show it, if ``alarm_id`` is a card's alarm (whoever it reaches
        may answer every alarm of its flood); None otherwise."""
        for group in self._groups.values():
            if group.members and group.first == alarm_id:
                return group.card()
        return None

    def held(self) -> frozenset[UUID]:
        """The alarms that take no escalation stage of their own now: every merged alarm but
        its flood's leader (the oldest at the flood's highest level), which escalates for it."""
        held: set[UUID] = set()
        for group in self._groups.values():
            if group.members:
                leader = group.leader
                held.update(a for a in group.members if a != leader)
        return frozenset(held)

    def start(
        self, source: Source, since: datetime, active: Iterable[AlarmView]
    ) -> list[Broadcast]:
        """``source`` floods from ``since``: its active alarms (which screens show as cards of
        their own) merge into one, the oldest; the others are withdrawn from screens."""
        if source in self._groups:
            return []
        group = self._groups[source] = _Group(since)
        for view in active:
            active_now = not view.test and view.state is not AlarmState.RESOLVED
            if active_now and flood_source(view) == source:
                group.put(view)
        if not group.members:
            return []
        card = group.card()
        out = [Broadcast(source[0], AlarmUpdate(alarm=card))]
        for view in group.members.values():
            if view.alarm_id != card.alarm_id:
                merged = view.model_copy(update={"merged_into": card.alarm_id})
                out.append(Broadcast(source[0], AlarmUpdate(alarm=merged)))
        return out

    def restore(
        self, merged: Mapping[Source, datetime], active: Iterable[AlarmView]
    ) -> list[Source]:
        """After a restart: the stored merged sources with the book's active alarms; the
        sources with none active any more are returned (no longer merged)."""
        views = tuple(active)
        for source, since in merged.items():
            self.start(source, since, views)
        ended = [s for s, g in self._groups.items() if not g.members]
        for source in ended:
            del self._groups[source]
        return ended

    def changed(self, frame: AlarmNew | AlarmUpdate) -> Shown:
        """An alarm's broadcast: what to send instead, if its source is merged."""
        view = frame.alarm
        source = flood_source(view)
        group = self._groups.get(source)
        if group is None or view.test:
            return Shown(None)
        site = view.site
        if view.state is AlarmState.RESOLVED:
            if view.alarm_id not in group.members:
                return Shown(None)  # not on any screen as active: tell it as it is
            was_card = group.first == view.alarm_id
            group.drop(view.alarm_id)
            resolved = group.widened(view)  # to everyone who had the card
            if not group.members:
                del self._groups[source]
                return Shown((Broadcast(site, AlarmUpdate(alarm=resolved)),), ended=source)
            if was_card:  # the next oldest takes over the card
                return Shown(
                    (
                        Broadcast(site, AlarmUpdate(alarm=resolved)),
                        Broadcast(site, AlarmNew(alarm=group.card())),
                    )
                )
            told = Broadcast(site, AlarmUpdate(alarm=group.card()))
            return Shown((told,), merged_away=view.alarm_id)
        new = view.alarm_id not in group.members
        group.put(view)
        card = group.card()
        out: list[Broadcast] = []
        if new and card.alarm_id == view.alarm_id:  # the first alarm of an empty group
            out.append(Broadcast(site, AlarmNew(alarm=card)))
        else:
            out.append(Broadcast(site, AlarmUpdate(alarm=card)))
        if source[2] and card.alarm_id != view.alarm_id:
            # The raiser's desk waits to see its own silent alarm stored: it alone gets it,
            # already withdrawn into the card.
            merged = view.model_copy(update={"merged_into": card.alarm_id})
            out.append(Broadcast(site, AlarmUpdate(alarm=merged), only=frozenset({source[1]})))
        joined = card.alarm_id if new and card.alarm_id != view.alarm_id else None
        return Shown(tuple(out), joined=joined)

    def listed(self, alarms: Iterable[AlarmView]) -> list[AlarmView]:
        """``alarms`` as screens list them (a snapshot, the board): a merged source's alarms as
        its one card, where the first of them is (the card's own alarm, unless a reader is
        reached by a member only: then the card, which carries every member's audience, is
        there); everything else as it is."""
        out: list[AlarmView] = []
        listed: set[Source] = set()
        for view in alarms:
            source = flood_source(view)
            group = self._groups.get(source)
            if group is None or view.test or view.alarm_id not in group.members:
                out.append(view)
            elif source not in listed:
                listed.add(source)
                out.append(group.card())
        return out
