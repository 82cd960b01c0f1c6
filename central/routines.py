"""The office's alarm response routine (``routines/alarm-response.toml``), validated at start-up.

Routines are data the office owns: central loads them, refuses to start on a broken file (with
file, line and reason), and sends them to every screen in its ``hello``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic_settings import BaseSettings, SettingsConfigDict

from configfile import load_settings
from protocol import AlarmLevel
from protocol.screen import RoutineText

#: The routines shipped in this repository (an office points [routines] path at its own copy).
SHIPPED = Path(__file__).resolve().parents[1] / "routines" / "alarm-response.toml"
LANGUAGES = ("nb", "en")

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
