"""The lone-work visit timer, without I/O: "I'm at a home visit until 14:30" (issue 13).

Why it is shaped so. A phone web page is frozen while its screen is locked (no timers, no
position, no sensors), and a dead phone says nothing at all: a timer kept in the page would
never fire when it matters. So the timer lives here, on central, and the phone's only job is
to start the visit, post positions while it can, and check out. Silence is the signal.

A visit runs until ``until + grace``. Not checked out by then, central asks twice at once —
the phone (``AskPhone``: a Web Push to the installed page, the one thing that reaches a
locked screen) and a person (``AskDesk``: the chosen colleague's desk, or the site's
responders when none was chosen) — and if still nobody checks out ``answer_within`` later, it
raises an assist alarm by itself (``RaiseAssist``) with the last position the phone posted.
The alarm's id is derived from the visit's, so a restart between the decision and the write
never raises it twice (the alarm book drops the same id).

Every change is a ``StoreVisit`` (the whole visit as it now is): restored at start, a visit
overdue during a restart is asked about (or raised) on the first tick after it. The address
is a place, never a client's identity (the page says so); nothing here needs to know who.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid5

from protocol.screen import Position

#: Fixed for ever: the namespace of the alarm ids the visit timer raises.
VISIT_ALARM_NAMESPACE = UUID("0c6f4b1a-7d3e-4f52-9a61-2b8e5d7c4f10")
DEFAULT_ANSWER_WITHIN = timedelta(minutes=5)
MAX_VISIT = timedelta(hours=24)  # a visit longer than this is a typo, not a visit
KEEP_ENDED = timedelta(days=1)  # an ended visit is readable by the phone this long


class VisitState(StrEnum):
    RUNNING = "running"  # before until + grace
    ASKED = "asked"  # overdue: the phone and a colleague were asked
    RAISED = "raised"  # nobody checked out: the assist alarm was raised
    CHECKED_OUT = "checked_out"


@dataclass(frozen=True, slots=True)
class Visit:
    visit_id: UUID
    user: str
    name: str
    site: str
    address: str
    until: datetime
    grace: timedelta
    started_at: datetime
    colleague: str | None = None
    position: Position | None = None
    asked_at: datetime | None = None
    alarm_id: UUID | None = None  # set once the assist alarm is raised
    ended_at: datetime | None = None  # checked out

    @property
    def due(self) -> datetime:
        return self.until + self.grace

    @property
    def state(self) -> VisitState:
        if self.ended_at is not None:
            return VisitState.CHECKED_OUT
        if self.alarm_id is not None:
            return VisitState.RAISED
        if self.asked_at is not None:
            return VisitState.ASKED
        return VisitState.RUNNING


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreVisit:
    """Write the visit as it now is (an upsert of its row)."""

    visit: Visit


@dataclass(frozen=True, slots=True)
class AskPhone:
    """A Web Push to ``visit.user``'s phone: "are you OK? check out of the visit"."""

    visit: Visit


@dataclass(frozen=True, slots=True)
class AskDesk:
    """A notice to ``visit.colleague``'s desk, or (None) to the responders of ``visit.site``."""

    visit: Visit


@dataclass(frozen=True, slots=True)
class RaiseAssist:
    """Raise an assist alarm ``alarm_id`` at ``visit.site`` for ``visit.user``, with the last
    known position (``visit.position``, None: no position)."""

    visit: Visit
    alarm_id: UUID


VisitAction = StoreVisit | AskPhone | AskDesk | RaiseAssist


def alarm_id_of(visit_id: UUID) -> UUID:
    """The id of the alarm the timer raises for ``visit_id`` (the same after a restart)."""
    return uuid5(VISIT_ALARM_NAMESPACE, str(visit_id))


class VisitBook:
    """The visits central watches. Feed it starts, check-outs, positions and ``tick(now)``."""

    def __init__(self, answer_within: timedelta = DEFAULT_ANSWER_WITHIN) -> None:
        self.answer_within = answer_within
        self._visits: dict[UUID, Visit] = {}

    @classmethod
    def restore(
        cls, visits: Iterable[Visit], answer_within: timedelta = DEFAULT_ANSWER_WITHIN
    ) -> VisitBook:
        book = cls(answer_within)
        for visit in visits:
            book._visits[visit.visit_id] = visit
        return book

    def get(self, user: str, visit_id: UUID) -> Visit | None:
        """``user``'s visit ``visit_id``; None if unknown or someone else's."""
        visit = self._visits.get(visit_id)
        return visit if visit is not None and visit.user == user else None

    def active(self) -> list[Visit]:
        return [v for v in self._visits.values() if v.ended_at is None]

    def start(self, visit: Visit, now: datetime) -> list[VisitAction] | str:
        """A new visit; the same ``visit_id`` again from its user (a resend) changes nothing.
        Refused with a reason: ``visit_id_taken`` (another user's id), ``until_past`` (the end
        is not after ``now``), ``too_long`` (more than a day)."""
        known = self._visits.get(visit.visit_id)
        if known is not None:
            return [] if known.user == visit.user else "visit_id_taken"
        if visit.until <= now:
            return "until_past"
        if visit.until - now > MAX_VISIT:
            return "too_long"
        self._visits[visit.visit_id] = visit
        return [StoreVisit(visit)]

    def checkout(self, user: str, visit_id: UUID, now: datetime) -> list[VisitAction] | str:
        """The person is fine and the visit is over (again: nothing changes). An alarm the
        timer raised stays: a person resolves it, having seen that the visit was ended."""
        visit = self.get(user, visit_id)
        if visit is None:
            return "unknown_visit"
        if visit.ended_at is not None:
            return []
        return self._change(replace(visit, ended_at=now))

    def position(
        self, user: str, visit_id: UUID, position: Position, now: datetime
    ) -> list[VisitAction] | str:
        """A position the phone measured during the visit; an older one than kept changes
        nothing (positions cross on a bad network)."""
        visit = self.get(user, visit_id)
        if visit is None:
            return "unknown_visit"
        if visit.ended_at is not None:
            return "visit_ended"
        if position.at > now + timedelta(minutes=5):
            return "position_ahead"
        if visit.position is not None and position.at <= visit.position.at:
            return []
        return self._change(replace(visit, position=position))

    def tick(self, now: datetime) -> list[VisitAction]:
        """Ask about overdue visits, raise the alarm for unanswered ones, forget old ones."""
        actions: list[VisitAction] = []
        for visit in list(self._visits.values()):
            if visit.ended_at is not None:
                if now - visit.ended_at >= KEEP_ENDED:
                    del self._visits[visit.visit_id]
                continue
            if visit.asked_at is None and now >= visit.due:
                asked = replace(visit, asked_at=now)
                actions += [*self._change(asked), AskPhone(asked), AskDesk(asked)]
            elif (
                visit.asked_at is not None
                and visit.alarm_id is None
                and now >= visit.asked_at + self.answer_within
            ):
                raised = replace(visit, alarm_id=alarm_id_of(visit.visit_id))
                actions += [*self._change(raised), RaiseAssist(raised, alarm_id_of(visit.visit_id))]
        return actions

    def _change(self, visit: Visit) -> list[VisitAction]:
        self._visits[visit.visit_id] = visit
        return [StoreVisit(visit)]
