"""Incident reports (central.core.reports) on disk: the reports, who read them, the seen marks,
the asks after alarms and people's addresses — and the schema of every report table, the
e-mail outbox's (``central.store.report_mail``) and the retention job's
(``central.store.report_retention``) included: one feature, one schema.

Why so many tables, each small:

* ``reports`` holds a report whole (its follow-up included); ``report_seen`` one row per
  "seen" (a leader and a safety representative each mark their own, and a site may have two of
  each); ``report_reads`` is the read log the safety representative checks: one row per opening,
  never changed.
* ``report_asks`` keeps who was asked to file a report after which alarm, until they file it (or
  say it is not needed): a desk that was off when the alarm ended is asked when it connects, and
  the console lists them.
* ``report_mail`` is the e-mail outbox: a report stored *is* an e-mail owed to each recipient,
  written in the same transaction as the report, so neither an SMTP outage nor a restart of
  central loses one; a row is marked sent once the SMTP server accepted it.
* ``report_retention_runs`` records each run of the retention job (and each dry run), for the
  admin and the safety representative.
* ``contact_emails`` holds an e-mail address for a database account (a ``[[users]]`` entry of
  the config file has its ``email`` there); kept apart from ``accounts`` so that the address,
  used only for these notices, is added and removed without touching sign-in.

Every write is a function of a ``sqlite_utils.Database`` run inside the store writer's
transaction (or the CLI's own ``BEGIN IMMEDIATE``); reads run on the store's reader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlite_utils

from central.core.reports import (
    Ask,
    FollowUp,
    Injuries,
    Kind,
    Place,
    Report,
    Seat,
    Seen,
    Why,
)

REPORT_COLUMNS: dict[str, type] = {
    "report_id": str,
    "site": str,
    "filed_by": str,
    "filed_by_name": str,
    "filed_at": str,
    "alarm_id": str,
    "from_alarm": int,
    "kinds": str,  # JSON list
    "place": str,
    "room": str,
    "occurred_at": str,
    "injuries": str,
    "police": int,
    "follow_up_needed": int,
    "text": str,
    "follow_up_text": str,
    "follow_up_by": str,
    "follow_up_by_name": str,
    "follow_up_at": str,
    "anonymised_at": str,
}

PENDING = "pending"
SENT = "sent"
REFUSED = "refused"  # the SMTP server refused it for good (5xx): not tried again


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("reports").create(
        REPORT_COLUMNS,
        pk="report_id",
        not_null={"site", "filed_at", "kinds", "place", "occurred_at"},
        if_not_exists=True,
    )
    db.table("reports").create_index(["site"], if_not_exists=True)
    db.table("reports").create_index(["filed_by"], if_not_exists=True)
    db.table("report_seen").create(
        {"id": int, "report_id": str, "seat": str, "user": str, "name": str, "at": str},
        pk="id",
        not_null={"report_id", "seat", "at"},
        if_not_exists=True,
    )
    db.table("report_seen").create_index(["report_id"], if_not_exists=True)
    db.table("report_reads").create(
        {"id": int, "report_id": str, "user": str, "name": str, "as_": str, "at": str},
        pk="id",
        not_null={"report_id", "user", "at"},
        if_not_exists=True,
    )
    db.table("report_reads").create_index(["report_id"], if_not_exists=True)
    db.table("report_asks").create(
        {
            "alarm_id": str,
            "user": str,
            "site": str,
            "why": str,
            "room": str,
            "level": str,
            "raised_at": str,
            "resolved_at": str,
            "asked_at": str,
            "closed_at": str,
            "closed_how": str,  # filed, not_needed
            "report_id": str,
        },
        pk=("alarm_id", "user"),
        not_null={"site", "why", "asked_at"},
        if_not_exists=True,
    )
    db.table("report_mail").create(
        {
            "id": int,
            "report_id": str,
            "user": str,
            "address": str,
            "status": str,
            "attempts": int,
            "next_try": str,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        not_null={"report_id", "user", "address", "status", "next_try"},
        if_not_exists=True,
    )
    db.table("report_mail").create_index(["report_id", "user"], unique=True, if_not_exists=True)
    db.table("report_mail").create_index(["status", "next_try"], if_not_exists=True)
    db.table("report_retention_runs").create(
        {
            "run_id": str,
            "started_at": str,
            "by": str,
            "dry_run": int,
            "checked": int,
            "anonymised": int,
            "detail": str,  # JSON: {site: {"days": n, "anonymised": n}}
        },
        pk="run_id",
        not_null={"started_at", "by"},
        if_not_exists=True,
    )
    db.table("contact_emails").create(
        {"user_id": str, "email": str, "set_at": str}, pk="user_id", if_not_exists=True
    )


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- reports -------------------------------------------------------------------------------


def row(report: Report) -> dict[str, Any]:
    follow = report.follow_up
    return {
        "report_id": str(report.report_id),
        "site": report.site,
        "filed_by": report.filed_by,
        "filed_by_name": report.filed_by_name,
        "filed_at": _when(report.filed_at),
        "alarm_id": str(report.alarm_id) if report.alarm_id else None,
        "from_alarm": int(report.from_alarm),
        "kinds": json.dumps([k.value for k in report.kinds]),
        "place": report.place.value,
        "room": report.room,
        "occurred_at": _when(report.occurred_at),
        "injuries": report.injuries.value,
        "police": int(report.police),
        "follow_up_needed": int(report.follow_up_needed),
        "text": report.text,
        "follow_up_text": follow.text if follow else None,
        "follow_up_by": follow.by if follow else None,
        "follow_up_by_name": follow.by_name if follow else None,
        "follow_up_at": _when(follow.at) if follow else None,
        "anonymised_at": _when(report.anonymised_at),
    }


def report_of(found: dict[str, Any], seen: Iterable[dict[str, Any]] = ()) -> Report:
    at = _time(found["follow_up_at"])
    follow = None
    if at is not None:
        follow = FollowUp(
            found["follow_up_text"] or "",
            found["follow_up_by"] or "",
            found["follow_up_by_name"] or "",
            at,
        )
    return Report(
        report_id=UUID(found["report_id"]),
        site=found["site"],
        filed_by=found["filed_by"] or "",
        filed_by_name=found["filed_by_name"] or "",
        filed_at=datetime.fromisoformat(found["filed_at"]),
        alarm_id=UUID(found["alarm_id"]) if found["alarm_id"] else None,
        from_alarm=bool(found["from_alarm"]),
        kinds=tuple(Kind(k) for k in json.loads(found["kinds"])),
        place=Place(found["place"]),
        room=found["room"] or "",
        occurred_at=datetime.fromisoformat(found["occurred_at"]),
        injuries=Injuries(found["injuries"]),
        police=bool(found["police"]),
        follow_up_needed=bool(found["follow_up_needed"]),
        text=found["text"] or "",
        seen=tuple(
            Seen(Seat(s["seat"]), s["user"] or "", s["name"] or "", datetime.fromisoformat(s["at"]))
            for s in seen
        ),
        follow_up=follow,
        anonymised_at=_time(found["anonymised_at"]),
    )


def _with_seen(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> list[Report]:
    if not rows:
        return []
    ids = [r["report_id"] for r in rows]
    marks: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for mark in db.query(
            f"SELECT * FROM report_seen WHERE report_id IN ({', '.join('?' * len(chunk))})"  # noqa: S608
            " ORDER BY id",
            chunk,
        ):
            marks[mark["report_id"]].append(mark)
    return [report_of(r, marks[r["report_id"]]) for r in rows]


def report(db: sqlite_utils.Database, report_id: UUID) -> Report | None:
    rows = list(db.query("SELECT * FROM reports WHERE report_id = ?", [str(report_id)]))
    found = _with_seen(db, rows)
    return found[0] if found else None


def listed(
    db: sqlite_utils.Database,
    *,
    sites: frozenset[str] | None = None,
    filed_by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[Report]:
    """Newest first: the reports of ``sites`` (None: every site) and/or filed by ``filed_by``;
    ``since``/``until`` on when it happened."""
    clauses: list[str] = []
    params: list[Any] = []
    if sites is not None:
        if not sites:
            return []
        clauses.append(f"site IN ({', '.join('?' * len(sites))})")
        params += sorted(sites)
    if filed_by is not None:
        clauses.append("filed_by = ?")
        params.append(filed_by)
    if since is not None:
        clauses.append("occurred_at >= ?")
        params.append(_when(since))
    if until is not None:
        clauses.append("occurred_at < ?")
        params.append(_when(until))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = list(
        db.query(
            f"SELECT * FROM reports {where} ORDER BY filed_at DESC, report_id LIMIT ?",  # noqa: S608
            [*params, limit],
        )
    )
    return _with_seen(db, rows)


def filed(
    report: Report, closed: list[Ask], mails: list[tuple[str, str]], now: datetime
) -> Callable[[sqlite_utils.Database], None]:
    """One transaction: the report, the asks it answers closed, and an e-mail owed to each of
    ``mails`` (user, address): a report is never stored without its notices."""

    def write(db: sqlite_utils.Database) -> None:
        db.table("reports").insert(row(report))
        for ask in closed:
            close_ask(db, ask.alarm_id, ask.user, "filed", now, report.report_id)
        for user, address in mails:
            db.execute(
                "INSERT OR IGNORE INTO report_mail (report_id, user, address, status, attempts,"
                " next_try, last_error, created_at) VALUES (?, ?, ?, ?, 0, ?, '', ?)",
                [str(report.report_id), user, address, PENDING, _when(now), _when(now)],
            )

    write.__name__ = "report_filed"
    return write


def seen_added(report_id: UUID, marks: tuple[Seen, ...]) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        for mark in marks:
            db.table("report_seen").insert(
                {
                    "report_id": str(report_id),
                    "seat": mark.seat.value,
                    "user": mark.user,
                    "name": mark.name,
                    "at": _when(mark.at),
                }
            )

    write.__name__ = "report_seen"
    return write


def followed_up(report_id: UUID, follow: FollowUp) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        db.execute(
            "UPDATE reports SET follow_up_text = ?, follow_up_by = ?, follow_up_by_name = ?,"
            " follow_up_at = ? WHERE report_id = ? AND anonymised_at IS NULL",
            [follow.text, follow.by, follow.by_name, _when(follow.at), str(report_id)],
        )

    write.__name__ = "report_followed_up"
    return write


# --- the read log --------------------------------------------------------------------------


def read_logged(
    report_ids: Iterable[UUID], user: str, name: str, as_: str, now: datetime
) -> Callable[[sqlite_utils.Database], None]:
    """A line in the read log of each of ``report_ids`` (one opening, or one export)."""
    found = [
        {"report_id": str(i), "user": user, "name": name, "as_": as_, "at": _when(now)}
        for i in report_ids
    ]

    def write(db: sqlite_utils.Database) -> None:
        if found:
            db.table("report_reads").insert_all(found)

    write.__name__ = "report_read"
    return write


@dataclass(frozen=True, slots=True)
class Read:
    user: str
    name: str
    as_: str  # own, leader, safety_rep, admin (comma-separated when several)
    at: datetime


def reads(db: sqlite_utils.Database, report_id: UUID) -> list[Read]:
    return [
        Read(r["user"], r["name"] or r["user"], r["as_"] or "", datetime.fromisoformat(r["at"]))
        for r in db.query(
            "SELECT * FROM report_reads WHERE report_id = ? ORDER BY id", [str(report_id)]
        )
    ]


# --- asks after an alarm -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredAsk:
    """An ask with what the desk's prompt names: the alarm's room, level and times."""

    ask: Ask
    room: str
    level: str
    raised_at: datetime
    resolved_at: datetime | None
    asked_at: datetime
    closed_at: datetime | None = None
    closed_how: str = ""
    report_id: UUID | None = None


def _ask_of(r: dict[str, Any]) -> StoredAsk:
    return StoredAsk(
        Ask(UUID(r["alarm_id"]), r["site"], r["user"], Why(r["why"])),
        r["room"] or "",
        r["level"] or "assist",
        datetime.fromisoformat(r["raised_at"] or r["asked_at"]),
        _time(r["resolved_at"]),
        datetime.fromisoformat(r["asked_at"]),
        _time(r["closed_at"]),
        r["closed_how"] or "",
        UUID(r["report_id"]) if r["report_id"] else None,
    )


def asked(asks: tuple[StoredAsk, ...]) -> Callable[[sqlite_utils.Database], None]:
    """Keep the asks (an ask already kept stays as it was: asked once per alarm and person)."""

    def write(db: sqlite_utils.Database) -> None:
        for found in asks:
            ask = found.ask
            db.execute(
                "INSERT OR IGNORE INTO report_asks (alarm_id, user, site, why, room, level,"
                " raised_at, resolved_at, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    str(ask.alarm_id),
                    ask.user,
                    ask.site,
                    ask.why.value,
                    found.room,
                    found.level,
                    _when(found.raised_at),
                    _when(found.resolved_at),
                    _when(found.asked_at),
                ],
            )

    write.__name__ = "report_asked"
    return write


def asks(db: sqlite_utils.Database, *, open_only: bool = True) -> list[StoredAsk]:
    where = "WHERE closed_at IS NULL" if open_only else ""
    query = f"SELECT * FROM report_asks {where} ORDER BY asked_at, user"  # noqa: S608
    return [_ask_of(r) for r in db.query(query)]


def asked_alarms(db: sqlite_utils.Database, since: datetime) -> set[UUID]:
    """The alarms someone was asked about since ``since`` (open or not)."""
    return {
        UUID(r["alarm_id"])
        for r in db.query("SELECT alarm_id FROM report_asks WHERE asked_at >= ?", [_when(since)])
    }


def close_ask(
    db: sqlite_utils.Database,
    alarm_id: UUID,
    user: str,
    how: str,
    now: datetime,
    report_id: UUID | None = None,
) -> None:
    db.execute(
        "UPDATE report_asks SET closed_at = ?, closed_how = ?, report_id = ?"
        " WHERE alarm_id = ? AND user = ? AND closed_at IS NULL",
        [_when(now), how, str(report_id) if report_id else None, str(alarm_id), user],
    )


def ask_closed(
    alarm_id: UUID, user: str, how: str, now: datetime
) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        close_ask(db, alarm_id, user, how, now)

    write.__name__ = "report_ask_closed"
    return write


# --- addresses -----------------------------------------------------------------------------


def contacts(db: sqlite_utils.Database) -> dict[str, str]:
    return {str(r["user_id"]): str(r["email"]) for r in db.query("SELECT * FROM contact_emails")}


def set_contact(db: sqlite_utils.Database, user_id: str, email: str | None, now: datetime) -> None:
    if email is None:
        db.execute("DELETE FROM contact_emails WHERE user_id = ?", [user_id])
        return
    db.table("contact_emails").upsert(
        {"user_id": user_id, "email": email, "set_at": _when(now)}, pk="user_id"
    )
