"""The visit timer's visits and the phones' Web Push subscriptions (central.core.visits), on disk.

Stored so that a restart of central never forgets a person at a home visit: a row per visit,
rewritten whole on every change (the core hands out the visit as it now is) and read back at
start. A phone's push subscription is a row per phone credential (``token_hash``, the
digest central.store.accounts keeps): revoking the credential deletes it (``forget_tokens``),
and a push goes only to subscriptions whose credential is still valid (``subscriptions_of``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlite_utils

from central.core.visits import Visit
from protocol.screen import Position

COLUMNS: dict[str, type] = {
    "visit_id": str,
    "user": str,
    "name": str,
    "site": str,
    "address": str,
    "until": str,
    "grace_s": float,
    "started_at": str,
    "colleague": str,
    "position": str,
    "asked_at": str,
    "alarm_id": str,
    "ended_at": str,
}
REQUIRED = {"visit_id", "user", "name", "site", "address", "until", "grace_s", "started_at"}


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("visits").create(COLUMNS, pk="visit_id", not_null=REQUIRED, if_not_exists=True)
    old = db.table("push_subscriptions")
    if old.exists() and "token_hash" not in old.columns_dict:
        old.drop()  # keyed by user before: the page subscribes again at its next visit
    db.table("push_subscriptions").create(
        {"token_hash": str, "user": str, "subscription": str, "updated_at": str},
        pk="token_hash",
        not_null={"token_hash", "user", "subscription", "updated_at"},
        if_not_exists=True,
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def row_of(visit: Visit) -> dict[str, Any]:
    return {
        "visit_id": str(visit.visit_id),
        "user": visit.user,
        "name": visit.name,
        "site": visit.site,
        "address": visit.address,
        "until": visit.until.isoformat(),
        "grace_s": visit.grace.total_seconds(),
        "started_at": visit.started_at.isoformat(),
        "colleague": visit.colleague,
        "position": visit.position.model_dump_json() if visit.position is not None else None,
        "asked_at": _iso(visit.asked_at),
        "alarm_id": str(visit.alarm_id) if visit.alarm_id is not None else None,
        "ended_at": _iso(visit.ended_at),
    }


def visit_of(row: dict[str, Any]) -> Visit:
    position = row["position"]
    return Visit(
        visit_id=UUID(row["visit_id"]),
        user=row["user"],
        name=row["name"],
        site=row["site"],
        address=row["address"],
        until=datetime.fromisoformat(row["until"]),
        grace=timedelta(seconds=row["grace_s"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        colleague=row["colleague"],
        position=Position.model_validate_json(position) if position else None,
        asked_at=_when(row["asked_at"]),
        alarm_id=UUID(row["alarm_id"]) if row["alarm_id"] else None,
        ended_at=_when(row["ended_at"]),
    )


def stored(visit: Visit) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        db.table("visits").upsert(row_of(visit), pk="visit_id")

    write.__name__ = "visit_stored"
    return write


def open_visits(db: sqlite_utils.Database) -> list[Visit]:
    """The visits not checked out (the timer goes on with them)."""
    rows = db.query("SELECT * FROM visits WHERE ended_at IS NULL ORDER BY started_at")
    return [visit_of(row) for row in rows]


def subscribed(
    token_hash: str, user: str, subscription: dict[str, Any], at: datetime
) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        row = {
            "token_hash": token_hash,
            "user": user,
            "subscription": json.dumps(subscription),
            "updated_at": at.isoformat(),
        }
        db.table("push_subscriptions").upsert(row, pk="token_hash")

    write.__name__ = "push_subscribed"
    return write


def unsubscribed(token_hash: str) -> Callable[[sqlite_utils.Database], None]:
    """The push service said the subscription is gone (404/410)."""

    def write(db: sqlite_utils.Database) -> None:
        db.execute("DELETE FROM push_subscriptions WHERE token_hash = ?", [token_hash])

    write.__name__ = "push_unsubscribed"
    return write


def forget_tokens(db: sqlite_utils.Database, pattern: str) -> None:
    """The subscriptions of the credentials whose digest is ``LIKE pattern`` (revoked)."""
    if "push_subscriptions" in db.table_names():
        db.execute("DELETE FROM push_subscriptions WHERE token_hash LIKE ?", [pattern])


def subscriptions(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """Every phone credential's push subscription (the page's PushSubscription JSON)."""
    rows = db.query("SELECT token_hash, subscription FROM push_subscriptions")
    return {row["token_hash"]: json.loads(row["subscription"]) for row in rows}


def subscriptions_of(
    user: str, now: datetime
) -> Callable[[sqlite_utils.Database], dict[str, dict[str, Any]]]:
    """``user``'s subscriptions whose phone credential is still valid, by token hash."""

    def read(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
        rows = db.query(
            "SELECT s.token_hash, s.subscription FROM push_subscriptions s"
            " JOIN desk_tokens t ON t.token_hash = s.token_hash"
            " WHERE s.user = ? AND t.user_id = s.user AND t.expires_at > ?",
            [user, now.isoformat()],
        )
        return {row["token_hash"]: json.loads(row["subscription"]) for row in rows}

    return read
