"""The drill plan (``routines/drills.toml``), validated against central's sites and rooms.

Like the other routines it is data the office owns (central.routines): central refuses to start
on a broken file, naming file, line and reason, and `trygg-central validate-config` says the
same. A plan names sites (or ``*``: every site without a plan of its own) and scenarios, each
naming the risk it rehearses (STANDARD 4.2) and the rooms it is for — room ids of the site's
floor plan, or ``*``. What central runs is one :class:`central.core.drills.SitePlan` per site.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.core.drills import DAYS_A_YEAR, Scenario, SitePlan
from central.core.model import ALL_SITES
from configfile import ConfigError, ConfigProblem, load_settings, locate
from protocol import AlarmLevel
from protocol.topics import ID_PATTERN

if TYPE_CHECKING:
    from central.config import CentralSettings as CentralSettingsLike

SHIPPED_DRILLS = Path(__file__).resolve().parents[1] / "routines" / "drills.toml"
_Problem = Callable[[tuple[str | int, ...], str], None]

Text = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class _ByLanguage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nb: Text
    en: Text


class ScenarioRoutine(BaseModel):
    """One ``[[scenario]]``: what is rehearsed, where, how often."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    sites: tuple[str, ...] = (ALL_SITES,)
    level: AlarmLevel
    rooms: tuple[Annotated[str, StringConstraints(min_length=1, max_length=63)], ...] = Field(
        min_length=1
    )
    every_months: int = Field(default=12, ge=1, le=60)
    risk: _ByLanguage
    title: _ByLanguage


class PlanRoutine(BaseModel):
    """One ``[[plan]]``: how often its sites drill."""

    model_config = ConfigDict(extra="forbid")

    sites: tuple[str, ...] = (ALL_SITES,)
    per_year: int = Field(ge=1, le=52)
    grace_days: int = Field(default=14, ge=0, le=DAYS_A_YEAR)


class DrillPlanFile(BaseSettings):
    """The office's drill plan: ``[[plan]]`` (how often) and ``[[scenario]]`` (what, where);
    nothing else in the file."""

    model_config = SettingsConfigDict(env_prefix="TRYGG_DRILLS_", extra="forbid")

    plan: list[PlanRoutine] = Field(default_factory=list)
    scenario: list[ScenarioRoutine] = Field(default_factory=list)

    @field_validator("scenario")
    @classmethod
    def _unique_ids(cls, scenarios: list[ScenarioRoutine]) -> list[ScenarioRoutine]:
        ids = [s.id for s in scenarios]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"scenario ids must be unique; repeated: {', '.join(repeated)}")
        return scenarios


def load_drill_plan(path: Path = SHIPPED_DRILLS) -> DrillPlanFile:
    """The plan at ``path``, or :class:`configfile.ConfigError` naming file, line, reason."""
    return load_settings(DrillPlanFile, path)


def site_rooms(settings: CentralSettingsLike, site: str) -> dict[str, str]:
    """A site's rooms a drill can be held in, id → name: its floor plan's rooms, and every
    other room its registered devices name (id: the name itself), in that order."""
    found: dict[str, str] = {}
    plan = settings.site(site)
    if plan is not None:
        found.update({r.id: r.name for r in plan.rooms})
    names = set(found.values())
    for device in settings.devices:
        if device.site == site and device.room not in names:
            found[device.room] = device.room
            names.add(device.room)
    return found


def _explicit(found: DrillPlanFile, known: list[str], problem: _Problem) -> dict[str, int]:
    """site (or "*") → the index of the plan that covers it; repeats and unknown sites are
    problems."""
    explicit: dict[str, int] = {}
    for index, plan in enumerate(found.plan):
        unknown = sorted(s for s in plan.sites if s != ALL_SITES and s not in known)
        if unknown:
            problem(("plan", index, "sites"), f"unknown site(s): {', '.join(unknown)}")
        for site in plan.sites:
            if site in explicit:
                which = "*" if site == ALL_SITES else site
                problem(("plan", index, "sites"), f"{which} is in plan {explicit[site] + 1} too")
            else:
                explicit[site] = index
    return explicit


def _scenarios(
    settings: CentralSettingsLike, found: DrillPlanFile, known: list[str], problem: _Problem
) -> dict[str, tuple[Scenario, ...]]:
    """site → the scenarios for it, their room ids as the room names alarms carry. A room id
    must be a room of every site the scenario names, or (``*``) of at least one site."""
    at: dict[str, list[Scenario]] = {site: [] for site in known}
    for index, scenario in enumerate(found.scenario):
        where = ("scenario", index)
        unknown = sorted(s for s in scenario.sites if s != ALL_SITES and s not in known)
        if unknown:
            problem((*where, "sites"), f"unknown site(s): {', '.join(unknown)}")
        every = ALL_SITES in scenario.sites
        seen: set[str] = set()
        for site in known:
            if not every and site not in scenario.sites:
                continue
            rooms = site_rooms(settings, site)
            seen.update(r for r in scenario.rooms if r in rooms)
            missing = [r for r in scenario.rooms if r != ALL_SITES and r not in rooms]
            if missing and not every:
                problem((*where, "rooms"), f"site {site} has no room(s) {', '.join(missing)}")
            names = (
                tuple(rooms.values())
                if ALL_SITES in scenario.rooms
                else tuple(rooms[r] for r in scenario.rooms if r in rooms)
            )
            if not names:
                continue
            at[site].append(
                Scenario(
                    id=scenario.id,
                    level=scenario.level,
                    rooms=names,
                    every=timedelta(days=DAYS_A_YEAR * scenario.every_months / 12),
                    risk=scenario.risk.model_dump(),
                    title=scenario.title.model_dump(),
                )
            )
        nowhere = [r for r in scenario.rooms if r != ALL_SITES and r not in seen]
        if every and nowhere:
            problem((*where, "rooms"), f"no site has room(s) {', '.join(nowhere)}")
    return {site: tuple(found) for site, found in at.items()}


def check_drill_plan(settings: CentralSettingsLike) -> dict[str, SitePlan]:
    """The plan central's settings name, as one :class:`SitePlan` per site a ``[[plan]]``
    covers, with the scenarios for that site; every site and room it names must be central's
    (problems name file, line and reason). A site in no plan has none: nothing is overdue
    there."""
    path = settings.routines.drills
    found = load_drill_plan(path)
    text = path.read_text(encoding="utf-8")
    known = [s.id for s in settings.sites]
    problems: list[ConfigProblem] = []

    def problem(where: tuple[str | int, ...], reason: str) -> None:
        problems.append(ConfigProblem(path, locate(text, where), ".".join(map(str, where)), reason))

    explicit = _explicit(found, known, problem)
    scenarios = _scenarios(settings, found, known, problem)
    plans: dict[str, SitePlan] = {}
    for site in known:
        index = explicit.get(site, explicit.get(ALL_SITES))
        if index is not None:
            plan = found.plan[index]
            grace = timedelta(days=plan.grace_days)
            plans[site] = SitePlan(site, plan.per_year, grace, scenarios[site])
    if problems:
        raise ConfigError(problems)
    return plans
