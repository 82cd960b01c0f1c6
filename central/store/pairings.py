"""Desk pairings (central.core.pairing) in central's SQLite: short-lived, kept only as digests.

Why in the store and not in memory: a desk polls for minutes while its person walks to the
console; a restart of central in between must not lose the pairing, and the approval and the
token's issue must be one transaction (``deliver`` in ``central.auth.pairing`` runs the core's
decision, marks the pairing delivered and adds the token in a single write), so a device code
can never yield two tokens. Both codes are kept as SHA-256 digests, like desk tokens: a copy
of the database pairs nobody. Expired pairings are deleted whenever a new one is made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from central.core.pairing import Pairing, State
from central.store.accounts import digest

TABLE = "desk_pairings"


def create_schema(db: sqlite_utils.Database) -> None:
    db.table(TABLE).create(
        {
            "device_hash": str,
            "code_hash": str,
            "label": str,
            "address": str,
            "created_at": str,
            "expires_at": str,
            "state": str,
            "user_id": str,
            "last_poll_at": str,
            "token_id": str,
        },
        pk="device_hash",
        not_null={"device_hash", "code_hash", "created_at", "expires_at", "state"},
        if_not_exists=True,
    )
    db.table(TABLE).create_index(["code_hash"], unique=True, if_not_exists=True)


def _pairing(row: dict[str, Any]) -> Pairing:
    last = row["last_poll_at"]
    return Pairing(
        label=row["label"] or "",
        address=row["address"] or "",
        created_at=datetime.fromisoformat(row["created_at"]),
        expires_at=datetime.fromisoformat(row["expires_at"]),
        state=State(row["state"]),
        user_id=row["user_id"] or "",
        last_poll_at=datetime.fromisoformat(last) if last else None,
    )


def _one(db: sqlite_utils.Database, column: str, value: str) -> Pairing | None:
    found = list(db.query(f"SELECT * FROM {TABLE} WHERE {column} = ?", [digest(value)]))  # noqa: S608 (a constant table name)
    return _pairing(found[0]) if found else None


def by_code(db: sqlite_utils.Database, user_code: str) -> Pairing | None:
    """The pairing of a (normalized) user code."""
    return _one(db, "code_hash", user_code)


def by_device(db: sqlite_utils.Database, device_code: str) -> Pairing | None:
    return _one(db, "device_hash", device_code)


def pending(db: sqlite_utils.Database, now: datetime) -> int:
    """How many pairings are still open (a bound on what anonymous desks may make)."""
    found = db.execute(
        f"SELECT COUNT(*) FROM {TABLE} WHERE state = ? AND expires_at > ?",  # noqa: S608 (a constant table name)
        [State.PENDING.value, now.isoformat()],
    ).fetchone()
    return int(found[0]) if found else 0


def add(
    db: sqlite_utils.Database, device_code: str, user_code: str, pairing: Pairing, now: datetime
) -> None:
    """Keep a new pairing (after deleting those that expired; a used one is gone for good)."""
    db.execute(f"DELETE FROM {TABLE} WHERE expires_at <= ?", [now.isoformat()])  # noqa: S608 (a constant table name)
    db.table(TABLE).insert(
        {
            "device_hash": digest(device_code),
            "code_hash": digest(user_code),
            "label": pairing.label,
            "address": pairing.address,
            "created_at": pairing.created_at.isoformat(),
            "expires_at": pairing.expires_at.isoformat(),
            "state": pairing.state.value,
            "user_id": pairing.user_id,
            "last_poll_at": None,
            "token_id": None,
        }
    )


def save(
    db: sqlite_utils.Database,
    column: str,
    code: str,
    pairing: Pairing,
    token_id: str | None = None,
) -> None:
    """Write ``pairing``'s state back, found by its ``device_hash`` or ``code_hash``."""
    if column not in ("device_hash", "code_hash"):
        raise ValueError(f"no such key column {column!r}")
    last = pairing.last_poll_at.isoformat() if pairing.last_poll_at else None
    db.execute(
        f"UPDATE {TABLE} SET state = ?, user_id = ?, last_poll_at = ?,"  # noqa: S608 (a constant table name)
        f" token_id = COALESCE(?, token_id) WHERE {column} = ?",
        [pairing.state.value, pairing.user_id, last, token_id, digest(code)],
    )
