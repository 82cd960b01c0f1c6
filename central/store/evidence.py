"""The rows of one site that the evidence page counts (central.core.evidence), read from the
record as it is: alarms and their "I'm coming" events, meetings, incident reports and their
seen marks, test runs and the buttons their rounds ticked off, drills.

A thin query layer, and deliberately no more: it decides nothing. It reads a site's rows
around the period and hands them on as plain values; which of them fall in the period, and
what they add up to, the core decides (its tests check every boundary). Stored times are ISO
8601 text with their offset, so the text filter here takes two days either side of the period
(no stored offset is more than a day from UTC), and the core compares the times themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from central.core.evidence import (
    AlarmRow,
    DrillRow,
    MeetingRow,
    Period,
    ReportRow,
    RunRow,
)

MARGIN = timedelta(days=2)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SiteRows:
    alarms: tuple[AlarmRow, ...]
    meetings: tuple[MeetingRow, ...]
    reports: tuple[ReportRow, ...]
    runs: tuple[RunRow, ...]
    drills: tuple[DrillRow, ...]


def _around(period: Period) -> tuple[str, str]:
    return (period.start - MARGIN).isoformat(), (period.end + MARGIN).isoformat()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _comings(db: sqlite_utils.Database, alarm_ids: list[str]) -> dict[str, list[datetime]]:
    """alarm id → the times of its "I'm coming" events."""
    found: dict[str, list[datetime]] = {i: [] for i in alarm_ids}
    for chunk in _chunks(alarm_ids):
        marks = ", ".join("?" * len(chunk))
        for event in db.query(
            f"SELECT alarm_id, at FROM events WHERE kind = 'coming' AND alarm_id IN ({marks})",  # noqa: S608
            chunk,
        ):
            found[event["alarm_id"]].append(_time(event["at"]))
    return found


def alarms(db: sqlite_utils.Database, site: str, period: Period) -> tuple[AlarmRow, ...]:
    since, until = _around(period)
    rows = list(
        db.query(
            "SELECT alarm_id, level, source, raised_at, test, drill, stage, silent FROM alarms"
            " WHERE site = ? AND raised_at >= ? AND raised_at < ? ORDER BY raised_at",
            [site, since, until],
        )
    )
    coming = _comings(db, [r["alarm_id"] for r in rows])
    return tuple(
        AlarmRow(
            alarm_id=r["alarm_id"],
            level=r["level"] or "",
            source=r["source"] or "",
            raised_at=_time(r["raised_at"]),
            test=bool(r["test"]),
            drill=bool(r["drill"]),
            stage=int(r["stage"] or 0),
            silent=bool(r["silent"]),
            coming=tuple(coming[r["alarm_id"]]),
        )
        for r in rows
    )


def meetings(db: sqlite_utils.Database, site: str, period: Period) -> tuple[MeetingRow, ...]:
    since, until = _around(period)
    found = []
    for r in db.query(
        "SELECT meeting_id, start, colleagues, cancelled_at FROM meetings"
        " WHERE site = ? AND start >= ? AND start < ? ORDER BY start",
        [site, since, until],
    ):
        answers = [c.get("answer") for c in json.loads(r["colleagues"] or "[]")]
        found.append(
            MeetingRow(
                meeting_id=r["meeting_id"],
                start=_time(r["start"]),
                asked=len(answers),
                confirmed=answers.count("confirmed"),
                declined=answers.count("declined"),
                cancelled=bool(r["cancelled_at"]),
            )
        )
    return tuple(found)


def reports(db: sqlite_utils.Database, site: str, period: Period) -> tuple[ReportRow, ...]:
    since, until = _around(period)
    rows = list(
        db.query(
            "SELECT report_id, occurred_at, kinds, from_alarm, follow_up_needed, follow_up_at"
            " FROM reports WHERE site = ? AND occurred_at >= ? AND occurred_at < ?"
            " ORDER BY occurred_at",
            [site, since, until],
        )
    )
    seats: dict[str, set[str]] = {r["report_id"]: set() for r in rows}
    for chunk in _chunks(list(seats)):
        marks = ", ".join("?" * len(chunk))
        for mark in db.query(
            f"SELECT report_id, seat FROM report_seen WHERE report_id IN ({marks})",  # noqa: S608
            chunk,
        ):
            seats[mark["report_id"]].add(mark["seat"])
    return tuple(
        ReportRow(
            report_id=r["report_id"],
            occurred_at=_time(r["occurred_at"]),
            kinds=tuple(str(k) for k in json.loads(r["kinds"] or "[]")),
            from_alarm=bool(r["from_alarm"]),
            seen_by_leader="leader" in seats[r["report_id"]],
            seen_by_safety_rep="safety_rep" in seats[r["report_id"]],
            follow_up_needed=bool(r["follow_up_needed"]),
            followed_up=bool(r["follow_up_at"]),
        )
        for r in rows
    )


def runs(db: sqlite_utils.Database, site: str, period: Period) -> tuple[RunRow, ...]:
    since, until = _around(period)
    rows = list(
        db.query(
            "SELECT run_id, kind, trigger, started_at, result, late FROM test_runs"
            " WHERE site = ? AND started_at >= ? AND started_at < ? ORDER BY started_at",
            [site, since, until],
        )
    )
    rounds = [r["run_id"] for r in rows if r["kind"] == "manual_round"]
    ticked: dict[str, set[tuple[str, str]]] = {i: set() for i in rounds}
    for chunk in _chunks(rounds):
        marks = ", ".join("?" * len(chunk))
        for check in db.query(
            "SELECT run_id, device, input FROM test_checks"  # noqa: S608
            f" WHERE name = 'button' AND ok AND run_id IN ({marks})",
            chunk,
        ):
            ticked[check["run_id"]].add((check["device"] or "", check["input"] or ""))
    return tuple(
        RunRow(
            run_id=r["run_id"],
            kind=r["kind"] or "",
            trigger=r["trigger"] or "",
            started_at=_time(r["started_at"]),
            result=r["result"] or "",
            late=bool(r["late"]),
            buttons=frozenset(ticked.get(r["run_id"], ())),
        )
        for r in rows
    )


def drills(db: sqlite_utils.Database, site: str, period: Period) -> tuple[DrillRow, ...]:
    """The site's drills: when (the press; when recorded if the alarm is not stored)."""
    since, until = _around(period)
    rows: list[dict[str, Any]] = list(
        db.query(
            "SELECT d.alarm_id, d.recorded_at, a.raised_at, a.shown_at, a.resolved_at FROM drills d"
            " LEFT JOIN alarms a ON a.alarm_id = d.alarm_id"
            " WHERE d.site = ? AND COALESCE(a.raised_at, d.recorded_at) >= ?"
            " AND COALESCE(a.raised_at, d.recorded_at) < ?",
            [site, since, until],
        )
    )
    coming = _comings(db, [r["alarm_id"] for r in rows])
    return tuple(
        DrillRow(
            alarm_id=r["alarm_id"],
            at=_time(r["raised_at"] or r["recorded_at"]),
            pressed=_time(r["raised_at"]) if r["raised_at"] else None,
            coming=tuple(coming[r["alarm_id"]]),
            shown=_time(r["shown_at"]) if r["shown_at"] else None,
            resolved=_time(r["resolved_at"]) if r["resolved_at"] else None,
        )
        for r in rows
    )


def site_rows(db: sqlite_utils.Database, site: str, period: Period) -> SiteRows:
    """Everything the evidence counts for ``site`` around ``period``, in one read."""
    return SiteRows(
        alarms=alarms(db, site, period),
        meetings=meetings(db, site, period),
        reports=reports(db, site, period),
        runs=runs(db, site, period),
        drills=drills(db, site, period),
    )
