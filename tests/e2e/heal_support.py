"""Shared waits for the healing tests (test_heal*.py): central's record read by bounded polling,
off the event loop (in-process edge agents share the loop and must keep running meanwhile)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.stack import Central, Desk

Record = list[dict[str, Any]]


async def record(central: Central, user: str = "kari") -> Record:
    """Central's stored alarms (GET /api/alarms reads the store, never its memory)."""
    return await asyncio.to_thread(central.alarms, user)


async def until_recorded(
    central: Central, done: Callable[[Record], bool], timeout: float = 20, what: str = "record"
) -> Record:
    deadline = time.monotonic() + timeout
    seen: Record = []
    while time.monotonic() < deadline:
        seen = await record(central)
        if done(seen):
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"central's record: no {what} in {timeout} s; it has {seen}\n{central.logs()}"
    )


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float = 20,
    what: str = "condition",
    poll: float = 0.1,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(poll)
    raise AssertionError(f"no {what} within {timeout} s")


def by_id(alarms: Record, alarm_id: str) -> dict[str, Any] | None:
    return next((a for a in alarms if a["alarm_id"] == alarm_id), None)


def state_of(alarms: Record, alarm_id: str) -> str | None:
    alarm = by_id(alarms, alarm_id)
    return None if alarm is None else str(alarm["state"])


def new_alarm(line: dict[str, Any]) -> bool:
    return line.get("event") == "alarm"


def alarm_lines(desk: Desk, alarm_id: str) -> list[dict[str, Any]]:
    """The desk's "a new alarm" lines for ``alarm_id`` (a second one would be a double)."""
    return [ln for ln in desk.lines if new_alarm(ln) and ln.get("alarm_id") == alarm_id]


async def wait_state(desk: Desk, alarm_id: str, state: str, timeout: float = 20) -> None:
    await desk.wait_for(
        lambda ln: ln.get("alarm_id") == alarm_id and ln.get("state") == state, timeout
    )
