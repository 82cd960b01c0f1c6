"""Single sign-on accounts in central's SQLite: which provider subject each one is bound to.

An SSO account is an ordinary row of ``accounts`` (``central.store.accounts``) — so sessions,
desk tokens, the accounts page and disabling work for it as for any other — with no password
(an empty hash never matches, so it cannot log in with one) and a row here binding its user
id to the provider's ``issuer`` and ``sub``. That binding is what tells an SSO account from a
local one (``central.core.signon.reconcile`` refuses an SSO sign-in onto a local account), and
what stops a reassigned user name from taking over someone's account.

Each sign-in replaces the account's roles and sites with what the group mapping gives now
(never merged: a group left is a role lost). A refused sign-in of the account's own person
whose groups no longer give a role or a site strips it and ends its sessions and desk tokens
(``strip``): they lost access, so what they had open closes. Like ``accounts``, these are
functions of a ``sqlite_utils.Database``, run on the store's writer or reader thread.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from central.core.signon import Existing, Grant, binding
from central.store import accounts as rows

TABLE = "sso_identities"


def create_schema(db: sqlite_utils.Database) -> None:
    db.table(TABLE).create(
        {"user_id": str, "binding": str, "first_at": str, "last_at": str},
        pk="user_id",
        not_null={"user_id", "binding", "first_at", "last_at"},
        if_not_exists=True,
    )


def bound_to(db: sqlite_utils.Database, user_id: str) -> str | None:
    found = list(db.query(f"SELECT binding FROM {TABLE} WHERE user_id = ?", [user_id]))  # noqa: S608 (a constant table name)
    return str(found[0]["binding"]) if found else None


def existing(db: sqlite_utils.Database, user_id: str) -> Existing | None:
    """What the store holds under ``user_id``, for ``reconcile``; None: no account."""
    found = rows.account(db, user_id)
    if found is None:
        return None
    return Existing(
        roles=found.roles,
        sites=found.sites,
        disabled=found.disabled,
        bound_to=bound_to(db, user_id),
    )


def sign_in(
    db: sqlite_utils.Database, grant: Grant, issuer: str, now: datetime, end_sessions: bool
) -> None:
    """Create or update the account of ``grant``: its roles and sites replaced, its binding
    kept. ``end_sessions``: its roles or sites changed, so the sessions opened under the old
    ones end (as when an admin changes roles); the caller opens the new one after this."""
    if rows.account(db, grant.user_id) is None:
        account = rows.Account(grant.user_id, grant.name, "", grant.roles, grant.sites)
        rows.save_account(db, account, now)
    else:
        db.execute(
            "UPDATE accounts SET name = ?, roles = ?, sites = ? WHERE user_id = ?",
            [grant.name, _json(grant.roles), _json(grant.sites), grant.user_id],
        )
    first = list(db.query(f"SELECT first_at FROM {TABLE} WHERE user_id = ?", [grant.user_id]))  # noqa: S608 (a constant table name)
    db.table(TABLE).upsert(
        {
            "user_id": grant.user_id,
            "binding": binding(issuer, grant.subject),
            "first_at": first[0]["first_at"] if first else now.isoformat(),
            "last_at": now.isoformat(),
        },
        pk="user_id",
    )
    if end_sessions:
        rows.end_sessions_of(db, grant.user_id)


def strip(db: sqlite_utils.Database, user_id: str, now: datetime) -> None:
    """The person's groups give them nothing any more: no roles, no sites, no sessions, no
    desk tokens (their open sockets close at the next sweep)."""
    db.execute(
        "UPDATE accounts SET roles = '[]', sites = '[]' WHERE user_id = ?",
        [user_id],
    )
    db.execute(f"UPDATE {TABLE} SET last_at = ? WHERE user_id = ?", [now.isoformat(), user_id])  # noqa: S608 (a constant table name)
    rows.end_sessions_of(db, user_id)
    rows.end_tokens_of(db, user_id)


def _json(values: frozenset[str]) -> str:
    return json.dumps(sorted(values))
