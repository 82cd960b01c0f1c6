"""The incident reports' retention job on disk: anonymise what is older than its site keeps
reports, empty the write-ahead log after, and record each run (``report_retention_runs``).

Run by central on its schedule (``central.reports``) and by ``trygg-central reports purge``
(``central.reports_cli``), each inside one write transaction, so a run and what it did are
stored together. What anonymising keeps and why is ``central.core.reports.anonymised``'s (and
docs/reports.md, "Retention"); this module writes it: the report anew under its new id, its
read log, e-mails and asks gone, ``secure_delete`` on. The table is made with the other report
tables (``central.store.reports.create_schema``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

import sqlite_utils

from central.core.reports import Report, anonymised, due_for_retention
from central.store.reports import _time, _when, _with_seen, row, seen_added

#: How long :func:`forget_freed` waits for other connections; the store's usual wait after.
FORGET_WAIT_MS = 200
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True, slots=True)
class RetentionRun:
    run_id: str
    started_at: datetime
    by: str
    dry_run: bool
    checked: int | None  # None: not known for the sites shown (a run before per-site counts)
    anonymised: int
    detail: dict[str, dict[str, int]]  # site: {"days", "checked", "anonymised"}


def purge(
    db: sqlite_utils.Database,
    run_id: str,
    now: datetime,
    days_of: Callable[[str], int],
    by: str,
    dry_run: bool = False,
) -> RetentionRun:
    """Anonymise every report older than its site's retention (``days_of(site)``): it gets a
    new id (its seen marks too), remove its read log, e-mails and asks, and record the run (a
    dry run changes nothing but its own record). Call inside one write transaction: the run and
    what it did are stored together.

    An anonymised report is written anew, not updated: deleted and inserted under its new id,
    in the order of the new (random) ids, so not even the table's row order says which report
    it was. ``secure_delete`` zeroes what is deleted (set here too, for a connection that is
    not the store's); :func:`forget_freed` then empties the write-ahead log."""
    db.execute("PRAGMA secure_delete = ON")
    rows = list(db.query("SELECT * FROM reports WHERE anonymised_at IS NULL"))
    found = _with_seen(db, rows)
    detail: dict[str, dict[str, int]] = {}
    due: list[Report] = []
    for report in found:
        days = days_of(report.site)
        site = detail.setdefault(report.site, {"days": days, "checked": 0, "anonymised": 0})
        site["checked"] += 1
        if due_for_retention(report, now, days):
            site["anonymised"] += 1
            due.append(report)
    if not dry_run:
        kept = sorted((anonymised(r, now, uuid4()) for r in due), key=lambda r: str(r.report_id))
        for report in due:
            old = [str(report.report_id)]
            for table in ("report_seen", "report_reads", "report_mail", "report_asks"):
                db.execute(f"DELETE FROM {table} WHERE report_id = ?", old)  # noqa: S608
            db.execute("DELETE FROM reports WHERE report_id = ?", old)
        for report in kept:
            db.table("reports").insert(row(report))
            seen_added(report.report_id, report.seen)(db)
        # Asks as old as their site's setting (answered or not) name people: gone too.
        for site_row in list(db.query("SELECT DISTINCT site FROM report_asks")):
            cutoff = now - timedelta(days=days_of(site_row["site"]))
            db.execute(
                "DELETE FROM report_asks WHERE site = ? AND asked_at <= ?",
                [site_row["site"], _when(cutoff)],
            )
    run = RetentionRun(run_id, now, by, dry_run, len(found), len(due), detail)
    db.table("report_retention_runs").insert(
        {
            "run_id": run_id,
            "started_at": _when(now),
            "by": by,
            "dry_run": int(dry_run),
            "checked": run.checked,
            "anonymised": run.anonymised,
            "detail": json.dumps(detail, sort_keys=True),
        }
    )
    return run


def forget_freed(db: sqlite_utils.Database) -> bool:
    """Empty the write-ahead log (``wal_checkpoint(TRUNCATE)``) after reports were anonymised:
    older copies of their pages may sit in it, and past its end, until it is overwritten.
    Waits at most a moment for other connections (while it waits, new writes wait too), so it
    can only delay an alarm's commit by that moment; False if it could not finish now (the
    next run tries again). Call outside a transaction."""
    db.execute(f"PRAGMA busy_timeout = {FORGET_WAIT_MS}")
    try:
        busy, _, _ = next(iter(db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()))
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return not busy


def runs(db: sqlite_utils.Database, limit: int = 50) -> list[RetentionRun]:
    return [
        RetentionRun(
            r["run_id"],
            datetime.fromisoformat(r["started_at"]),
            r["by"],
            bool(r["dry_run"]),
            int(r["checked"] or 0),
            int(r["anonymised"] or 0),
            json.loads(r["detail"] or "{}"),
        )
        for r in db.query(
            "SELECT * FROM report_retention_runs ORDER BY started_at DESC LIMIT ?", [limit]
        )
    ]


def last_run(db: sqlite_utils.Database) -> datetime | None:
    """When the retention job last ran for real (not a dry run)."""
    found = list(
        db.query("SELECT max(started_at) AS t FROM report_retention_runs WHERE NOT dry_run")
    )
    return _time(found[0]["t"]) if found else None
