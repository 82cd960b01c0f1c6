"""Dependency floors stay above versions with known CVEs (issue 10, item 13)."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# package → the first version without the known vulnerability
SAFE = {
    "starlette": "0.40",  # CVE-2024-47874: multipart form DoS
    "python-multipart": "0.0.18",  # CVE-2024-53981: boundary parsing DoS
    "fastapi": "0.115.3",  # the first that allows Starlette 0.40
}


def test_central_floors_exclude_vulnerable_versions_and_installed_ones_are_safe() -> None:
    central = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["central"]
    floors = {}
    for line in central:
        req = Requirement(line)
        lows = [Version(s.version) for s in req.specifier if s.operator == ">="]
        floors[req.name] = max(lows) if lows else None
    for name, safe in SAFE.items():
        floor = floors.get(name)
        assert floor is not None, f"{name} has no floor in [central]"
        assert floor >= Version(safe), f"{name}>={floor} allows < {safe}"
        assert Version(version(name)) >= Version(safe), f"installed {name} is vulnerable"
