"""Meetings with standby (central.core.standby), on disk: the record of each pre-meeting
assessment (STANDARD 2.2).

A row per meeting, written whole on every change (registered, answered, reminded, ended,
cancelled) and never deleted: the table is the record of who assessed which meeting how, who
was asked and who confirmed. Central restores its standby book from it at start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlite_utils

from central.core.standby import Answer, Colleague, Concern, Meeting

COLUMNS: dict[str, type] = {
    "meeting_id": str,
    "owner": str,
    "owner_name": str,
    "site": str,
    "room": str,
    "address": str,
    "start": str,
    "end": str,
    "concern": str,
    "note": str,
    "any_responder": int,
    "colleagues": str,  # JSON: [{user, name, answer, at}]
    "registered_at": str,
    "reminded": int,
    "ended_at": str,
    "cancelled_at": str,
    "cancel_reason": str,
}


def create_schema(db: sqlite_utils.Database) -> None:
    db.table("meetings").create(
        COLUMNS,
        pk="meeting_id",
        not_null={"owner", "site", "start", "end", "concern", "registered_at"},
        if_not_exists=True,
    )
    db.table("meetings").create_index(["site"], if_not_exists=True)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def row(meeting: Meeting) -> dict[str, Any]:
    colleagues = [
        {"user": c.user, "name": c.name, "answer": c.answer.value, "at": _when(c.at)}
        for c in meeting.colleagues
    ]
    return {
        "meeting_id": str(meeting.meeting_id),
        "owner": meeting.owner,
        "owner_name": meeting.owner_name,
        "site": meeting.site,
        "room": meeting.room,
        "address": meeting.address,
        "start": meeting.start.isoformat(),
        "end": meeting.end.isoformat(),
        "concern": meeting.concern.value,
        "note": meeting.note,
        "any_responder": int(meeting.any_responder),
        "colleagues": json.dumps(colleagues, ensure_ascii=False),
        "registered_at": meeting.registered_at.isoformat(),
        "reminded": int(meeting.reminded),
        "ended_at": _when(meeting.ended_at),
        "cancelled_at": _when(meeting.cancelled_at),
        "cancel_reason": meeting.cancel_reason,
    }


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def meeting_of(found: dict[str, Any]) -> Meeting:
    colleagues = tuple(
        Colleague(c["user"], c["name"], Answer(c["answer"]), _time(c["at"]))
        for c in json.loads(found["colleagues"] or "[]")
    )
    return Meeting(
        meeting_id=UUID(found["meeting_id"]),
        owner=found["owner"],
        owner_name=found["owner_name"] or found["owner"],
        site=found["site"],
        room=found["room"],
        address=found["address"] or "",
        start=datetime.fromisoformat(found["start"]),
        end=datetime.fromisoformat(found["end"]),
        concern=Concern(found["concern"]),
        note=found["note"] or "",
        any_responder=bool(found["any_responder"]),
        colleagues=colleagues,
        registered_at=datetime.fromisoformat(found["registered_at"]),
        reminded=bool(found["reminded"]),
        ended_at=_time(found["ended_at"]),
        cancelled_at=_time(found["cancelled_at"]),
        cancel_reason=found["cancel_reason"] or "",
    )


def saved(meeting: Meeting) -> Callable[[sqlite_utils.Database], None]:
    def write(db: sqlite_utils.Database) -> None:
        db.table("meetings").upsert(row(meeting), pk="meeting_id")

    write.__name__ = "meeting_saved"
    return write


def meetings(db: sqlite_utils.Database) -> list[Meeting]:
    """Every stored meeting (the standby book's restore)."""
    return [meeting_of(found) for found in db.table("meetings").rows]
