"""The escalation routine as data (``routines/escalation.toml``), and who each target means.

The office owns who is told when nobody answers: per level, timed stages naming targets —
``neighbours`` (the responders of the sites the alarm's site lists in ``neighbours``),
``arc`` (the alarm receiving centre) or a group defined in the file (``[groups.guards]``:
names in bokmål and English, user ids). Central refuses to start on a broken file, naming
file, line and reason, like the other routines: an unknown group, an unknown level or key,
delays that do not increase, a group user central does not know.

The pure core (``central.core.escalation``) only sees stages and target names; :func:`reach`
turns a stage's targets into the sites and users whose screens get the alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.core.escalation import ARC, BUILT_IN_TARGETS, NEIGHBOURS, Plan, Stage
from configfile import ConfigError, ConfigProblem, load_settings, locate
from protocol import AlarmLevel
from protocol.topics import ID_PATTERN

if TYPE_CHECKING:
    from central.config import CentralSettings as CentralSettingsLike

SHIPPED_ESCALATION = Path(__file__).resolve().parents[1] / "routines" / "escalation.toml"
MAX_STAGES = 10

GroupId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class _Names(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nb: Text
    en: Text


class GroupRoutine(BaseModel):
    """``[groups.<id>]``: a named group of people (the guards, the leaders on duty)."""

    model_config = ConfigDict(extra="forbid")

    name: _Names
    users: tuple[UserId, ...] = ()


class StageRoutine(BaseModel):
    """One ``[[<level>.stages]]``: after ``after_s`` from the raise without an answer, tell
    ``notify`` too."""

    model_config = ConfigDict(extra="forbid")

    after_s: float = Field(ge=0, le=24 * 3600)
    notify: tuple[GroupId, ...] = Field(min_length=1, max_length=20)


class LevelRoutine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stages: list[StageRoutine] = Field(default_factory=list, max_length=MAX_STAGES)

    @field_validator("stages")
    @classmethod
    def _increasing(cls, stages: list[StageRoutine]) -> list[StageRoutine]:
        for before, after in pairwise(stages):
            if after.after_s <= before.after_s:
                raise ValueError(
                    f"after_s must increase from stage to stage: {after.after_s:g} s follows"
                    f" {before.after_s:g} s"
                )
        return stages


class EscalationRoutine(BaseSettings):
    """The whole file: the "not shown" limit, the groups and the stages of each level."""

    model_config = SettingsConfigDict(env_prefix="TRYGG_ESCALATION_", extra="forbid")

    # An alarm not shown on any screen within this long takes its first stage at once.
    unseen_after_s: float = Field(default=10.0, gt=0, le=600)
    groups: dict[GroupId, GroupRoutine] = Field(default_factory=dict)
    acute: LevelRoutine = LevelRoutine()
    assist: LevelRoutine = LevelRoutine()

    @field_validator("groups")
    @classmethod
    def _no_built_in_names(cls, groups: dict[str, GroupRoutine]) -> dict[str, GroupRoutine]:
        taken = sorted(set(groups) & set(BUILT_IN_TARGETS))
        if taken:
            raise ValueError(f"{', '.join(taken)} is built in and cannot be a group's id")
        return groups

    def levels(self) -> dict[AlarmLevel, LevelRoutine]:
        return {AlarmLevel.ACUTE: self.acute, AlarmLevel.ASSIST: self.assist}

    def plan(self) -> Plan:
        return Plan(
            {
                level: tuple(Stage(timedelta(seconds=s.after_s), s.notify) for s in routine.stages)
                for level, routine in self.levels().items()
            },
            unseen_after=timedelta(seconds=self.unseen_after_s),
        )

    def group_names(self) -> dict[str, dict[str, str]]:
        """Each group's names by language: id → {"nb": …, "en": …}."""
        return {gid: group.name.model_dump() for gid, group in self.groups.items()}

    def name(self, target: str, language: str) -> str:
        """A group's name in ``language`` ("nb", "en"); the target itself if not a group."""
        group = self.groups.get(target)
        if group is None:
            return target
        return group.name.nb if language == "nb" else group.name.en


def _unknown_targets(routine: EscalationRoutine, path: Path, text: str) -> list[ConfigProblem]:
    problems = []
    known = {*BUILT_IN_TARGETS, *routine.groups}
    for level, level_routine in routine.levels().items():
        for index, stage in enumerate(level_routine.stages):
            unknown = [t for t in stage.notify if t not in known]
            if unknown:
                where = (level.value, "stages", index, "notify")
                problems.append(
                    ConfigProblem(
                        path,
                        locate(text, where),
                        ".".join(map(str, where)),
                        f"unknown group(s): {', '.join(unknown)} (define [groups.{unknown[0]}],"
                        f" or use {' or '.join(BUILT_IN_TARGETS)})",
                    )
                )
    return problems


def load_escalation(path: Path = SHIPPED_ESCALATION) -> EscalationRoutine:
    """The routine at ``path``, or :class:`configfile.ConfigError` naming file, line, reason."""
    routine = load_settings(EscalationRoutine, path)
    problems = _unknown_targets(routine, path, path.read_text(encoding="utf-8"))
    if problems:
        raise ConfigError(problems)
    return routine


def check_escalation(settings: CentralSettingsLike) -> EscalationRoutine:
    """The routine central's settings name, with every group user known to central."""
    path = settings.routines.escalation
    routine = load_escalation(path)
    known = {u.id for u in settings.users}
    text = path.read_text(encoding="utf-8")
    problems = []
    for group_id, group in routine.groups.items():
        unknown = [u for u in group.users if u not in known]
        if unknown:
            where = ("groups", group_id, "users")
            problems.append(
                ConfigProblem(
                    path,
                    locate(text, where),
                    ".".join(where),
                    f"group {group_id} names unknown user(s): {', '.join(unknown)}",
                )
            )
    if problems:
        raise ConfigError(problems)
    return routine


# --- who a stage reaches ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reach:
    """The screens a stage adds: every screen of ``sites``, and every screen of ``users``."""

    sites: frozenset[str]
    users: frozenset[str]
    arc: bool


def reach(routine: EscalationRoutine, neighbours: Iterable[str], targets: Iterable[str]) -> Reach:
    """What ``targets`` mean for an alarm of a site whose neighbours are ``neighbours``."""
    sites: set[str] = set()
    users: set[str] = set()
    arc = False
    for target in targets:
        if target == NEIGHBOURS:
            sites.update(neighbours)
        elif target == ARC:
            arc = True
        elif target in routine.groups:
            users.update(routine.groups[target].users)
    return Reach(frozenset(sites), frozenset(users), arc)
