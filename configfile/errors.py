from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file."""

    file: Path
    line: int | None
    where: str
    reason: str

    def __str__(self) -> str:
        line = f":{self.line}" if self.line is not None else ""
        where = f" [{self.where}]" if self.where else ""
        return f"{self.file}{line}:{where} {self.reason}"


class ConfigError(Exception):
    """A configuration that must not be started with. ``problems`` lists each reason."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
