"""docs/architecture.md stays true: every path it names exists, and it names every core module.

The page maps each concept to its core, its I/O and its tests; a rename or a new core module
that the page does not follow would make it lie to the next reader, so this fails instead.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
CORES = ("central/core", "edge/core", "desktop/core")
# A path in backticks: folders and files of the repository, e.g. `central/core/alarms.py`.
PATH = re.compile(r"`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+/?|[A-Za-z0-9_-]+\.(?:py|md|toml))`")


def named_paths() -> set[str]:
    return set(PATH.findall(DOC.read_text(encoding="utf-8")))


def test_the_page_names_paths() -> None:
    # The extraction itself works: a page whose paths were all missed would pass vacuously.
    assert {"central/core/alarms.py", "edge/outbox/sender.py", "tests/support/stack.py"} <= (
        named_paths()
    )


def test_every_named_path_exists() -> None:
    missing = sorted(p for p in named_paths() if not (ROOT / p).exists())
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_core_module_is_named() -> None:
    named = named_paths()
    modules = sorted(
        f"{core}/{module.name}"
        for core in CORES
        for module in (ROOT / core).glob("*.py")
        if module.name != "__init__.py"
    )
    assert modules, "no core modules found: has the tree moved?"
    unnamed = [m for m in modules if m not in named]
    assert unnamed == [], f"core modules missing from docs/architecture.md: {unnamed}"


def test_comments_point_only_to_documents_in_the_repository() -> None:
    # Two comments once cited "DESIGN", a file outside the repository: a reader could not follow.
    cited = re.compile(r"\b(?:docs|deploy)/[A-Za-z0-9_.-]+\.md\b|\bDESIGN\b")
    dangling = sorted(
        f"{source.relative_to(ROOT)}: {found}"
        for package in ("central", "edge", "desktop", "firmware_sim", "protocol")
        for source in (ROOT / package).rglob("*.py")
        for found in cited.findall(source.read_text(encoding="utf-8"))
        if not (ROOT / found).is_file()
    )
    assert dangling == [], f"comments cite documents that are not in the repository: {dangling}"


def test_the_operations_page_names_only_paths_that_exist() -> None:
    """docs/operations.md sends operators and reviewers to units, modules and tests by path."""
    page = ROOT / "docs" / "operations.md"
    named = set(PATH.findall(page.read_text(encoding="utf-8")))
    assert {"central/watchdog.py", "trygg_systemd/feeding.py", "edge/agent/watchdog.py"} <= named
    missing = sorted(p for p in named if not p.startswith("/") and not (ROOT / p).exists())
    assert missing == [], f"docs/operations.md names paths that do not exist: {missing}"
