"""The escalation shell: feeds the pure core (``central.core.escalation``) from what the alarm
book writes, and turns its ``Escalate`` actions into the book's widened audience.

Why it listens to the book's writes (``Persist``) instead of to commands: every step of an
alarm's life that matters here — raised, shown on a screen, a colleague coming or not, resolved —
is an event the book writes, whatever path it came by (an edge, a desk, the console, a flood
card's resolve). So nothing can bypass it, and :class:`central.service.Central` needs one call
per write. A stage's ARC call waits for the stage's commit (:meth:`Escalator.stored`), so that a
restart, which restores the stages taken from the record, can never call it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlite_utils

from central.core import Action, AlarmBook, EventKind, Persist
from central.core.escalation import ARC, NEIGHBOURS, Escalate, Escalated, Escalation
from central.escalation import EscalationRoutine, reach
from protocol.screen import AlarmState, AlarmView

log = logging.getLogger("central.escalation")


class Escalator:
    """One per central: the routine, the core, and the sites' neighbours."""

    def __init__(
        self,
        routine: EscalationRoutine,
        neighbours: Mapping[str, Iterable[str]],
        arc_sites: Iterable[str] = (),
    ) -> None:
        self.routine = routine
        self.core = Escalation(routine.plan())
        self._neighbours = {site: tuple(sites) for site, sites in neighbours.items()}
        self._arc_sites = frozenset(arc_sites)  # sites with an alarm receiving centre

    def restore(self, active: Iterable[AlarmView], raised: Mapping[UUID, datetime]) -> None:
        """After a restart: each active alarm from its record (the stages it has taken), with
        its delays from ``raised`` (when central first saw it; the device's clock otherwise)."""
        for view in active:
            self.core.restore(
                view.alarm_id,
                view.level,
                raised.get(view.alarm_id, view.raised_at),
                taken=view.stage,
                coming=bool(view.responders),
                test=view.test,
                drill=view.drill,
            )

    def wrote(self, persist: Persist, covered: Callable[[AlarmView], bool]) -> None:
        """The book writes ``persist``: what its events say about answering and seeing.
        ``covered(alarm)``: whether a screen that would show it is connected now (the raiser's
        own desk does not count: it never shows its own silent alarm)."""
        row = persist.alarm
        for event in persist.events:
            if event.kind is EventKind.SHOWN:
                self.core.shown(event.alarm_id)
            elif row is None:
                continue
            elif row.state is AlarmState.RESOLVED:
                self.core.ended(event.alarm_id)
            elif event.kind is EventKind.RAISED:
                self.core.raised(
                    row.alarm_id,
                    row.level,
                    event.at,
                    covered=covered(row),
                    test=row.test,
                    drill=row.drill,
                )
            elif event.kind in (EventKind.COMING, EventKind.CANT_COME):
                self.core.answered(row.alarm_id, coming=bool(row.responders))

    def tick(
        self, book: AlarmBook, now: datetime, held: Container[UUID] = frozenset()
    ) -> list[Action]:
        """The stages due now, carried into the book: wider audience, timeline, screens.
        ``held``: alarms merged into a flood card that another alarm escalates for."""
        actions: list[Action] = []
        for escalate in self.core.tick(now, held):
            actions.extend(self._take(book, escalate))
        return actions

    def _take(self, book: AlarmBook, escalate: Escalate) -> list[Action]:
        view = book.get(escalate.alarm_id)
        if view is None:  # pruned meanwhile: nothing to widen
            return []
        # The timeline must not claim a target that tells nobody (a site without neighbours, an
        # empty group): such targets are left out, and a stage left with none is not taken.
        escalated = escalate.escalated
        reaching = tuple(t for t in escalated.targets if self._reaches(view.site, t))
        if not reaching:
            log.warning(
                "alarm %s at %s: escalation stage %d (%s) reaches nobody: no neighbours"
                " configured for the site, no ARC, or an empty group",
                view.alarm_id,
                view.site,
                escalated.stage,
                ", ".join(escalated.targets),
            )
            return []
        escalated = replace(escalated, targets=reaching)
        widened = reach(self.routine, self._neighbours.get(view.site, ()), escalated.targets)
        log.warning(
            "alarm %s at %s escalated (stage %d) to %s: %s after %g s",
            view.alarm_id,
            view.site,
            escalated.stage,
            ", ".join(escalated.targets),
            escalated.reason,
            escalated.after.total_seconds(),
        )
        return book.escalate(
            view.alarm_id,
            escalated.stage,
            escalated.targets,
            widened.sites,
            widened.users,
            escalated.detail(),
            escalate.at,
        )

    def _reaches(self, site: str, target: str) -> bool:
        if target == NEIGHBOURS:
            return bool(self._neighbours.get(site))
        if target == ARC:
            return site in self._arc_sites
        group = self.routine.groups.get(target)
        return group is not None and bool(group.users)

    @staticmethod
    def stored(persist: Persist) -> list[Escalated]:
        """The stages to the ARC that ``persist``, now committed, carried (each once)."""
        found = []
        for event in persist.events:
            if event.kind is EventKind.ESCALATED:
                escalated = Escalated.parse(event.detail)
                if escalated is not None and ARC in escalated.targets:
                    found.append(escalated)
        return found


def first_raised(alarm_ids: Iterable[UUID]) -> Callable[[sqlite_utils.Database], Any]:
    """A store query: when central first saw each alarm (its ``raised`` event)."""
    ids = [str(a) for a in alarm_ids]

    def query(db: sqlite_utils.Database) -> dict[UUID, datetime]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = db.execute(
            f"SELECT alarm_id, MIN(at) FROM events WHERE kind = 'raised'"  # noqa: S608
            f" AND alarm_id IN ({marks}) GROUP BY alarm_id",
            ids,
        ).fetchall()
        return {UUID(alarm_id): datetime.fromisoformat(at) for alarm_id, at in rows}

    return query
