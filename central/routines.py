"""The office's routines as data, validated at start-up: the alarm response
(``routines/alarm-response.toml``) and the self-test schedules (``routines/self-tests.toml``).

Routines are data the office owns: central loads them, refuses to start on a broken file (with
file, line and reason), sends the alarm response to every screen in its ``hello`` and runs the
self-test schedules.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.core.model import ALL_SITES
from central.core.schedule import Every, Schedule, SelfTestKind
from configfile import ConfigError, ConfigProblem, load_settings, locate
from configfile.types import TimeZoneName
from protocol import AlarmLevel, AnnouncementKind
from protocol.screen import RoutineText
from protocol.topics import ID_PATTERN

if TYPE_CHECKING:
    from central.config import CentralSettings as CentralSettingsLike

#: The routines shipped in this repository (an office points [routines] path at its own copy).
ROUTINES_DIR = Path(__file__).resolve().parents[1] / "routines"
SHIPPED = ROUTINES_DIR / "alarm-response.toml"
SHIPPED_SELF_TESTS = ROUTINES_DIR / "self-tests.toml"
SHIPPED_EVACUATION = ROUTINES_DIR / "evacuation.toml"
LANGUAGES = ("nb", "en")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Text = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class _ByLanguage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nb: Text
    en: Text


class _StepsByLanguage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nb: list[Text] = Field(min_length=1, max_length=20)
    en: list[Text] = Field(min_length=1, max_length=20)


class _Level(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: _ByLanguage
    steps: _StepsByLanguage


class AlarmResponse(BaseSettings):
    """Both levels must be described; nothing else may be in the file."""

    model_config = SettingsConfigDict(env_prefix="TRYGG_ROUTINES_", extra="forbid")

    assist: _Level
    acute: _Level

    def for_screens(self) -> dict[AlarmLevel, RoutineText]:
        return {
            AlarmLevel(level): RoutineText(
                title=routine.title.model_dump(),
                steps={k: tuple(v) for k, v in routine.steps.model_dump().items()},
            )
            for level, routine in (("assist", self.assist), ("acute", self.acute))
        }


def load_alarm_response(path: Path = SHIPPED) -> AlarmResponse:
    """The routine at ``path``, or :class:`configfile.ConfigError` naming file, line and reason."""
    return load_settings(AlarmResponse, path)


class Evacuation(BaseSettings):
    """The evacuation and lockdown routines: both described; nothing else in the file."""

    model_config = SettingsConfigDict(env_prefix="TRYGG_EVACUATION_", extra="forbid")

    evacuate: _Level
    lockdown: _Level

    def for_screens(self) -> dict[AnnouncementKind, RoutineText]:
        return {
            AnnouncementKind(kind): RoutineText(
                title=routine.title.model_dump(),
                steps={k: tuple(v) for k, v in routine.steps.model_dump().items()},
            )
            for kind, routine in (("evacuate", self.evacuate), ("lockdown", self.lockdown))
        }


def load_evacuation(path: Path = SHIPPED_EVACUATION) -> Evacuation:
    """The routines at ``path``, or :class:`configfile.ConfigError` naming file, line, reason."""
    return load_settings(Evacuation, path)


# --- self-test schedules ------------------------------------------------------------------

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ScheduleRoutine(BaseModel):
    """One ``[[schedule]]``: what to test, how often, at what local time, where."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    kind: SelfTestKind
    every: Every
    at: Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    weekday: Weekday | None = None
    day: int | None = Field(default=None, ge=1, le=28)  # 29–31 do not exist every month
    sites: tuple[str, ...] = (ALL_SITES,)
    grace_min: int = Field(default=15, ge=0, le=31 * 24 * 60)
    deadline_s: float = Field(default=30.0, gt=0, le=3600)
    title: _ByLanguage

    @model_validator(mode="after")
    def _day_fits_every(self) -> ScheduleRoutine:
        if self.every is Every.WEEK and self.weekday is None:
            raise ValueError("a weekly schedule needs `weekday` (monday … sunday)")
        if self.every is Every.MONTH and self.day is None:
            raise ValueError("a monthly schedule needs `day` (1–28)")
        if self.every is not Every.WEEK and self.weekday is not None:
            raise ValueError(f"`weekday` is only for weekly schedules, not every {self.every}")
        if self.every is not Every.MONTH and self.day is not None:
            raise ValueError(f"`day` is only for monthly schedules, not every {self.every}")
        return self

    def schedule(self, zone: ZoneInfo) -> Schedule:
        return Schedule(
            id=self.id,
            kind=self.kind,
            every=self.every,
            at=time.fromisoformat(self.at),
            zone=zone,
            weekday=WEEKDAYS.index(self.weekday) if self.weekday else 0,
            day=self.day or 1,
            grace=timedelta(minutes=self.grace_min),
        )

    def covers(self, site: str) -> bool:
        return ALL_SITES in self.sites or site in self.sites


class SelfTests(BaseSettings):
    """The office's self-test schedules; ids unique, the time zone one that exists."""

    model_config = SettingsConfigDict(env_prefix="TRYGG_SELFTESTS_", extra="forbid")

    zone: TimeZoneName = "Europe/Oslo"
    schedule: list[ScheduleRoutine] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _unique_ids(cls, schedules: list[ScheduleRoutine]) -> list[ScheduleRoutine]:
        ids = [s.id for s in schedules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"schedule ids must be unique; repeated: {', '.join(repeated)}")
        return schedules

    def schedules(self) -> list[Schedule]:
        zone = ZoneInfo(self.zone)
        return [s.schedule(zone) for s in self.schedule]

    def get(self, schedule_id: str) -> ScheduleRoutine | None:
        return next((s for s in self.schedule if s.id == schedule_id), None)


def load_self_tests(path: Path = SHIPPED_SELF_TESTS) -> SelfTests:
    """The schedules at ``path``, or :class:`configfile.ConfigError` naming file, line, reason."""
    return load_settings(SelfTests, path)


def check_self_tests(settings: CentralSettingsLike) -> SelfTests:
    """The schedules central's settings name, with every site they name known to central."""
    path = settings.routines.self_tests
    self_tests = load_self_tests(path)
    known = {site.id for site in settings.sites}
    problems = []
    text = path.read_text(encoding="utf-8")
    for index, routine in enumerate(self_tests.schedule):
        unknown = sorted(s for s in routine.sites if s != ALL_SITES and s not in known)
        if unknown:
            where = ("schedule", index, "sites")
            problems.append(
                ConfigProblem(
                    path,
                    locate(text, where),
                    ".".join(map(str, where)),
                    f"schedule {routine.id} names unknown site(s): {', '.join(unknown)}",
                )
            )
    if problems:
        raise ConfigError(problems)
    return self_tests
