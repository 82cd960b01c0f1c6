"""Central's handle on the audit trail: ``record(...)`` and forget.

A row goes to the store's writer thread like every other write, so recording never blocks
the event loop (and never delays an alarm); the writer's ``BEGIN IMMEDIATE`` keeps the chain
whole even when a ``trygg-central`` CLI appends at the same time. A failed write is logged:
the audit trail must never take the alarm path down with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import sqlite_utils

from central.audit import log as audit_log
from central.store import Store

log = logging.getLogger("central.audit")


class Trail:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def record(
        self, actor: str, action: str, target: str = "", detail: str = ""
    ) -> asyncio.Future[None]:
        found = audit_log.entry(self._clock(), actor, action, target, detail)
        log.info("audit: %s %s %s %s", actor, action, target, detail)

        def write(db: sqlite_utils.Database) -> None:
            audit_log.append(db, found)

        future = self._store.submit(write)
        future.add_done_callback(_report)
        return future


def _report(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("audit: a row could not be written: %s", future.exception())
