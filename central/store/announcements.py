"""Every change of a site's announcement (central.core.announcements), on disk.

One row per change (evacuate, lockdown, all clear), never updated or deleted: the rows are the
announcements' history the console shows, and at start the latest row per site says whether an
evacuation or lockdown is still on (a restart of central in the middle of one keeps it on
every screen and edge).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import sqlite_utils

from central.core.announcements import Announcement, Origin
from protocol import AnnouncementKind

TABLE = "announcements"
COLUMNS: dict[str, type] = {
    "announcement_id": str,
    "site": str,
    "kind": str,
    "zone": str,
    "by": str,
    "by_name": str,
    "origin": str,
    "at": str,
}


def create_schema(db: sqlite_utils.Database) -> None:
    db.table(TABLE).create(
        COLUMNS,
        pk="announcement_id",
        not_null=set(COLUMNS) - {"zone"},
        if_not_exists=True,
    )
    db.table(TABLE).create_index(["site", "at"], if_not_exists=True)


def recorded(entry: Announcement) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        db.table(TABLE).insert(
            {
                "announcement_id": str(entry.announcement_id),
                "site": entry.site,
                "kind": entry.kind.value,
                "zone": entry.zone,
                "by": entry.by,
                "by_name": entry.by_name,
                "origin": entry.origin.value,
                "at": entry.at.isoformat(),
            },
            pk="announcement_id",
            ignore=True,
        )

    write.__name__ = "announcement_recorded"
    return write


def stored(db: sqlite_utils.Database) -> list[Announcement]:
    """Every stored change, oldest first."""
    rows = db.execute(
        "SELECT announcement_id, site, kind, zone, by, by_name, origin, at"
        " FROM announcements ORDER BY at"
    ).fetchall()
    return [
        Announcement(
            announcement_id=UUID(r[0]),
            site=r[1],
            kind=AnnouncementKind(r[2]),
            zone=r[3],
            by=r[4],
            by_name=r[5],
            origin=Origin(r[6]),
            at=datetime.fromisoformat(r[7]),
        )
        for r in rows
    ]
