"""Read TOML through pydantic-settings; environment variables may override (for secrets)."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from typing_extensions import override

from configfile.errors import ConfigError, ConfigProblem
from configfile.locate import locate

S = TypeVar("S", bound=BaseSettings)


class _TomlSource(PydanticBaseSettingsSource):
    """Values already read from the file (so the file is read once, and its text kept)."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    @override
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def load_settings(model: type[S], path: str | Path) -> S:
    """``model`` filled from the TOML file at ``path`` (then env), or :class:`ConfigError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(file, None, "", f"cannot read: {exc.strerror}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, reason = _toml_position(str(exc), text)
        raise ConfigError([ConfigProblem(file, line, "", f"not valid TOML: {reason}")]) from None

    class _FromFile(model):  # type: ignore[valid-type,misc]
        @classmethod
        @override
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # Environment first so that secrets can live outside the file.
            return (init_settings, env_settings, _TomlSource(settings_cls, data))

    try:
        loaded = _FromFile()
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            where = ".".join(str(p) for p in loc)
            reason = error["msg"]
            if error["type"] == "missing":
                reason = "required value is missing"
            problems.append(ConfigProblem(file, locate(text, loc), where, reason))
        raise ConfigError(problems) from None
    return model.model_validate(loaded.model_dump())


def _toml_position(message: str, text: str) -> tuple[int | None, str]:
    """Line and bare reason from tomllib's message ("... (at line 3, column 5)")."""
    found = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
    if found:
        return int(found.group(1)), message[: found.start()]
    if message.endswith("(at end of document)"):
        return max(1, len(text.splitlines())), message.removesuffix(" (at end of document)")
    return None, message


def validate_file(model: type[BaseSettings], path: str | Path) -> list[ConfigProblem]:
    """The problems with ``path`` (empty when it is fine): for ``validate-config`` commands."""
    try:
        load_settings(model, path)
    except ConfigError as exc:
        return exc.problems
    return []


def report(problems: Sequence[ConfigProblem], path: str | Path) -> int:
    """What every ``validate-config`` prints: each problem on stderr (exit 2), or "ok" (0)."""
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(f"{path}: ok")
    return 0
