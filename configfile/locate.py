"""Find the line of a TOML value from a pydantic error location such as ``("buttons", 1, "pin")``.

``tomllib`` keeps no positions, so this walks the text: table headers (``[a.b]``, ``[[a]]``)
and ``key =`` lines. It understands what our config files use; for anything it cannot place
it returns the line sharing the longest prefix of the location (its table), or ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def _key_path(raw: str) -> tuple[str, ...]:
    parts = re.findall(r"""("[^"]*"|'[^']*'|[^.\s]+)""", raw)
    return tuple(p.strip("\"'") for p in parts)


def locate(text: str, loc: Sequence[str | int]) -> int | None:
    """1-based line of ``loc`` in ``text``; the closest enclosing table's line if not found."""
    table: tuple[str | int, ...] = ()
    array_counts: dict[tuple[str | int, ...], int] = {}
    best: tuple[int, int] | None = None  # (matched depth, line)
    target = tuple(loc)

    def consider(path: tuple[str | int, ...], line: int) -> None:
        nonlocal best
        depth = 0
        for a, b in zip(path, target, strict=False):
            if a != b:
                break
            depth += 1
        # The deepest shared prefix wins; on a tie the first line (the table's header). A
        # missing key thus points at its table, or at a sibling of a dotted key.
        if depth and (best is None or depth > best[0]):
            best = (depth, line)

    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            base = _key_path(header.group(2))
            if header.group(1) == "[[":
                index = array_counts.get(base, 0)
                array_counts[base] = index + 1
                table = (*base, index)
            else:
                table = base
            consider(table, number)
            continue
        key = _KEY.match(line)
        if key:
            consider((*table, *_key_path(key.group(1))), number)
    return best[1] if best else None
