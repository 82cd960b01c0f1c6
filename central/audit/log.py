"""The audit trail in SQLite: append a row to the chain, read it back, verify it.

Appends are functions of a ``sqlite_utils.Database`` that must run inside a write transaction
(central's store writer always holds ``BEGIN IMMEDIATE``; the CLI takes one itself), so the
last hash read and the row written belong together even with central and a CLI writing at
once. ``seq`` is an AUTOINCREMENT key: SQLite never hands a number out twice, so a deleted
last row is still noticed (``sqlite_sequence`` remembers it). The chain logic is in
``central.audit.chain``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlite_utils

from central.audit.chain import GENESIS, Broken, Entry, Row, link, verify

TABLE = "audit_log"


def create_schema(db: sqlite_utils.Database) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
        " target TEXT NOT NULL, detail TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"
    )


def entry(now: datetime, actor: str, action: str, target: str = "", detail: str = "") -> Entry:
    return Entry(now.isoformat(), actor, action, target, detail[:500])


def append(db: sqlite_utils.Database, found: Entry) -> Row:
    """Add ``found`` after the last row (call inside a write transaction)."""
    last = list(db.query(f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"))
    prev_hash = str(last[0]["hash"]) if last else GENESIS
    seq = _highest(db) + 1
    row = link(seq, found, prev_hash)
    db.execute(
        f"INSERT INTO {TABLE} (seq, at, actor, action, target, detail, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [row.seq, row.at, row.actor, row.action, row.target, row.detail, row.prev_hash, row.hash],
    )
    return row


def append_now(db: sqlite_utils.Database, found: Entry) -> Row:
    """``append`` in a transaction of its own (a connection with ``isolation_level=None``)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        row = append(db, found)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return row


def _highest(db: sqlite_utils.Database) -> int:
    """The highest ``seq`` ever given (even if that row is gone)."""
    given = list(db.query("SELECT seq FROM sqlite_sequence WHERE name = ?", [TABLE]))
    return int(given[0]["seq"]) if given else 0


def _row(r: dict[str, object]) -> Row:
    return Row(
        int(str(r["seq"])),
        str(r["at"]),
        str(r["actor"]),
        str(r["action"]),
        str(r["target"]),
        str(r["detail"]),
        str(r["prev_hash"]),
        str(r["hash"]),
    )


def rows(db: sqlite_utils.Database) -> Iterator[Row]:
    for r in db.query(f"SELECT * FROM {TABLE} ORDER BY seq"):
        yield _row(r)


def latest(db: sqlite_utils.Database, limit: int = 500) -> list[Row]:
    """The newest rows first (for the console)."""
    return [_row(r) for r in db.query(f"SELECT * FROM {TABLE} ORDER BY seq DESC LIMIT ?", [limit])]


def check(db: sqlite_utils.Database) -> Broken | None:
    """The first edited or deleted row, or None if the chain holds."""
    return verify(rows(db), _highest(db))
