"""The scheduler's shell: asks the pure :class:`Scheduler` what is due, stores each claim, runs.

A claim (schedule → the slot decided) is committed to SQLite *before* its test runs, so a
restart can never run a slot twice; a crash between claim and run loses that one run, which the
overdue list then shows. Slots lost to downtime are handed on as ``skipped`` (the test log
records them as missed) and the latest one runs once, marked late (the core decides both).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from central.core.schedule import Due, Schedule, Scheduler
from central.errors import StoreError
from central.store import Store, testlog

log = logging.getLogger("central.scheduler")


class ScheduleShell:
    def __init__(
        self,
        schedules: list[Schedule],
        store: Store,
        on_due: Callable[[Due, datetime], Awaitable[None]],
    ) -> None:
        self._schedules = schedules
        self._store = store
        self._on_due = on_due
        self._saved: dict[str, datetime] = {}
        self.core = Scheduler(schedules, {})

    async def start(self) -> None:
        self._saved = await self._store.read(testlog.claims)
        self.core = Scheduler(self._schedules, self._saved)

    async def tick(self, now: datetime) -> list[Due]:
        due = self.core.due(now)
        claimed = self.core.claimed()
        if claimed != self._saved:
            try:
                await self._store.submit(testlog.save_claims(claimed))
            except StoreError as exc:
                # Not stored, not run: start again from what is stored, and retry next tick.
                log.error("scheduler: claims not stored (%s); nothing runs", exc)
                self.core = Scheduler(self._schedules, self._saved)
                return []
            self._saved = claimed
        for item in due:
            log.info(
                "schedule %s due for %s%s%s",
                item.schedule_id,
                item.slot.isoformat(),
                " (late)" if item.late else "",
                f", {len(item.skipped)} slot(s) missed" if item.skipped else "",
            )
            await self._on_due(item, now)
        return due

    def next_slot(self, schedule_id: str, now: datetime) -> datetime:
        return self.core.next_slot(schedule_id, now)
