"""Waiting for a row of central's audit trail: it is written on the store's thread after the
answer that caused it has gone, so a test looks for it by bounded polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from central.audit import log as audit_log
from central.audit.chain import Row
from tests.central.helpers import Running


async def rows_of(running: Running, action: str) -> list[Row]:
    found = await running.central.read(audit_log.latest)
    return [r for r in found if r.action == action]


async def audited(
    running: Running,
    action: str,
    match: Callable[[Row], bool] = lambda _: True,
    count: int = 1,
    within: float = 10.0,
) -> list[Row]:
    """At least ``count`` rows of ``action`` that ``match``, once written (newest first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = [r for r in await rows_of(running, action) if match(r)]
        if len(found) >= count:
            return found
        if loop.time() > deadline:
            seen = await rows_of(running, action)
            raise AssertionError(f"{count} {action} row(s) expected in the audit trail: {seen}")
        await asyncio.sleep(0.02)
