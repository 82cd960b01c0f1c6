"""Waits on an in-process edge agent, built on its one change hook (``EdgeAgent.changed``).

The agent itself carries no waits: production code never needs them. Each wait here takes the
hook's current event, checks its condition, and sleeps until the next change of state — no
polling, and always bounded (``timeout``). A wait that
runs out raises ``TimeoutError`` naming what was awaited and, for an LED, what it shows now.
Used by tests/edge, tests/e2e, tests/security and the benchmark (bench/real.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from edge.agent import EdgeAgent


async def wait_for(
    agent: EdgeAgent,
    predicate: Callable[[], bool],
    timeout: float = 5.0,
    what: str = "condition",
) -> None:
    """Wait until ``predicate()`` holds; it is re-checked after every change of state."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                changed = agent.changed
                if predicate():
                    return
                await changed.wait()
    except TimeoutError:
        raise TimeoutError(f"edge agent: {what} not reached within {timeout} s") from None


async def wait_led(
    agent: EdgeAgent,
    input_name: str,
    state: str,
    timeout: float = 5.0,
) -> None:
    await wait_for(
        agent,
        lambda: agent.led_state(input_name) == state,
        timeout,
        f"LED {input_name}={state} (now {agent.led_state(input_name)})",
    )


async def wait_ready(agent: EdgeAgent, timeout: float = 5.0) -> None:
    await wait_for(agent, lambda: agent.ready, timeout, "ready")


async def wait_connected(agent: EdgeAgent, timeout: float = 10.0) -> None:
    await wait_for(agent, lambda: agent.connected, timeout, "connected")


async def wait_pending(
    agent: EdgeAgent,
    count: int,
    timeout: float = 10.0,
) -> None:
    await wait_for(agent, lambda: agent.outbox_pending() == count, timeout, f"{count} pending")


__all__ = ["wait_connected", "wait_for", "wait_led", "wait_pending", "wait_ready"]
