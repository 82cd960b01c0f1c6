"""Console accounts, desk tokens and sessions in central's SQLite.

Passwords are kept as argon2 hashes (``central.auth.passwords``); desk tokens and session ids
only as SHA-256 digests, so a copy of the database lets nobody in. A token is named by its
*token id* (the first 12 hex digits of its digest), which ``token list`` shows and ``token
revoke`` takes: enough to tell tokens apart, useless to log in with. Tokens expire; they and
the sessions of a user end on a password change and when the account is disabled.

Tokens of the config file's ``[[users]]`` cannot be deleted from here (the file is their
source); revoking one, or disabling such a user, writes a *block* that ``Auth`` checks on
every use. Every change of a credential, and every change of an account's roles, sites or
``disabled`` (``save_account`` compares with the stored row), bumps ``credentials_version``,
which central polls to close the sockets of whoever lost access or holds a socket opened
under other roles or sites (``central.auth.service``). Like ``testlog``, writes and
reads are functions of a ``sqlite_utils.Database``: central runs them on its store's threads,
and the ``trygg-central user`` CLI on its own connection (SQLite's WAL lets both at once).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from central.audit import log as audit_log
from central.core.model import Person, Role
from central.store import visits as push_subscriptions

DEFAULT_TOKEN_DAYS = 180
TOKEN_ID_LENGTH = 12


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_id_of(token: str) -> str:
    """The name of a token that ``token list`` shows and ``token revoke`` takes."""
    return digest(token)[:TOKEN_ID_LENGTH]


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
        {"token_hash": str, "user_id": str, "label": str, "created_at": str, "expires_at": str},
        pk="token_hash",
        if_not_exists=True,
    )
    tokens = db.table("desk_tokens")
    if "expires_at" not in tokens.columns_dict:  # a database from before tokens expired
        tokens.add_column("expires_at", str)
        for row in list(db.query("SELECT token_hash, created_at FROM desk_tokens")):
            made = datetime.fromisoformat(row["created_at"])
            db.execute(
                "UPDATE desk_tokens SET expires_at = ? WHERE token_hash = ?",
                [(made + timedelta(days=DEFAULT_TOKEN_DAYS)).isoformat(), row["token_hash"]],
            )
    # Revoked config tokens ("token:<digest>") and disabled config users ("user:<id>").
    db.table("credential_blocks").create(
        {"key": str, "user_id": str, "at": str}, pk="key", if_not_exists=True
    )
    db.table("web_sessions").create(
        {"id_hash": str, "user_id": str, "created_at": str, "expires_at": str},
        pk="id_hash",
        if_not_exists=True,
    )
    db.table("web_settings").create({"key": str, "value": str}, pk="key", if_not_exists=True)
    audit_log.create_schema(db)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    token_id: str
    user_id: str
    label: str
    created_at: str
    expires_at: str  # "" for a config file's token: it lives as long as the file has it


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


def by_token(db: sqlite_utils.Database, token: str, now: datetime) -> Account | None:
    rows = list(
        db.query(
            "SELECT a.* FROM desk_tokens t JOIN accounts a ON a.user_id = t.user_id"
            " WHERE t.token_hash = ? AND t.expires_at > ? AND NOT a.disabled",
            [digest(token), now.isoformat()],
        )
    )
    return Account.of(rows[0]) if rows else None


def tokens(db: sqlite_utils.Database, user_id: str | None = None) -> list[TokenInfo]:
    """The database's desk tokens (of ``user_id``), oldest first."""
    where, params = ("WHERE user_id = ?", [user_id]) if user_id else ("", [])
    return [
        TokenInfo(
            str(r["token_hash"])[:TOKEN_ID_LENGTH],
            r["user_id"],
            r["label"] or "",
            r["created_at"],
            r["expires_at"] or "",
        )
        for r in db.query(f"SELECT * FROM desk_tokens {where} ORDER BY created_at", params)
    ]


def blocked(db: sqlite_utils.Database, user_id: str, token: str) -> bool:
    """A config file's user disabled, or this token of theirs revoked."""
    keys = [f"user:{user_id}", f"token:{digest(token)}"]
    found = db.query("SELECT 1 FROM credential_blocks WHERE key IN (?, ?)", keys)
    return any(True for _ in found)


def blocks(db: sqlite_utils.Database) -> set[str]:
    return {str(r["key"]) for r in db.query("SELECT key FROM credential_blocks")}


def credentials_version(db: sqlite_utils.Database) -> str:
    return setting(db, "credentials_version") or "0"


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
    """Create or replace the account; a change of its access bumps ``credentials_version``
    (its open sockets were opened under the old roles and sites)."""
    before = account(db, found.user_id)
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
    if before is not None and (before.roles, before.sites, before.disabled) != (
        found.roles,
        found.sites,
        found.disabled,
    ):
        bump_credentials(db)


def add_token(
    db: sqlite_utils.Database,
    user_id: str,
    token: str,
    label: str,
    now: datetime,
    days: float = DEFAULT_TOKEN_DAYS,
) -> str:
    """Keep ``token`` (hashed) for ``days``; returns its token id."""
    db.table("desk_tokens").insert(
        {
            "token_hash": digest(token),
            "user_id": user_id,
            "label": label,
            "created_at": now.isoformat(),
            "expires_at": (now + timedelta(days=days)).isoformat(),
        }
    )
    return token_id_of(token)


def token_owners(db: sqlite_utils.Database, token_id: str) -> list[str]:
    """The users whose database tokens have this id (what ``revoke_token`` would touch)."""
    if len(token_id) < 8:  # a prefix this short could name several tokens
        return []
    pattern = token_id.lower() + "%"
    return [
        str(r["user_id"])
        for r in db.query("SELECT user_id FROM desk_tokens WHERE token_hash LIKE ?", [pattern])
    ]


def revoke_token(db: sqlite_utils.Database, token_id: str) -> list[str]:
    """Delete the database tokens with this id; the users whose token it was."""
    users = token_owners(db, token_id)
    if not users:
        return []
    pattern = token_id.lower() + "%"
    db.execute("DELETE FROM desk_tokens WHERE token_hash LIKE ?", [pattern])
    push_subscriptions.forget_tokens(db, pattern)  # a revoked phone is asked nothing more
    if users:
        bump_credentials(db)
    return users


def end_tokens_of(db: sqlite_utils.Database, user_id: str) -> None:
    for row in db.query("SELECT token_hash FROM desk_tokens WHERE user_id = ?", [user_id]):
        push_subscriptions.forget_tokens(db, str(row["token_hash"]))
    db.execute("DELETE FROM desk_tokens WHERE user_id = ?", [user_id])
    bump_credentials(db)


def block(db: sqlite_utils.Database, key: str, user_id: str, now: datetime) -> None:
    """Refuse a config file's token (``token:<digest>``) or user (``user:<id>``) from now on."""
    db.execute(
        "INSERT OR IGNORE INTO credential_blocks (key, user_id, at) VALUES (?, ?, ?)",
        [key, user_id, now.isoformat()],
    )
    bump_credentials(db)


def bump_credentials(db: sqlite_utils.Database) -> None:
    """Tell a running central that some credential ended or some account's roles or sites
    changed: it re-checks its open sockets."""
    version = int(credentials_version(db)) + 1
    db.execute(
        "INSERT OR REPLACE INTO web_settings (key, value) VALUES ('credentials_version', ?)",
        [str(version)],
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
    bump_credentials(db)


def disable(db: sqlite_utils.Database, found: Account, now: datetime) -> None:
    """The account can no longer log in; its sessions and tokens end (sockets close)."""
    save_account(
        db,
        Account(found.user_id, found.name, found.password_hash, found.roles, found.sites, True),
        now,
    )
    end_sessions_of(db, found.user_id)
    end_tokens_of(db, found.user_id)


def save_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.execute("INSERT OR IGNORE INTO web_settings (key, value) VALUES (?, ?)", [key, value])
