"""Which sources' alarms are merged into one flood card (central.core.floodcards), on disk.

Stored so that a restart of central brings the one card back instead of one card per alarm of
the flood: a row per merged source, written when the merge starts and deleted when its last
alarm is resolved. The alarms themselves are in ``alarms`` as always.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlite_utils

COLUMNS: dict[str, type] = {"site": str, "source": str, "desk": int, "since": str}
Source = tuple[str, str, bool]


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("floods").create(
        COLUMNS, pk=("site", "source", "desk"), not_null=set(COLUMNS), if_not_exists=True
    )


def started(source: Source, since: datetime) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        site, name, desk = source
        row = {"site": site, "source": name, "desk": int(desk), "since": since.isoformat()}
        db.table("floods").upsert(row, pk=("site", "source", "desk"))

    write.__name__ = "flood_started"
    return write


def ended(source: Source) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        site, name, desk = source
        db.execute(
            "DELETE FROM floods WHERE site = ? AND source = ? AND desk = ?",
            [site, name, int(desk)],
        )

    write.__name__ = "flood_ended"
    return write


def merged(db: sqlite_utils.Database) -> dict[Source, datetime]:
    """The stored merged sources and since when."""
    rows = db.execute("SELECT site, source, desk, since FROM floods").fetchall()
    return {(r[0], r[1], bool(r[2])): datetime.fromisoformat(r[3]) for r in rows}
