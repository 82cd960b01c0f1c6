"""Escalation without I/O: when nobody answers an alarm, widen who is told, stage by stage.

The routine (``routines/escalation.toml``) gives each level its stages: after ``after`` from the
raise without an "I'm coming", tell ``targets`` too (the responders of neighbouring sites, a
group such as the guards, the alarm receiving centre). This core is told what happens to each
alarm (raised, shown on a screen, answered, resolved) and asked :meth:`Escalation.tick` with
``now``; it answers with :class:`Escalate` actions, one per stage, in order. The shell widens
the alarm's audience, writes an ``escalated`` event on its timeline, and calls the ARC.

Why it is shaped so:

* Delays count from the raise as central saw it, so a restart does not reset them, and a
  stage is taken once: the stages taken are on the record (the alarm's ``stage``) and
  :meth:`Escalation.restore` starts from there. Nothing is ever sent twice to the ARC across
  a restart, and a stage that fell due while central was down is taken at once.
* An alarm nobody can see must not wait for a delay that assumes someone saw it: raised while
  no screen of its site is connected, or not shown on any screen within ``unseen_after``, it
  takes its first stage at once; the later stages keep their delays from the raise.
* "I'm coming" stops it; if the last colleague coming withdraws ("Can't come"), it goes on,
  and a stage that fell due meanwhile is taken at once: nobody coming is nobody coming.
* A flood escalates once (central.core.floodcards): an alarm merged into a flood card whose
  *leader* is another alarm is held (``tick(now, held)``): it takes no stage while held, and its
  track is kept, so that it goes on should it lead (or stand alone) again.
* A test alarm never escalates. A drill does, to people, as the routine says (a drill is there
  to rehearse it), but never to the ARC: a drill must not send guards or police.

The ``escalated`` event's detail is structured (:class:`Escalated`), so that the console can
say it in the reader's language and a restart can read what was taken.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from protocol import AlarmLevel

NEIGHBOURS = "neighbours"  # the responders of the sites the alarm's site names as neighbours
ARC = "arc"  # the alarm receiving centre
BUILT_IN_TARGETS = (NEIGHBOURS, ARC)
DEFAULT_UNSEEN_AFTER = timedelta(seconds=10)


class Reason(StrEnum):
    NO_ANSWER = "no_answer"  # the stage's delay passed without an "I'm coming"
    NO_SCREEN = "no_screen"  # raised while no screen of its site was connected
    NOT_SHOWN = "not_shown"  # not shown on any screen within ``unseen_after``


@dataclass(frozen=True, slots=True)
class Stage:
    after: timedelta  # from the raise
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """The routine as the core uses it: stages per level, in increasing ``after``."""

    stages: Mapping[AlarmLevel, tuple[Stage, ...]]
    unseen_after: timedelta = DEFAULT_UNSEEN_AFTER


@dataclass(frozen=True, slots=True)
class Escalated:
    """What one taken stage was: the ``escalated`` event's detail, and the ARC hook's input.

    ``stage`` counts from 1; ``targets`` are this stage's; ``after`` is the time the reason
    speaks of (the stage's delay, the "not shown" limit, or 0 for "no screen")."""

    stage: int
    targets: tuple[str, ...]
    reason: Reason
    after: timedelta

    def detail(self) -> str:
        seconds = f"{self.after.total_seconds():g}"
        return (
            f"stage={self.stage}; to={','.join(self.targets)}; reason={self.reason};"
            f" after_s={seconds}"
        )

    @classmethod
    def parse(cls, detail: str) -> Escalated | None:
        """The detail written by :meth:`detail`, or None for any other text."""
        found = _DETAIL.match(detail)
        if found is None:
            return None
        return cls(
            stage=int(found["stage"]),
            targets=tuple(found["to"].split(",")),
            reason=Reason(found["reason"]),
            after=timedelta(seconds=float(found["after"])),
        )


_DETAIL = re.compile(
    r"^stage=(?P<stage>[1-9]\d{0,2}); to=(?P<to>[a-z0-9][a-z0-9_-]*(?:,[a-z0-9][a-z0-9_-]*)*);"
    rf" reason=(?P<reason>{'|'.join(r.value for r in Reason)}); after_s=(?P<after>\d+(?:\.\d+)?)$"
)


@dataclass(frozen=True, slots=True)
class Escalate:
    """Take stage ``escalated.stage`` of ``alarm_id`` now: tell ``escalated.targets`` too."""

    alarm_id: UUID
    escalated: Escalated
    at: datetime


@dataclass(slots=True)
class _Track:
    stages: tuple[Stage, ...]
    since: datetime  # the raise, as central saw it
    taken: int = 0  # stages taken
    coming: bool = False  # someone is coming: no further stage
    shown: bool = False  # shown on at least one screen
    rush: Reason | None = None  # the first stage is due at once, for this reason


class Escalation:
    """Every active alarm that may still escalate."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._tracks: dict[UUID, _Track] = {}

    def __contains__(self, alarm_id: object) -> bool:
        return alarm_id in self._tracks

    def _stages(self, level: AlarmLevel, drill: bool) -> tuple[Stage, ...]:
        stages = self._plan.stages.get(level, ())
        if not drill:
            return stages
        # A drill rehearses the routine with people only: never the ARC.
        kept = (Stage(s.after, tuple(t for t in s.targets if t != ARC)) for s in stages)
        return tuple(s for s in kept if s.targets)

    def raised(
        self,
        alarm_id: UUID,
        level: AlarmLevel,
        now: datetime,
        *,
        covered: bool,
        test: bool = False,
        drill: bool = False,
    ) -> None:
        """A new alarm; ``covered``: at least one screen of its site is connected now."""
        if test or alarm_id in self._tracks:
            return
        stages = self._stages(level, drill)
        if not stages:
            return
        rush = None if covered else Reason.NO_SCREEN
        self._tracks[alarm_id] = _Track(stages, now, rush=rush)

    def restore(
        self,
        alarm_id: UUID,
        level: AlarmLevel,
        since: datetime,
        *,
        taken: int,
        coming: bool,
        test: bool = False,
        drill: bool = False,
    ) -> None:
        """An active alarm from the record after a restart: ``taken`` stages are done (never
        again); the rest keep their delays from ``since``. Screens had it before the restart,
        so it is not rushed for being unseen."""
        stages = self._stages(level, drill)
        if test or taken >= len(stages):
            return
        self._tracks[alarm_id] = _Track(stages, since, taken=taken, coming=coming, shown=True)

    def shown(self, alarm_id: UUID) -> None:
        """A screen shows the alarm to its user."""
        track = self._tracks.get(alarm_id)
        if track is not None:
            track.shown = True

    def answered(self, alarm_id: UUID, coming: bool) -> None:
        """The alarm's responders changed: ``coming`` if at least one colleague is coming."""
        track = self._tracks.get(alarm_id)
        if track is not None:
            track.coming = coming

    def ended(self, alarm_id: UUID) -> None:
        """Resolved (or no longer an alarm of its own): it escalates no further."""
        self._tracks.pop(alarm_id, None)

    def tick(self, now: datetime, held: Container[UUID] = frozenset()) -> list[Escalate]:
        """The stages due at ``now``, in order of alarm and stage; ``held`` alarms (merged into
        a flood card another alarm escalates for) take none now."""
        actions: list[Escalate] = []
        for alarm_id, track in tuple(self._tracks.items()):
            if track.coming or alarm_id in held:
                continue
            unseen = not track.shown and now - track.since >= self._plan.unseen_after
            if track.rush is None and unseen:
                track.rush = Reason.NOT_SHOWN
            actions.extend(self._due(alarm_id, track, now))
            if track.taken >= len(track.stages):
                del self._tracks[alarm_id]
        return actions

    def _due(self, alarm_id: UUID, track: _Track, now: datetime) -> Iterable[Escalate]:
        while track.taken < len(track.stages):
            stage = track.stages[track.taken]
            if track.taken == 0 and track.rush is not None and now < track.since + stage.after:
                reason = track.rush
                after = timedelta(0) if reason is Reason.NO_SCREEN else self._plan.unseen_after
            elif now >= track.since + stage.after:
                reason, after = Reason.NO_ANSWER, stage.after
            else:
                return
            track.taken += 1
            yield Escalate(alarm_id, Escalated(track.taken, stage.targets, reason, after), now)
