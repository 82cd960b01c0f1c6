"""Drills, training and routines read, on disk (STANDARD 1.1, 3.6, 4.1, 4.2).

Rows are the record the office shows at its yearly review, so none is ever deleted:

* ``drill_modes``: each time a room was put in drill mode, by whom, for how long, how it ended;
* ``drills``: a row per drill alarm (its ``alarm_id``), saying which mode or console raise made
  it, which scenario it rehearsed and who was in the room, and the leader's evaluation note.
  Its times are *not* copied here: the drill log reads them from the alarm record itself
  (``alarms`` and ``events``: central.core.drills.drill_times);
* ``trainings`` and ``training_people``: trainings a leader records by hand;
* ``routine_reads``: who confirmed which version of the routines, and when;
* ``drill_plan_seen``: when central first knew of each site's plan and scenario ("never
  drilled" is overdue from then, as an untested device is in the test log).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlite_utils

from central.core.drills import DrillMode, Held, Someone, Step
from central.store.rows import alarm_view
from protocol.screen import AlarmView

Write = Callable[[sqlite_utils.Database], None]


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("drill_modes").create(
        {
            "mode_id": str,
            "site": str,
            "room": str,
            "devices": str,  # JSON list
            "scenario": str,
            "started_by": str,
            "started_by_name": str,
            "started_at": str,
            "until": str,
            "in_room": str,  # JSON list of [user, name]
            "ended_at": str,
            "ended_by": str,
        },
        pk="mode_id",
        not_null={"site", "room", "started_at", "until"},
        if_not_exists=True,
    )
    db.table("drills").create(
        {
            "alarm_id": str,
            "site": str,
            "room": str,
            "kind": str,  # "mode": a press in drill mode; "console": raised from the console
            "mode_id": str,
            "scenario": str,
            "started_by": str,
            "started_by_name": str,
            "in_room": str,  # JSON list of [user, name]
            "recorded_at": str,
            "evaluation": str,
            "evaluated_by": str,
            "evaluated_by_name": str,
            "evaluated_at": str,
        },
        pk="alarm_id",
        not_null={"site", "kind", "recorded_at"},
        if_not_exists=True,
    )
    db.table("drills").create_index(["site"], if_not_exists=True)
    db.table("trainings").create(
        {
            "training_id": str,
            "site": str,
            "held_on": str,
            "title": str,
            "added_by": str,
            "added_by_name": str,
            "added_at": str,
        },
        pk="training_id",
        not_null={"site", "held_on", "title", "added_at"},
        if_not_exists=True,
    )
    db.table("training_people").create(
        {"training_id": str, "user_id": str, "name": str},
        pk=("training_id", "user_id"),
        if_not_exists=True,
    )
    db.table("training_people").create_index(["user_id"], if_not_exists=True)
    db.table("routine_reads").create(
        {"user_id": str, "version": str, "name": str, "read_at": str},
        pk=("user_id", "version"),
        not_null={"read_at"},
        if_not_exists=True,
    )
    db.table("drill_plan_seen").create(
        {"site": str, "scenario": str, "first_seen": str},
        pk=("site", "scenario"),
        if_not_exists=True,
    )


def _people(value: str | None) -> tuple[Someone, ...]:
    return tuple((str(u), str(n)) for u, n in json.loads(value or "[]"))


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- drill modes ------------------------------------------------------------------------------


def mode_saved(mode: DrillMode) -> Write:
    """The mode, written whole (started, or ended)."""

    def write(db: sqlite_utils.Database) -> None:
        db.table("drill_modes").upsert(
            {
                "mode_id": str(mode.mode_id),
                "site": mode.site,
                "room": mode.room,
                "devices": json.dumps(sorted(mode.devices)),
                "scenario": mode.scenario,
                "started_by": mode.started_by[0],
                "started_by_name": mode.started_by[1],
                "started_at": mode.started_at.isoformat(),
                "until": mode.until.isoformat(),
                "in_room": json.dumps(mode.in_room, ensure_ascii=False),
                "ended_at": _when(mode.ended_at),
                "ended_by": mode.ended_by,
            },
            pk="mode_id",
        )

    write.__name__ = "drill_mode_saved"
    return write


def _mode(row: dict[str, Any]) -> DrillMode:
    return DrillMode(
        mode_id=UUID(row["mode_id"]),
        site=row["site"],
        room=row["room"],
        devices=frozenset(json.loads(row["devices"] or "[]")),
        scenario=row["scenario"] or "",
        started_by=(row["started_by"] or "", row["started_by_name"] or ""),
        started_at=datetime.fromisoformat(row["started_at"]),
        until=datetime.fromisoformat(row["until"]),
        in_room=_people(row["in_room"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        ended_by=row["ended_by"] or "",
    )


def open_modes(db: sqlite_utils.Database) -> list[DrillMode]:
    """Modes not recorded as ended (the book's restore; expired ones end at their ``until``)."""
    return [_mode(r) for r in db.query("SELECT * FROM drill_modes WHERE ended_at IS NULL")]


def modes(
    db: sqlite_utils.Database, sites: frozenset[str] | None, limit: int = 50
) -> list[DrillMode]:
    """The newest modes of ``sites`` (None: all)."""
    rows = db.query("SELECT * FROM drill_modes ORDER BY started_at DESC LIMIT ?", [limit * 4])
    return [m for m in map(_mode, rows) if sites is None or m.site in sites][:limit]


# --- drills -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrillInfo:
    """What central knows of a drill beside its alarm: how it came about."""

    kind: str  # "mode" or "console"
    scenario: str
    started_by: Someone
    in_room: tuple[Someone, ...] = ()
    mode_id: UUID | None = None


def drill_recorded(alarm: AlarmView, info: DrillInfo, now: datetime) -> Write:
    """A drill alarm was opened: its row (once; a resend or a retried write changes nothing)."""

    def write(db: sqlite_utils.Database) -> None:
        db.table("drills").insert(
            {
                "alarm_id": str(alarm.alarm_id),
                "site": alarm.site,
                "room": alarm.room,
                "kind": info.kind,
                "mode_id": str(info.mode_id) if info.mode_id else None,
                "scenario": info.scenario,
                "started_by": info.started_by[0],
                "started_by_name": info.started_by[1],
                "in_room": json.dumps(info.in_room, ensure_ascii=False),
                "recorded_at": now.isoformat(),
                "evaluation": "",
            },
            ignore=True,
        )

    write.__name__ = "drill_recorded"
    return write


def evaluated(alarm_id: UUID, note: str, by: Someone, now: datetime) -> Write:
    """The leader's evaluation note on a drill (written again: the newest note stands; the
    audit trail keeps that it changed)."""

    def write(db: sqlite_utils.Database) -> None:
        db.execute(
            "UPDATE drills SET evaluation = ?, evaluated_by = ?, evaluated_by_name = ?,"
            " evaluated_at = ? WHERE alarm_id = ?",
            [note, by[0], by[1], now.isoformat(), str(alarm_id)],
        )

    write.__name__ = "drill_evaluated"
    return write


@dataclass(frozen=True, slots=True)
class DrillRow:
    """A drill as the log shows it: its record, its alarm as stored, and its timeline."""

    alarm_id: str
    site: str
    room: str
    kind: str
    scenario: str
    started_by: Someone
    in_room: tuple[Someone, ...]
    evaluation: str
    evaluated_by: str
    evaluated_at: datetime | None
    alarm: AlarmView | None  # None: the alarm's first write has not committed yet
    steps: tuple[Step, ...]


def drills(
    db: sqlite_utils.Database, sites: frozenset[str] | None, limit: int = 200
) -> list[DrillRow]:
    """The newest drills of ``sites`` (None: all), each with its alarm and timeline."""
    params: list[Any] = []
    where = ""
    if sites is not None:
        if not sites:
            return []
        where = f"WHERE d.site IN ({', '.join('?' * len(sites))})"
        params = sorted(sites)
    rows = list(
        db.query(
            f"SELECT d.*, a.raised_at AS a_raised FROM drills d"  # noqa: S608 (placeholders)
            f" LEFT JOIN alarms a ON a.alarm_id = d.alarm_id {where}"
            f" ORDER BY COALESCE(a.raised_at, d.recorded_at) DESC LIMIT ?",
            [*params, limit],
        )
    )
    ids = [r["alarm_id"] for r in rows]
    alarms: dict[str, AlarmView] = {}
    steps: dict[str, list[Step]] = {i: [] for i in ids}
    if ids:
        marks = ", ".join("?" * len(ids))
        alarm_rows = db.query(f"SELECT * FROM alarms WHERE alarm_id IN ({marks})", ids)  # noqa: S608
        for found in alarm_rows:
            alarms[found["alarm_id"]] = alarm_view(found)
        for event in db.query(
            f"SELECT alarm_id, kind, at, actor, detail FROM events WHERE alarm_id IN ({marks})"  # noqa: S608
            " ORDER BY id",
            ids,
        ):
            steps[event["alarm_id"]].append(
                Step(
                    event["kind"],
                    datetime.fromisoformat(event["at"]),
                    event["actor"] or "",
                    event["detail"] or "",
                )
            )
    return [
        DrillRow(
            alarm_id=r["alarm_id"],
            site=r["site"],
            room=r["room"] or "",
            kind=r["kind"],
            scenario=r["scenario"] or "",
            started_by=(r["started_by"] or "", r["started_by_name"] or ""),
            in_room=_people(r["in_room"]),
            evaluation=r["evaluation"] or "",
            evaluated_by=r["evaluated_by_name"] or r["evaluated_by"] or "",
            evaluated_at=datetime.fromisoformat(r["evaluated_at"]) if r["evaluated_at"] else None,
            alarm=alarms.get(r["alarm_id"]),
            steps=tuple(steps[r["alarm_id"]]),
        )
        for r in rows
    ]


def held(db: sqlite_utils.Database) -> list[Held]:
    """Every drill on record, for the plan: where, which scenario, when pressed."""
    return [
        Held(r["site"], r["scenario"] or "", datetime.fromisoformat(r["at"]))
        for r in db.query(
            "SELECT d.site, d.scenario, COALESCE(a.raised_at, d.recorded_at) AS at"
            " FROM drills d LEFT JOIN alarms a ON a.alarm_id = d.alarm_id"
        )
    ]


def drill_site(db: sqlite_utils.Database, alarm_id: str) -> str | None:
    found = list(db.query("SELECT site FROM drills WHERE alarm_id = ?", [alarm_id]))
    return str(found[0]["site"]) if found else None


# --- the plan's first sight -------------------------------------------------------------------


def plan_seen(keys: Iterable[tuple[str, str]], now: datetime) -> Write:
    """Remember when central first knew of each (site, scenario) of the plan (kept once)."""
    keys = tuple(keys)

    def write(db: sqlite_utils.Database) -> None:
        db.table("drill_plan_seen").insert_all(
            [{"site": s, "scenario": c, "first_seen": now.isoformat()} for s, c in keys],
            ignore=True,
        )

    write.__name__ = "drill_plan_seen"
    return write


def first_seen(db: sqlite_utils.Database) -> dict[tuple[str, str], datetime]:
    return {
        (r["site"], r["scenario"]): datetime.fromisoformat(r["first_seen"])
        for r in db.table("drill_plan_seen").rows
    }


# --- trainings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Training:
    training_id: str
    site: str
    held_on: date
    title: str
    added_by: str
    added_at: datetime
    people: tuple[Someone, ...]


def training_added(training: Training) -> Write:
    def write(db: sqlite_utils.Database) -> None:
        db.table("trainings").insert(
            {
                "training_id": training.training_id,
                "site": training.site,
                "held_on": training.held_on.isoformat(),
                "title": training.title,
                "added_by": training.added_by,
                "added_by_name": training.added_by,
                "added_at": training.added_at.isoformat(),
            }
        )
        db.table("training_people").insert_all(
            [
                {"training_id": training.training_id, "user_id": u, "name": n}
                for u, n in training.people
            ]
        )

    write.__name__ = "training_added"
    return write


def trainings(db: sqlite_utils.Database, sites: frozenset[str] | None) -> list[Training]:
    people: dict[str, list[Someone]] = {}
    for row in db.query("SELECT * FROM training_people ORDER BY name"):
        people.setdefault(row["training_id"], []).append((row["user_id"], row["name"] or ""))
    return [
        Training(
            r["training_id"],
            r["site"],
            date.fromisoformat(r["held_on"]),
            r["title"],
            r["added_by"] or "",
            datetime.fromisoformat(r["added_at"]),
            tuple(people.get(r["training_id"], ())),
        )
        for r in db.query("SELECT * FROM trainings ORDER BY held_on DESC, added_at DESC")
        if sites is None or r["site"] in sites
    ]


# --- routines read ----------------------------------------------------------------------------


def routines_read(user: Someone, version: str, now: datetime) -> Write:
    """``user`` confirmed reading ``version`` (the first confirmation of a version stands)."""

    def write(db: sqlite_utils.Database) -> None:
        db.table("routine_reads").insert(
            {"user_id": user[0], "name": user[1], "version": version, "read_at": now.isoformat()},
            ignore=True,
        )

    write.__name__ = "routines_read"
    return write


def reads(db: sqlite_utils.Database) -> dict[str, dict[str, datetime]]:
    """user → version → when they confirmed it."""
    found: dict[str, dict[str, datetime]] = {}
    for row in db.table("routine_reads").rows:
        found.setdefault(row["user_id"], {})[row["version"]] = datetime.fromisoformat(
            row["read_at"]
        )
    return found
