"""Single sign-on accounts in central's SQLite: which provider subject each one is bound to.

An SSO account is an ordinary row of ``accounts`` (``central.store.accounts``) — so sessions,
desk tokens, the accounts page and disabling work for it as for any other — with no password
(an empty hash never matches, so it cannot log in with one) and a row here binding its user
id to the provider's ``issuer`` and ``sub``. That binding is what tells an SSO account from a
local one (``central.core.signon.reconcile`` refuses an SSO sign-in onto a local account), and
what stops a reassigned user name from taking over someone's account. A binding is on one
account at a time (a unique index): a sign-in finds the person's account **by binding first**,
so a renamed person (a changed user claim) cannot keep a second account with access — the
one they moved away from is stripped (``move``; why not renamed: ``central.core.signon``).

``last_at`` is the last sign-in (or strip): the idle sweep (``idle``) strips accounts whose
person has not signed in for ``[sso] max_idle_days``, because removal at the provider may
never reach us otherwise (a person unassigned from the app is stopped before our callback).

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

from central.core.signon import Existing, Grant, binding, moved
from central.store import accounts as rows

TABLE = "sso_identities"


def create_schema(db: sqlite_utils.Database) -> None:
    db.table(TABLE).create(
        {"user_id": str, "binding": str, "first_at": str, "last_at": str},
        pk="user_id",
        not_null={"user_id", "binding", "first_at", "last_at"},
        if_not_exists=True,
    )
    # A database from before the binding was unique: of the accounts sharing one, all but the
    # latest signed in are the person's old names — stripped and marked moved.
    for row in list(
        db.query(
            f"SELECT a.user_id, a.binding FROM {TABLE} a JOIN {TABLE} b "  # noqa: S608 (constant)
            "ON a.binding = b.binding AND a.last_at < b.last_at"
        )
    ):
        strip(db, str(row["user_id"]), None)
        db.execute(
            f"UPDATE {TABLE} SET binding = ? WHERE user_id = ?",  # noqa: S608 (a constant table name)
            [moved(str(row["binding"]), str(row["user_id"])), row["user_id"]],
        )
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_binding ON {TABLE}(binding)")


def bound_to(db: sqlite_utils.Database, user_id: str) -> str | None:
    found = list(db.query(f"SELECT binding FROM {TABLE} WHERE user_id = ?", [user_id]))  # noqa: S608 (a constant table name)
    return str(found[0]["binding"]) if found else None


def holder(db: sqlite_utils.Database, key: str) -> str | None:
    """The user id the binding ``key`` is on now; None: on none."""
    found = list(db.query(f"SELECT user_id FROM {TABLE} WHERE binding = ?", [key]))  # noqa: S608 (a constant table name)
    return str(found[0]["user_id"]) if found else None


def existing(db: sqlite_utils.Database, user_id: str) -> Existing | None:
    """What the store holds under ``user_id``, for ``reconcile``; None: no account. An account
    whose id differs only in case (``Admin`` for ``admin``) is one too: SSO ids are
    case-folded, local ones are not, and the two must never be two accounts of one name."""
    found = rows.account(db, user_id)
    if found is None:
        same = list(
            db.query(
                "SELECT user_id FROM accounts WHERE lower(user_id) = lower(?) LIMIT 1", [user_id]
            )
        )
        if not same:
            return None
        found = rows.account(db, str(same[0]["user_id"]))
        if found is None:
            return None
        return Existing(found.roles, found.sites, found.disabled, bound_to=None)
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


def strip(db: sqlite_utils.Database, user_id: str, now: datetime | None) -> None:
    """The person's groups give them nothing any more: no roles, no sites, no sessions, no
    desk tokens (their open sockets close at the next sweep)."""
    db.execute(
        "UPDATE accounts SET roles = '[]', sites = '[]' WHERE user_id = ?",
        [user_id],
    )
    if now is not None:
        db.execute(f"UPDATE {TABLE} SET last_at = ? WHERE user_id = ?", [now.isoformat(), user_id])  # noqa: S608 (a constant table name)
    rows.end_sessions_of(db, user_id)
    rows.end_tokens_of(db, user_id)


def move(db: sqlite_utils.Database, old_id: str) -> None:
    """The person of ``old_id`` signs in under another id now (renamed): the old account is
    stripped and keeps only a *moved* mark of the binding, which the new one takes."""
    key = bound_to(db, old_id)
    strip(db, old_id, None)
    if key is not None and not key.startswith("moved("):
        mark = moved(key, old_id)
        db.execute(f"UPDATE {TABLE} SET binding = ? WHERE user_id = ?", [mark, old_id])  # noqa: S608 (a constant table name)


def idle(db: sqlite_utils.Database, before: datetime) -> list[str]:
    """The SSO accounts that still have something (roles, sites, sessions, desk tokens) and
    whose person last signed in before ``before``."""
    found = db.query(
        f"SELECT i.user_id FROM {TABLE} i JOIN accounts a ON a.user_id = i.user_id "  # noqa: S608 (constant)
        "WHERE i.last_at < ? AND (a.roles != '[]' OR a.sites != '[]' "
        "OR EXISTS (SELECT 1 FROM desk_tokens t WHERE t.user_id = i.user_id) "
        "OR EXISTS (SELECT 1 FROM web_sessions s WHERE s.user_id = i.user_id)) ORDER BY i.user_id",
        [before.isoformat()],
    )
    return [str(row["user_id"]) for row in found]


def _json(values: frozenset[str]) -> str:
    return json.dumps(sorted(values))
