"""Shared waits for the healing tests (test_heal*.py): central's record read by bounded polling,
off the event loop (in-process edge agents share the loop and must keep running meanwhile).

"Nothing more happened" is never a sleep: :func:`settled` waits for observed events that prove
the window has passed (the edge's heartbeats on the broker, steady, and central hearing the
edge after them), and the caller then counts what the wire and central's record hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from protocol import AlarmMessage, HeartbeatMessage
from protocol.messages import Health, HeldState
from tests.edge.helpers import Observer
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


# --- settling, observed ---------------------------------------------------------------------


def last_heard(central: Central, device: str, user: str = "kari") -> datetime | None:
    """When central last heard ``device`` (its supervision's ``last_seen``, GET /api/devices)."""
    reply = httpx.get(
        f"{central.url}/api/devices",
        headers={"Authorization": f"Bearer {central.tokens[user]}"},
        timeout=5,
    )
    reply.raise_for_status()
    for found in reply.json()["devices"]:
        if found["device"] == device and found["last_seen"] is not None:
            return datetime.fromisoformat(str(found["last_seen"]))
    return None


def heartbeats_since(wire: Observer, start: int, device: str) -> list[HeartbeatMessage]:
    """``device``'s heartbeats the wire saw from its ``start``-th message on."""
    found = []
    for seen in wire.seen[start:]:
        if seen.topic.endswith(f"/{device}/heartbeat"):
            message = seen.decoded()
            assert isinstance(message, HeartbeatMessage)
            found.append(message)
    return found


def alarms_since(wire: Observer, start: int) -> list[AlarmMessage]:
    """Every alarm published (a press, a re-press or a resend) from the ``start``-th message on."""
    found = []
    for seen in wire.seen[start:]:
        if seen.topic.endswith("/alarm"):
            message = seen.decoded()
            assert isinstance(message, AlarmMessage)
            found.append(message)
    return found


def holds(alarm_id: str, presses: int, state: HeldState) -> Callable[[Health], bool]:
    """A device at rest on one alarm: it holds that alarm alone, with that count and state,
    and has nothing left to resend."""
    return lambda health: (
        health.outbox_pending == 0
        and [(str(a.alarm_id), a.presses, a.state) for a in health.alarms]
        == [(alarm_id, presses, state)]
    )


async def settled(
    wire: Observer,
    central: Central,
    device: str,
    steady: Callable[[Health], bool],
    beats: int = 3,
    timeout: float = 30,
) -> int:
    """Until ``beats`` heartbeats of ``device`` in a row, published from now on, show it
    ``steady`` on the broker, and central has heard the device after the last of them.

    This is the marker that a quiet window has passed: the heartbeats come as often as the
    edge's resends (1 s in these tests), and each one makes central compare the alarms the
    edge holds with its record (state sync) and answer any difference; a resend, a re-raise or
    an answer acted on would show on the wire or in the next heartbeat. Returns the index in
    ``wire.seen`` where the window began, for :func:`alarms_since`."""
    start = len(wire.seen)

    def streak() -> bool:
        run = 0
        for beat in heartbeats_since(wire, start, device):
            run = run + 1 if steady(beat.health) else 0
        return run >= beats

    await wire.wait_for(streak, timeout, f"{beats} steady heartbeats of {device}")
    after = datetime.now(UTC)

    async def heard() -> bool:
        seen = await asyncio.to_thread(last_heard, central, device)
        return seen is not None and seen > after

    await until(heard, timeout, f"central hearing {device} after its steady heartbeats")
    return start
