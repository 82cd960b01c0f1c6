"""Converting between the core's values and SQLite rows."""

from __future__ import annotations

import json
from typing import Any

from central.core import AlarmEvent
from protocol.screen import AlarmView

ALARM_COLUMNS: dict[str, type] = {
    "alarm_id": str,
    "site": str,
    "device": str,
    "room": str,
    "floor": str,
    "site_name": str,
    "level": str,
    "source": str,
    "input": str,
    "raised_at": str,
    "test": int,
    "drill": int,
    "presses": int,
    "state": str,
    "responders": str,  # JSON list of {user, name, at}
    "declined": str,
    "resolved_at": str,
    "resolved_by": str,
    "raised_by": str,
    "raised_by_name": str,
    "rev": int,  # rows of an older central: NULL, read as 0
    "shown_at": str,
    # Escalation: the stage taken (NULL in older rows: 0) and the widened audience (JSON lists).
    "stage": int,
    "escalated_to": str,
    "escalated_sites": str,
    "escalated_users": str,
    # A phone's alarm: its last position (JSON {lat, lon, accuracy_m, at}; NULL: none) and
    # whether the phone is silent (NULL in older rows: 0).
    "position": str,
    "silent": int,
    # The colleagues on standby for the meeting the alarm came from (central.core.standby):
    # JSON list of {user, name, at}; NULL in older rows: none.
    "standby": str,
}
EVENT_COLUMNS: dict[str, type] = {
    "id": int,
    "alarm_id": str,
    "kind": str,
    "at": str,
    "actor": str,
    "detail": str,
}
_JSON_LISTS = (
    "responders",
    "declined",
    "escalated_to",
    "escalated_sites",
    "escalated_users",
    "standby",
)


def alarm_row(view: AlarmView) -> dict[str, Any]:
    # A screen's card fields (flood, merged_into) are never part of the record.
    data = view.model_dump(mode="json", exclude={"flood", "merged_into"})
    for key in _JSON_LISTS:
        data[key] = json.dumps(data[key], ensure_ascii=False)
    data["test"] = int(view.test)
    data["drill"] = int(view.drill)
    data["position"] = json.dumps(data["position"]) if view.position is not None else None
    data["silent"] = int(view.silent)
    return data


def alarm_view(row: dict[str, Any]) -> AlarmView:
    data = dict(row)
    for key in _JSON_LISTS:
        data[key] = json.loads(data[key] or "[]")
    data["test"] = bool(data["test"])
    data["drill"] = bool(data["drill"])
    data["rev"] = data.get("rev") or 0
    data["stage"] = data.get("stage") or 0
    data["position"] = json.loads(data["position"]) if data.get("position") else None
    data["silent"] = bool(data.get("silent"))
    return AlarmView.model_validate(data)


def event_row(event: AlarmEvent) -> dict[str, Any]:
    return {
        "alarm_id": str(event.alarm_id),
        "kind": event.kind.value,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "detail": event.detail,
    }
