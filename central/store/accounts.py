"""Console accounts, desk tokens and sessions in central's SQLite.

Passwords are kept as argon2 hashes (``central.auth.passwords``); desk tokens and session ids
only as SHA-256 digests, so a copy of the database lets nobody in. Like ``testlog``, writes and
reads are functions of a ``sqlite_utils.Database``: central runs them on its store's threads,
and the ``trygg-central user`` CLI on its own connection (SQLite's WAL lets both at once).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from central.core.model import Person, Role


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("accounts").create(
        {
            "user_id": str,
            "name": str,
            "password_hash": str,
            "roles": str,  # JSON list of role names
            "sites": str,  # JSON list of site ids, or ["*"]
            "created_at": str,
            "disabled": int,
        },
        pk="user_id",
        if_not_exists=True,
    )
    db.table("desk_tokens").create(
        {"token_hash": str, "user_id": str, "label": str, "created_at": str},
        pk="token_hash",
        if_not_exists=True,
    )
    db.table("web_sessions").create(
        {"id_hash": str, "user_id": str, "created_at": str, "expires_at": str},
        pk="id_hash",
        if_not_exists=True,
    )
    db.table("web_settings").create({"key": str, "value": str}, pk="key", if_not_exists=True)


@dataclass(frozen=True, slots=True)
class Account:
    user_id: str
    name: str
    password_hash: str
    roles: frozenset[Role]
    sites: frozenset[str]
    disabled: bool = False

    def person(self) -> Person:
        return Person(self.user_id, self.name, "", self.sites, self.roles)

    @classmethod
    def of(cls, row: dict[str, Any]) -> Account:
        return cls(
            user_id=row["user_id"],
            name=row["name"],
            password_hash=row["password_hash"] or "",
            roles=frozenset(Role(r) for r in json.loads(row["roles"] or "[]")),
            sites=frozenset(json.loads(row["sites"] or "[]")),
            disabled=bool(row["disabled"]),
        )


# --- reads ---------------------------------------------------------------------------------


def account(db: sqlite_utils.Database, user_id: str) -> Account | None:
    rows = list(db.query("SELECT * FROM accounts WHERE user_id = ?", [user_id]))
    return Account.of(rows[0]) if rows else None


def accounts(db: sqlite_utils.Database) -> list[Account]:
    return [Account.of(r) for r in db.query("SELECT * FROM accounts ORDER BY user_id")]


def by_token(db: sqlite_utils.Database, token: str) -> Account | None:
    rows = list(
        db.query(
            "SELECT a.* FROM desk_tokens t JOIN accounts a ON a.user_id = t.user_id"
            " WHERE t.token_hash = ? AND NOT a.disabled",
            [digest(token)],
        )
    )
    return Account.of(rows[0]) if rows else None


def by_session(db: sqlite_utils.Database, session_id: str, now: datetime) -> Account | None:
    rows = list(
        db.query(
            "SELECT a.* FROM web_sessions s JOIN accounts a ON a.user_id = s.user_id"
            " WHERE s.id_hash = ? AND s.expires_at > ? AND NOT a.disabled",
            [digest(session_id), now.isoformat()],
        )
    )
    return Account.of(rows[0]) if rows else None


def setting(db: sqlite_utils.Database, key: str) -> str | None:
    rows = list(db.query("SELECT value FROM web_settings WHERE key = ?", [key]))
    return str(rows[0]["value"]) if rows else None


# --- writes (each a single statement or a small transaction of the caller) ----------------


def save_account(db: sqlite_utils.Database, found: Account, now: datetime) -> None:
    db.table("accounts").upsert(
        {
            "user_id": found.user_id,
            "name": found.name,
            "password_hash": found.password_hash,
            "roles": json.dumps(sorted(found.roles)),
            "sites": json.dumps(sorted(found.sites)),
            "created_at": now.isoformat(),
            "disabled": int(found.disabled),
        },
        pk="user_id",
    )


def add_token(
    db: sqlite_utils.Database, user_id: str, token: str, label: str, now: datetime
) -> None:
    db.table("desk_tokens").insert(
        {
            "token_hash": digest(token),
            "user_id": user_id,
            "label": label,
            "created_at": now.isoformat(),
        }
    )


def add_session(
    db: sqlite_utils.Database, session_id: str, user_id: str, now: datetime, expires: datetime
) -> None:
    db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", [now.isoformat()])
    db.table("web_sessions").insert(
        {
            "id_hash": digest(session_id),
            "user_id": user_id,
            "created_at": now.isoformat(),
            "expires_at": expires.isoformat(),
        }
    )


def end_session(db: sqlite_utils.Database, session_id: str) -> None:
    db.execute("DELETE FROM web_sessions WHERE id_hash = ?", [digest(session_id)])


def end_sessions_of(db: sqlite_utils.Database, user_id: str) -> None:
    """After a password or role change: every session of the user must log in again."""
    db.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])


def save_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("INSERT OR IGNORE INTO web_settings (key, value) VALUES (?, ?)", [key, value])
