"""The incident reports' e-mail outbox on disk (``report_mail``): what is owed, to whom, and
how each try went.

A report stored *is* an e-mail owed to each recipient: the rows are written with the report,
in its transaction (``central.store.reports.filed``), so neither an SMTP outage nor a restart
of central loses one. ``central.mailing`` reads what is due and marks each row sent, failed
(tried again at ``next_try``) or refused for good. The table itself is made with the other
report tables (``central.store.reports.create_schema``): one schema for the feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlite_utils

from central.store.reports import PENDING, REFUSED, SENT, _time, _when


@dataclass(frozen=True, slots=True)
class Mail:
    mail_id: int
    report_id: UUID
    user: str
    address: str
    site: str
    attempts: int
    created_at: datetime


def due_mail(db: sqlite_utils.Database, now: datetime, limit: int = 50) -> list[Mail]:
    """What is due, longest due first: a row that just failed goes behind the others, so a
    pass that stops at a failing server tries another row the next time."""
    return [
        Mail(
            int(r["id"]),
            UUID(r["report_id"]),
            r["user"],
            r["address"],
            r["site"],
            int(r["attempts"]),
            datetime.fromisoformat(r["created_at"] or r["next_try"]),
        )
        for r in db.query(
            "SELECT m.*, r.site AS site FROM report_mail m JOIN reports r USING (report_id)"
            " WHERE m.status = ? AND m.next_try <= ? ORDER BY m.next_try, m.id LIMIT ?",
            [PENDING, _when(now), limit],
        )
    ]


def next_mail_at(db: sqlite_utils.Database) -> datetime | None:
    found = list(db.query("SELECT min(next_try) AS t FROM report_mail WHERE status = ?", [PENDING]))
    return _time(found[0]["t"]) if found else None


def mail_owed(db: sqlite_utils.Database) -> tuple[int, datetime | None]:
    """How many e-mails are waiting, and when the oldest of them was written."""
    found = list(
        db.query(
            "SELECT count(*) AS n, min(created_at) AS t FROM report_mail WHERE status = ?",
            [PENDING],
        )
    )
    return (int(found[0]["n"]), _time(found[0]["t"])) if found else (0, None)


def mail_sent(mail_id: int, now: datetime) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        db.execute(
            "UPDATE report_mail SET status = ?, sent_at = ?, attempts = attempts + 1,"
            " last_error = '' WHERE id = ?",
            [SENT, _when(now), mail_id],
        )

    write.__name__ = "report_mail_sent"
    return write


def mail_failed(
    mail_id: int, error: str, next_try: datetime | None
) -> Callable[[sqlite_utils.Database], None]:
    """A failed try: again at ``next_try``; None: refused for good."""

    def write(db: sqlite_utils.Database) -> None:
        status = PENDING if next_try is not None else REFUSED
        db.execute(
            "UPDATE report_mail SET status = ?, attempts = attempts + 1, last_error = ?,"
            " next_try = coalesce(?, next_try) WHERE id = ?",
            [status, error[:300], _when(next_try), mail_id],
        )

    write.__name__ = "report_mail_failed"
    return write


def mail_of(db: sqlite_utils.Database, report_id: UUID) -> list[dict[str, Any]]:
    """The e-mails of a report: to whom, sent or not (never the address to the page)."""
    return list(
        db.query(
            "SELECT user, status, attempts, sent_at, last_error FROM report_mail"
            " WHERE report_id = ? ORDER BY id",
            [str(report_id)],
        )
    )
