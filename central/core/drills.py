"""Drills and training (STANDARD 4.1, 4.2), without I/O: the plan's overdue warnings, rooms in
drill mode, a drill's four times, and who has taken part in what.

Three rules shape it:

* **Central decides what is a drill, never a device.** A leader puts a room in *drill mode*
  for a few minutes (:class:`DrillModes`); a real press there while it lasts is recorded, shown
  and acked as a drill — only when *both* clocks say so: central's when the press reaches it,
  and the press's own ``raised_at``. A press kept in an edge's outbox through an outage and
  delivered after the mode began is not a drill, nor is one that reaches central after the mode
  ended: in doubt a press is real, the safe side, since a drill never reaches the alarm
  receiving centre. A device cannot make a real alarm a drill (its payload's flag is ignored),
  and a desk's silent alarm is a drill only when its raiser rehearses in the room (named in it,
  or the leader who started the mode). Drill mode is bounded (:data:`MAX_MODE`): a room cannot
  be left "practising" for a day, and when it ends its drills still open end with it
  (:meth:`DrillMode.holds`), so that no later press counts on one.
* **The plan is data the office owns, like the test schedules** (routines/drills.toml): how many
  drills a year each site holds and which scenarios, each naming the risk of the risk
  assessment it rehearses (4.2) and the rooms it is for. What is overdue is judged as the test
  log judges it (:func:`central.core.selftests.overdue`): not held within its period plus grace,
  and *never held* is overdue too — from when central first knew of the plan.
* **The drill log is computed from the alarm record**, never kept beside it: press (the
  alarm's ``raised_at``), first shown on a colleague's screen (``shown_at``), first "I'm coming"
  and resolved, from the stored row and its events (:func:`drill_times`). So the log can never
  disagree with what the record says happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from uuid import UUID

from protocol import AlarmLevel, AlarmSource
from protocol.screen import AlarmState, AlarmView

DAYS_A_YEAR = 365
#: The longest a room stays in drill mode; the shortest is a minute.
MAX_MODE = timedelta(hours=2)
MIN_MODE = timedelta(minutes=1)
#: Who took part: (user id, name).
Someone = tuple[str, str]
#: The input of a drill a leader raises from the console (a desk-like alarm, no device).
CONSOLE_INPUT = "console"


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    """What is rehearsed: ``risk`` (the risk assessment's words, by language) in ``rooms``
    (room names at the site), with an alarm of ``level``, at least every ``every``."""

    id: str
    level: AlarmLevel
    rooms: tuple[str, ...]
    every: timedelta
    risk: dict[str, str] = field(hash=False)
    title: dict[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class SitePlan:
    site: str
    per_year: int
    grace: timedelta
    scenarios: tuple[Scenario, ...] = ()

    @property
    def interval(self) -> timedelta:
        """How long after a drill the next one is due."""
        return timedelta(days=DAYS_A_YEAR / self.per_year)

    def scenario(self, scenario_id: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.id == scenario_id), None)

    def for_room(self, room: str) -> tuple[Scenario, ...]:
        return tuple(s for s in self.scenarios if room in s.rooms)


@dataclass(frozen=True, slots=True)
class Held:
    """A drill on record: at ``site``, rehearsing ``scenario`` ("" if none was named), ``at``."""

    site: str
    scenario: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Overdue:
    """Not drilled in time: the site (``scenario`` "") or one scenario of its plan."""

    site: str
    scenario: str
    last: datetime | None  # the last drill of it; None: never
    due_since: datetime


@dataclass(frozen=True, slots=True)
class Standing:
    """A site's plan as it stands at ``now``: held within the last year against planned."""

    site: str
    planned: int
    held: int
    last: datetime | None
    next_due: datetime
    overdue: bool


def _last(held: Iterable[Held], site: str, scenario: str | None = None) -> datetime | None:
    times = [h.at for h in held if h.site == site and (scenario is None or h.scenario == scenario)]
    return max(times, default=None)


def standing(
    plan: SitePlan, held: Iterable[Held], now: datetime, known_since: datetime
) -> Standing:
    """How ``plan``'s site stands: the next drill is due one interval after the last (or at
    ``known_since`` if there has been none), and overdue once that plus grace has passed."""
    held = tuple(held)
    last = _last(held, plan.site)
    next_due = known_since if last is None else last + plan.interval
    year_ago = now - timedelta(days=DAYS_A_YEAR)
    count = sum(1 for h in held if h.site == plan.site and year_ago < h.at <= now)
    late = now >= next_due + plan.grace if last is not None else now >= known_since
    return Standing(plan.site, plan.per_year, count, last, next_due, late)


def overdue(
    plans: Iterable[SitePlan],
    held: Iterable[Held],
    now: datetime,
    known_since: Mapping[tuple[str, str], datetime],
) -> list[Overdue]:
    """Everything of the plans not drilled in time: each site's cadence (``per_year``) and each
    scenario (``every``), each with its grace. Never drilled is overdue since ``known_since``
    (site, scenario) — when central first knew of it (``now`` if it never did)."""
    held = tuple(held)
    found: list[Overdue] = []
    for plan in plans:
        items: list[tuple[str, timedelta]] = [("", plan.interval)]
        items += [(s.id, s.every) for s in plan.scenarios]
        for scenario, period in items:
            last = _last(held, plan.site, scenario or None)
            if last is None:
                since = known_since.get((plan.site, scenario), now)
                if now >= since:
                    found.append(Overdue(plan.site, scenario, None, since))
                continue
            due = last + period + plan.grace
            if now >= due:
                found.append(Overdue(plan.site, scenario, last, due))
    return found


# --- drill mode -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrillMode:
    """``room`` at ``site`` is in drill mode from ``started_at`` until ``until`` (or until it was
    ended early): a press from one of ``devices`` (or, without a registry, from a device that
    names the room) is a drill of ``scenario``. ``in_room``: who rehearses there (they raise)."""

    mode_id: UUID
    site: str
    room: str
    devices: frozenset[str]
    scenario: str
    started_by: Someone
    started_at: datetime
    until: datetime
    in_room: tuple[Someone, ...] = ()
    ended_at: datetime | None = None
    ended_by: str = ""

    def covers(
        self, site: str, device: str, room: str | None, now: datetime, raised_at: datetime
    ) -> bool:
        """Whether a press from ``device`` (in ``room``), made at ``raised_at`` by its own
        clock and reaching central at ``now``, is a drill of this mode: both within it."""
        return (
            self.ended_at is None
            and self.site == site
            and self.started_at <= now < self.until
            and self.started_at <= raised_at < self.until
            and self._here(device, room)
        )

    def rehearses(self, user: str) -> bool:
        """Whether ``user`` rehearses in this mode: its leader, or named as in the room."""
        return user == self.started_by[0] or any(u == user for u, _ in self.in_room)

    def holds(self, alarm: AlarmView) -> bool:
        """Whether ``alarm`` is one of this mode's drills still open: what ending the mode
        resolves (a drill from its room's devices or desks; a drill a leader raised from the
        console is theirs to resolve)."""
        console = alarm.source is AlarmSource.DESKTOP and alarm.input == CONSOLE_INPUT
        return (
            alarm.drill
            and not alarm.test
            and not console
            and alarm.state is not AlarmState.RESOLVED
            and alarm.site == self.site
            and self._here(alarm.device, alarm.room)
        )

    def _here(self, device: str, room: str | None) -> bool:
        return device in self.devices or (room is not None and room == self.room)


class DrillModes:
    """The rooms in drill mode now. Start, end early, ask; expired ones are handed back once
    (:meth:`expired`) so the shell records their end. Refusals are reasons, nothing changes."""

    def __init__(self, restored: Iterable[DrillMode] = ()) -> None:
        self._modes: dict[UUID, DrillMode] = {m.mode_id: m for m in restored if m.ended_at is None}

    def refusal(self, mode: DrillMode, now: datetime) -> str | None:
        """Why ``mode`` may not start (nothing changes): ``bad_duration`` (not 1 minute –
        2 hours from now), or ``room_in_drill_mode`` (that room already is); None: it may."""
        length = mode.until - now
        if mode.started_at != now or not MIN_MODE <= length <= MAX_MODE:
            return "bad_duration"
        if any(m.site == mode.site and m.room == mode.room for m in self.active(now)):
            return "room_in_drill_mode"
        return None

    def start(self, mode: DrillMode, now: datetime) -> str | None:
        """None (started), or why not (:meth:`refusal`). The shell stores the mode first and
        starts it here only once stored: a mode that is not on disk is no drill mode."""
        refused = self.refusal(mode, now)
        if refused is None:
            self._modes[mode.mode_id] = mode
        return refused

    def ending(self, mode_id: UUID, by: str, now: datetime) -> DrillMode | str:
        """The mode as ended early by ``by`` (nothing changes yet: the shell stores that
        first, then :meth:`end`), or ``unknown_mode``."""
        mode = self._modes.get(mode_id)
        if mode is None or now >= mode.until:  # an expired one is :meth:`expired`'s
            return "unknown_mode"
        return replace(mode, ended_at=now, ended_by=by)

    def end(self, mode_id: UUID, by: str, now: datetime) -> DrillMode | str:
        """Ended early by ``by``: the mode as ended, or ``unknown_mode``."""
        ended = self.ending(mode_id, by, now)
        if isinstance(ended, DrillMode):
            del self._modes[mode_id]
        return ended

    def covering(
        self,
        site: str,
        device: str,
        room: str | None,
        now: datetime,
        raised_at: datetime,
        by: str | None = None,
    ) -> DrillMode | None:
        """The mode that makes a press from ``device`` (in ``room``) a drill: made at
        ``raised_at`` (the press's own clock) and reaching central at ``now``, both within the
        mode (:meth:`DrillMode.covers`). ``by``: a desk's silent alarm's raiser, who must
        rehearse there (:meth:`DrillMode.rehearses`); anyone else's is a real alarm."""
        return next(
            (
                m
                for m in self._modes.values()
                if m.covers(site, device, room, now, raised_at) and (by is None or m.rehearses(by))
            ),
            None,
        )

    def active(self, now: datetime) -> tuple[DrillMode, ...]:
        return tuple(m for m in self._modes.values() if m.started_at <= now < m.until)

    def get(self, mode_id: UUID) -> DrillMode | None:
        return self._modes.get(mode_id)

    def expired(self, now: datetime) -> list[DrillMode]:
        """Modes whose time ran out, ended at their ``until``; each is handed back once."""
        done = [m for m in self._modes.values() if now >= m.until]
        for mode in done:
            del self._modes[mode.mode_id]
        return [replace(m, ended_at=m.until, ended_by="central") for m in done]


def start_warnings(
    site: str,
    room: str,
    devices: Iterable[str],
    online: Mapping[str, bool],
    active: Iterable[AlarmView],
) -> list[str]:
    """What the leader is told when ``room`` at ``site`` goes into drill mode (it starts all
    the same): ``device_offline`` — a device of the room is not online (``online``: by device;
    never heard is not online), so a press there may wait in its outbox and arrive as a real
    alarm; ``real_alarm_open`` — a real alarm of the room is open (among ``active``), and a
    press on its button counts on it: real, never a drill."""
    found: list[str] = []
    if any(not online.get(device, False) for device in devices):
        found.append("device_offline")
    devices = frozenset(devices)
    if any(
        a.site == site
        and not a.drill
        and not a.test
        and a.state is not AlarmState.RESOLVED
        and (a.device in devices or a.room == room)
        for a in active
    ):
        found.append("real_alarm_open")
    return found


# --- the drill log ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrillTimes:
    """A drill's four times and who answered, from the alarm record."""

    pressed: datetime
    shown: datetime | None  # first on a colleague's screen
    coming: datetime | None  # first "I'm coming"
    resolved: datetime | None
    answered: tuple[Someone, ...]  # who said "I'm coming", first first
    declined: tuple[Someone, ...]  # who said "Can't come"

    def _after(self, at: datetime | None) -> float | None:
        return None if at is None else round((at - self.pressed).total_seconds(), 1)

    @property
    def to_shown(self) -> float | None:
        """Seconds from the press to the first screen that showed it."""
        return self._after(self.shown)

    @property
    def to_coming(self) -> float | None:
        return self._after(self.coming)

    @property
    def to_resolved(self) -> float | None:
        return self._after(self.resolved)


@dataclass(frozen=True, slots=True)
class Step:
    """One event of an alarm's timeline, as stored (``kind`` as written: ``coming``, ...)."""

    kind: str
    at: datetime
    actor: str
    detail: str = ""


def _people(steps: Iterable[Step], kind: str) -> tuple[Someone, ...]:
    found: dict[str, str] = {}
    for step in steps:
        if step.kind == kind and step.actor not in found:
            found[step.actor] = step.detail or step.actor
    return tuple(found.items())


def drill_times(alarm: AlarmView, steps: Iterable[Step]) -> DrillTimes:
    """The four times of a drill: press, first shown, first "I'm coming", resolved."""
    steps = sorted(steps, key=lambda s: s.at)
    coming = next((s.at for s in steps if s.kind == "coming"), None)
    return DrillTimes(
        pressed=alarm.raised_at,
        shown=alarm.shown_at,
        coming=coming,
        resolved=alarm.resolved_at,
        answered=_people(steps, "coming"),
        declined=_people(steps, "cant_come"),
    )


def took_part(
    raised_by: Someone | None, in_room: Iterable[Someone], answered: Iterable[Someone]
) -> tuple[Someone, ...]:
    """Who took part in a drill: whoever raised it, who rehearsed in the room, and everyone
    who answered "I'm coming"; each once, in that order."""
    found: dict[str, str] = {}
    for user, name in (*([raised_by] if raised_by else []), *in_room, *answered):
        found.setdefault(user, name)
    return tuple(found.items())


# --- the training register --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Participation:
    """``user`` took part in a drill (``kind`` "drill", ``ref`` its alarm id) or a training
    (``kind`` "training", ``ref`` its id) on ``on``."""

    user: str
    name: str
    on: date
    kind: str
    title: str
    site: str
    ref: str


def untrained(people: Iterable[Someone], participations: Iterable[Participation]) -> list[Someone]:
    """Who has taken part in no drill and no training at all (4.1: before their first
    meeting), by name."""
    trained = {p.user for p in participations}
    return sorted((p for p in people if p[0] not in trained), key=lambda p: (p[1], p[0]))
