"""Reads the console needs beyond the API's: timelines, one alarm, last self-tests, the chart."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlite_utils

from central.store.rows import alarm_view


def timelines(db: sqlite_utils.Database, alarm_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in alarm_ids}
    if not alarm_ids:
        return found
    for event in db.query(
        "SELECT alarm_id, kind, at, actor, detail FROM events"
        f" WHERE alarm_id IN ({', '.join('?' * len(alarm_ids))}) ORDER BY id",
        alarm_ids,
    ):
        found[event.pop("alarm_id")].append(event)
    return found


def alarm(db: sqlite_utils.Database, alarm_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM alarms WHERE alarm_id = ?", [alarm_id]))
    if not rows:
        return None
    return {
        **alarm_view(rows[0]).model_dump(mode="json"),
        "events": timelines(db, [alarm_id])[alarm_id],
    }


def last_selftests(db: sqlite_utils.Database) -> dict[tuple[str, str], dict[str, Any]]:
    """(site, device) → the latest device self-test run: when and how it went."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in db.query(
        "SELECT site, device, started_at, result, reason FROM test_runs"
        " WHERE kind = 'device_selftest' ORDER BY started_at"
    ):
        found[(row["site"], row["device"])] = row
    return found


def on_time_by_month(
    db: sqlite_utils.Database, sites: frozenset[str] | None
) -> dict[str, dict[str, tuple[int, int]]]:
    """site → month (YYYY-MM) → (tests passed on time, tests due): the chart's bars."""
    chart: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in db.query(
        "SELECT site, substr(started_at, 1, 7) AS month,"
        " SUM(result = 'passed' AND NOT late) AS on_time, COUNT(*) AS due FROM test_runs"
        " WHERE result != 'open' GROUP BY site, month ORDER BY site, month"
    ):
        if sites is None or row["site"] in sites:
            chart[row["site"]][row["month"]] = (int(row["on_time"] or 0), int(row["due"]))
    return dict(chart)
