"""The ARC outbox on disk: every event offered, until its receiver said ACK (or DUH).

Its own small SQLite file (``arc.db`` next to central's database) rather than a table in the
alarm record: the link has its own lifecycle, and the record's writer thread batches for the
alarm path, which must never wait behind a slow receiving centre. One thread owns the
connection (the link's executor calls in), so the event loop never waits for the disk.

``UNIQUE (site, uniq)``: the same event offered twice — a restart re-runs an escalation step,
a resolution is recorded again — is stored once and, once delivered, never sent again. Done
rows are kept (state ``delivered``/``refused``) for ``RETENTION`` so a late repeat is still
recognised, then pruned at open.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from central.arc.events import ArcEvent, ArcKind

RETENTION = timedelta(days=30)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS arc_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    uniq TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    zone INTEGER NOT NULL,
    restore INTEGER NOT NULL,
    at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    done_at TEXT,
    UNIQUE (site, uniq)
)
"""


class Outbox:
    """Synchronous; call from one thread only."""

    def __init__(self, path: Path, now: datetime) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # the key's events: 0600
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute(_SCHEMA)
        cutoff = (now - RETENTION).isoformat()
        self._db.execute(
            "DELETE FROM arc_outbox WHERE state != 'pending' AND done_at < ?", [cutoff]
        )

    def close(self) -> None:
        self._db.close()

    def add(self, event: ArcEvent) -> bool:
        """Store a new event: True; one with the same site and ``unique`` exists: False."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO arc_outbox (site, uniq, key, kind, zone, restore, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                event.site,
                event.unique,
                event.key,
                event.kind.value,
                event.zone,
                int(event.restore),
                event.at.isoformat(),
            ],
        )
        return cursor.rowcount == 1

    def done(self, event: ArcEvent, state: str, now: datetime) -> None:
        self._db.execute(
            "UPDATE arc_outbox SET state = ?, done_at = ? WHERE site = ? AND uniq = ?",
            [state, now.isoformat(), event.site, event.unique],
        )

    def open_troubles(self) -> list[ArcEvent]:
        """Trouble events offered whose restore never was (central.arc.troubles)."""
        rows = self._db.execute(
            "SELECT site, key, kind, at, zone, restore FROM arc_outbox AS a"
            " WHERE kind = 'trouble' AND restore = 0 AND NOT EXISTS ("
            "  SELECT 1 FROM arc_outbox AS b WHERE b.site = a.site AND b.key = a.key"
            "  AND b.kind = 'trouble' AND b.restore = 1) ORDER BY id"
        ).fetchall()
        return [
            ArcEvent(site, key, ArcKind(kind), datetime.fromisoformat(at), zone, bool(restore))
            for site, key, kind, at, zone, restore in rows
        ]

    def pending(self) -> list[ArcEvent]:
        """The events not yet delivered, in the order offered."""
        rows = self._db.execute(
            "SELECT site, key, kind, at, zone, restore FROM arc_outbox"
            " WHERE state = 'pending' ORDER BY id"
        ).fetchall()
        return [
            ArcEvent(site, key, ArcKind(kind), datetime.fromisoformat(at), zone, bool(restore))
            for site, key, kind, at, zone, restore in rows
        ]
