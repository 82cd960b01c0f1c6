"""Reading an alarm's record in real-process tests: its timeline, its escalation stages, and a
bounded wait on it (never a fixed sleep). Shared by the escalation and ARC tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.support.stack import Central


def of(alarm_id: str, event: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """A desk output line about ``alarm_id`` (of ``event``, if given)."""
    return lambda line: line.get("alarm_id") == alarm_id and event in (None, line["event"])


def timeline(central: Central, alarm_id: str) -> list[dict[str, Any]]:
    [stored] = [a for a in central.alarms("kari") if a["alarm_id"] == alarm_id]
    return list(stored["events"])


def escalations(central: Central, alarm_id: str) -> list[str]:
    return [e["detail"] for e in timeline(central, alarm_id) if e["kind"] == "escalated"]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


async def wait_until(what: str, check: Callable[[], bool], central: Central) -> None:
    """Bounded polling of central's record (never a fixed sleep)."""
    for _ in range(300):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within 30 s\n{central.logs()}")
