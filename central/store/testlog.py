"""The test log in SQLite: self-test runs, their checks, schedule claims, and known devices.

Writes are functions of the db handed to :meth:`central.store.Store.submit` (they run on the
writer thread, inside its transaction); reads are functions for :meth:`Store.read`. Times are
ISO 8601 strings with their offset, so they sort and filter as text within one offset (central
writes UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from protocol import CheckResult

Write = Callable[[sqlite_utils.Database], None]

RUN_COLUMNS: dict[str, type] = {
    "run_id": str,
    "kind": str,  # device_selftest | e2e_test_alarm | manual_round
    "schedule_id": str,  # "" when started by hand
    "trigger": str,  # schedule | manual | round
    "site": str,
    "device": str,  # "" for a site-wide run
    "slot": str,  # the schedule's slot ("" when started by hand)
    "late": int,
    "started_at": str,
    "deadline": str,
    "finished_at": str,
    "result": str,  # open | passed | failed | missed | due
    "reason": str,
    "tester": str,  # the user who started it (manual runs, rounds)
}
CHECK_COLUMNS: dict[str, type] = {
    "id": int,
    "run_id": str,
    "name": str,
    "ok": int,
    "detail": str,
    "value": float,
    "at": str,
    "device": str,
    "input": str,
}


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("test_runs").create(RUN_COLUMNS, pk="run_id", if_not_exists=True)
    db.table("test_runs").create_index(["site", "started_at"], if_not_exists=True)
    db.table("test_checks").create(CHECK_COLUMNS, pk="id", if_not_exists=True)
    db.table("test_checks").create_index(["run_id"], if_not_exists=True)
    db.table("schedule_claims").create(
        {"schedule_id": str, "slot": str}, pk="schedule_id", if_not_exists=True
    )
    db.table("faults").create(
        {
            "id": int,
            "site": str,
            "device": str,
            "kind": str,
            "reason": str,
            "raised_at": str,
            "cleared_at": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("devices").create(
        {"site": str, "device": str, "inputs": str, "first_seen": str, "last_seen": str},
        pk=("site", "device"),
        if_not_exists=True,
    )


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    ok: bool
    detail: str = ""
    value: float | None = None
    device: str = ""
    input: str = ""

    @classmethod
    def of(cls, result: CheckResult, device: str = "") -> CheckRow:
        return cls(result.name, result.ok, result.detail, result.value, device)


# --- writes --------------------------------------------------------------------------------


def save_claims(claims: dict[str, datetime]) -> Write:
    rows = [{"schedule_id": k, "slot": v.isoformat()} for k, v in claims.items()]

    def write(db: sqlite_utils.Database) -> None:
        if rows:
            db.table("schedule_claims").upsert_all(rows, pk="schedule_id")

    return write


def start_run(**run: Any) -> Write:
    row = {column: "" for column in RUN_COLUMNS if column != "late"} | {"late": 0}
    row.update({k: _text(v) for k, v in run.items()})
    row["late"] = int(bool(run.get("late", False)))

    def write(db: sqlite_utils.Database) -> None:
        db.table("test_runs").insert(row, ignore=True)

    return write


def finish_run(
    run_id: str,
    result: str,
    reason: str,
    finished_at: datetime,
    checks: Iterable[CheckRow],
    *,
    replace_checks: bool = False,
) -> Write:
    at = finished_at.isoformat()
    rows = [_check_row(run_id, check, at) for check in checks]

    def write(db: sqlite_utils.Database) -> None:
        if replace_checks:
            db.execute("DELETE FROM test_checks WHERE run_id = ?", [run_id])
        db.table("test_runs").update(
            run_id, {"result": result, "reason": reason, "finished_at": at}
        )
        if rows:
            db.table("test_checks").insert_all(rows)

    return write


def abandon_open_runs(at: datetime, reason: str) -> Write:
    """Runs left open by an earlier central (stopped before their answer): failed, and why."""

    def write(db: sqlite_utils.Database) -> None:
        db.execute(
            "UPDATE test_runs SET result = 'failed', reason = ?, finished_at = ?"
            " WHERE result = 'open' AND kind != 'manual_round'",
            [reason, at.isoformat()],
        )

    return write


def add_checks(run_id: str, at: datetime, checks: Iterable[CheckRow]) -> Write:
    rows = [_check_row(run_id, check, at.isoformat()) for check in checks]

    def write(db: sqlite_utils.Database) -> None:
        db.table("test_checks").insert_all(rows)

    return write


def saw_device(site: str, device: str, inputs: tuple[str, ...], now: datetime) -> Write:
    at = now.isoformat()

    def write(db: sqlite_utils.Database) -> None:
        db.execute(
            "INSERT INTO devices (site, device, inputs, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (site, device) DO UPDATE SET"
            " last_seen = excluded.last_seen,"
            " inputs = CASE WHEN excluded.inputs = '[]' THEN devices.inputs"
            " ELSE excluded.inputs END",
            [site, device, json.dumps(list(inputs)), at, at],
        )

    return write


def fault_raised(site: str, device: str, kind: str, reason: str, at: datetime) -> Write:
    row = {"site": site, "device": device, "kind": kind, "reason": reason}

    def write(db: sqlite_utils.Database) -> None:
        db.table("faults").insert({**row, "raised_at": at.isoformat(), "cleared_at": None})

    return write


def fault_cleared(site: str, device: str, kind: str, reason: str, at: datetime) -> Write:
    def write(db: sqlite_utils.Database) -> None:
        db.execute(
            "UPDATE faults SET cleared_at = ? WHERE site = ? AND device = ? AND kind = ?"
            " AND reason = ? AND cleared_at IS NULL",
            [at.isoformat(), site, device, kind, reason],
        )

    return write


def _check_row(run_id: str, check: CheckRow, at: str) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "name": check.name,
        "ok": int(check.ok),
        "detail": check.detail,
        "value": check.value,
        "at": at,
        "device": check.device,
        "input": check.input,
    }


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return ""
    return value if isinstance(value, int | float) else str(value)


# --- reads ---------------------------------------------------------------------------------


def claims(db: sqlite_utils.Database) -> dict[str, datetime]:
    return {
        row["schedule_id"]: datetime.fromisoformat(row["slot"])
        for row in db.query("SELECT schedule_id, slot FROM schedule_claims")
    }


def devices(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    rows = db.query("SELECT * FROM devices ORDER BY site, device")
    return [{**row, "inputs": json.loads(row["inputs"] or "[]")} for row in rows]


@dataclass(frozen=True, slots=True)
class RunFilter:
    sites: frozenset[str] | None = None  # None: every site
    site: str | None = None
    device: str | None = None
    kind: str | None = None
    result: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 500

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.sites is not None:
            clauses.append(f"r.site IN ({', '.join('?' * len(self.sites)) or 'NULL'})")
            params += sorted(self.sites)
        for column, value in (
            ("site", self.site),
            ("device", self.device),
            ("kind", self.kind),
            ("result", self.result),
        ):
            if value is not None:
                clauses.append(f"r.{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append("r.started_at >= ?")
            params.append(self.since.isoformat())
        if self.until is not None:
            clauses.append("r.started_at < ?")
            params.append(self.until.isoformat())
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def runs(db: sqlite_utils.Database, where: RunFilter) -> list[dict[str, Any]]:
    """Newest first, each with its checks."""
    clause, params = where.where()
    found = [
        {**row, "late": bool(row["late"])}
        for row in db.query(
            f"SELECT r.* FROM test_runs r {clause} ORDER BY r.started_at DESC, r.rowid DESC"
            " LIMIT ?",
            [*params, where.limit],
        )
    ]
    if not found:
        return []
    by_id: dict[str, list[dict[str, Any]]] = {r["run_id"]: [] for r in found}
    ids = list(by_id)
    for check in db.query(
        f"SELECT * FROM test_checks WHERE run_id IN ({', '.join('?' * len(ids))}) ORDER BY id",
        ids,
    ):
        check.pop("id")
        by_id[check.pop("run_id")].append({**check, "ok": bool(check["ok"])})
    return [{**run, "checks": by_id[run["run_id"]]} for run in found]


def run(db: sqlite_utils.Database, run_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM test_runs WHERE run_id = ?", [run_id]))
    if not rows:
        return None
    checks = [
        {**{k: v for k, v in c.items() if k not in ("id", "run_id")}, "ok": bool(c["ok"])}
        for c in db.query("SELECT * FROM test_checks WHERE run_id = ? ORDER BY id", [run_id])
    ]
    return {**rows[0], "late": bool(rows[0]["late"]), "checks": checks}


CSV_COLUMNS = (
    "run_id",
    "kind",
    "schedule_id",
    "trigger",
    "site",
    "device",
    "slot",
    "late",
    "started_at",
    "finished_at",
    "result",
    "reason",
    "check",
    "check_device",
    "input",
    "ok",
    "detail",
    "value",
    "checked_at",
)


def check_table(db: sqlite_utils.Database, where: RunFilter) -> list[tuple[Any, ...]]:
    """One row per check (a run without checks, e.g. a missed slot, is one row too)."""
    clause, params = where.where()
    rows = db.query(
        "SELECT r.run_id, r.kind, r.schedule_id, r.trigger, r.site, r.device, r.slot, r.late,"
        " r.started_at, r.finished_at, r.result, r.reason, c.name AS check_name,"
        " c.device AS check_device, c.input, c.ok, c.detail, c.value, c.at"
        f" FROM test_runs r LEFT JOIN test_checks c ON c.run_id = r.run_id {clause}"
        " ORDER BY r.started_at, r.rowid, c.id"
        " LIMIT ?",
        [*params, where.limit * 50],
    )
    table = []
    for row in rows:
        values = list(row.values())
        values[7] = "yes" if values[7] else "no"  # late
        if values[15] is not None:
            values[15] = "yes" if values[15] else "no"  # ok
        table.append(tuple("" if v is None else v for v in values))
    return table


def last_passed(db: sqlite_utils.Database) -> dict[tuple[str, str, str, str], datetime]:
    """(kind, site, device, input) → when it last passed; buttons from rounds' ticks."""
    found: dict[tuple[str, str, str, str], datetime] = {}
    for row in db.query(
        "SELECT kind, site, device, MAX(finished_at) AS at FROM test_runs"
        " WHERE result = 'passed' AND kind != 'manual_round' GROUP BY kind, site, device"
    ):
        found[(row["kind"], row["site"], row["device"], "")] = datetime.fromisoformat(row["at"])
    for row in db.query(
        "SELECT r.site, c.device, c.input, MAX(c.at) AS at FROM test_checks c"
        " JOIN test_runs r ON r.run_id = c.run_id"
        " WHERE r.kind = 'manual_round' AND c.name = 'button' AND c.ok"
        " GROUP BY r.site, c.device, c.input"
    ):
        key = ("manual_round", row["site"], row["device"], row["input"])
        found[key] = datetime.fromisoformat(row["at"])
    return found


def open_rounds(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Rounds still open (to carry on after a restart), with their ticks so far."""
    rounds = list(
        db.query("SELECT * FROM test_runs WHERE kind = 'manual_round' AND result = 'open'")
    )
    for found in rounds:
        found["ticks"] = list(
            db.query(
                "SELECT device, input, ok, detail, at FROM test_checks WHERE run_id = ?"
                " ORDER BY id",
                [found["run_id"]],
            )
        )
    return rounds
