"""Manual test rounds: the shell around :class:`central.core.rounds.TestRound`.

A round is a run in the test log (kind ``manual_round``, result ``open`` while it lasts); each
tick is a check row ``button`` written as it happens, so a restart carries the round on. On
close the rows become the final list: one per button, tested / not tested / failed.

A round left open closes by itself at its ``expires_at`` (:meth:`Rounds.expire_due`, from
central's tick): its run's reason starts with "expired". Listeners (central's screens) hear of
every round that starts or ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from central.core.rounds import (
    DEFAULT_MAX_DURATION,
    Button,
    ButtonOutcome,
    ButtonResult,
    TestRound,
)
from central.core.selftests import RunResult
from central.errors import CentralError
from central.store import Store, testlog
from central.store.testlog import CheckRow
from protocol import AlarmMessage

log = logging.getLogger("central.rounds")

KIND_ROUND = "manual_round"
BUTTON_CHECK = "button"


class RoundError(CentralError):
    """A round request that cannot be done (one is already open; no such round)."""


class Rounds:
    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        max_duration: timedelta = DEFAULT_MAX_DURATION,
    ) -> None:
        self._store = store
        self._clock = clock
        self.max_duration = max_duration
        self._by_id: dict[UUID, TestRound] = {}
        # Told of each round that starts, closes or expires (central tells the site's screens).
        self.listeners: set[Callable[[TestRound], None]] = set()

    def restore(self, stored: list[dict[str, Any]], buttons: Mapping[str, set[Button]]) -> None:
        for row in stored:
            found = TestRound(
                UUID(row["run_id"]),
                row["site"],
                row["tester"],
                datetime.fromisoformat(row["started_at"]),
                set(buttons.get(row["site"], set())),
                self.max_duration,
            )
            for tick in row["ticks"]:
                button = Button(tick["device"], tick["input"])
                at = datetime.fromisoformat(tick["at"])
                if tick["ok"]:
                    found.restore_tick(button, at, UUID(tick["detail"]))
                else:
                    found.fail(button, tick["detail"], at)
            self._by_id[found.round_id] = found
        if stored:
            log.info("carrying on %d open test round(s)", len(stored))

    def open_at(self, site: str) -> TestRound | None:
        return next((r for r in self._by_id.values() if r.site == site and r.open), None)

    def get(self, round_id: UUID) -> TestRound | None:
        return self._by_id.get(round_id)

    def all(self) -> list[TestRound]:
        return list(self._by_id.values())

    async def start(self, site: str, tester: str, buttons: set[Button]) -> TestRound:
        if self.open_at(site) is not None:
            raise RoundError(f"a test round is already open at {site}")
        now = self._clock()
        started = TestRound(uuid4(), site, tester, now, set(buttons), self.max_duration)
        await self._store.submit(
            testlog.start_run(
                run_id=started.round_id,
                kind=KIND_ROUND,
                trigger="round",
                site=site,
                started_at=now,
                result=RunResult.OPEN,
                tester=tester,
            )
        )
        self._by_id[started.round_id] = started
        log.info(
            "test round %s started at %s by %s (%d buttons)",
            started.round_id,
            site,
            tester,
            len(buttons),
        )
        self._tell(started)
        return started

    def _tell(self, changed: TestRound) -> None:
        for listener in tuple(self.listeners):
            listener(changed)

    def press(self, message: AlarmMessage, now: datetime) -> frozenset[str] | None:
        """A new alarm: the tester's id if it is a button's test in an open round, else None."""
        found = self.open_at(message.site)
        if found is None:
            return None
        if not found.press(message.device, message.input, message.source, message.alarm_id, now):
            return None
        log.info("test round %s: %s/%s tested", found.round_id, message.device, message.input)
        tick = CheckRow(
            BUTTON_CHECK, True, str(message.alarm_id), None, message.device, message.input
        )
        self._store.submit(testlog.add_checks(str(found.round_id), now, [tick]))
        return frozenset({found.tester})

    async def fail(self, round_id: UUID, button: Button, detail: str) -> TestRound:
        found = self._open(round_id)
        now = self._clock()
        found.fail(button, detail, now)
        row = CheckRow(BUTTON_CHECK, False, detail, None, button.device, button.input)
        await self._store.submit(testlog.add_checks(str(round_id), now, [row]))
        return found

    async def close(self, round_id: UUID, broken: Mapping[Button, str]) -> list[ButtonOutcome]:
        found = self._open(round_id)
        now = self._clock()
        found.close(now)
        return await self._finish(found, broken, now, "")

    async def expire_due(
        self, now: datetime, broken: Callable[[str], Mapping[Button, str]]
    ) -> list[TestRound]:
        """Close every round past its time, as expired; the rounds it closed."""
        expired = [r for r in self._by_id.values() if r.expire(now)]
        for found in expired:
            seconds = found.max_duration.total_seconds()
            lasted = f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"
            log.warning(
                "test round %s at %s expired after %s: presses are real alarms again",
                found.round_id,
                found.site,
                lasted,
            )
            await self._finish(
                found, broken(found.site), now, f"expired after {lasted} (closed by itself); "
            )
        return expired

    async def _finish(
        self, found: TestRound, broken: Mapping[Button, str], now: datetime, why: str
    ) -> list[ButtonOutcome]:
        round_id = found.round_id
        outcomes = found.report(broken)
        untested = sum(o.result is ButtonResult.NOT_TESTED for o in outcomes)
        failed = sum(o.result is ButtonResult.FAILED for o in outcomes)
        result = RunResult.PASSED if outcomes and not untested and not failed else RunResult.FAILED
        reason = why + (
            f"{len(outcomes) - untested - failed} tested, {untested} not tested, {failed} failed"
        )
        rows = [
            CheckRow(
                BUTTON_CHECK,
                o.result is ButtonResult.TESTED,
                o.result.value + (f": {o.detail}" if o.detail else ""),
                None,
                o.button.device,
                o.button.input,
            )
            for o in outcomes
        ]
        await self._store.submit(
            testlog.finish_run(str(round_id), result, reason, now, rows, replace_checks=True)
        )
        log.info("test round %s closed: %s", round_id, reason)
        self._tell(found)
        return outcomes

    def _open(self, round_id: UUID) -> TestRound:
        found = self._by_id.get(round_id)
        if found is None:
            raise RoundError(f"no test round {round_id}")
        if not found.open:
            raise RoundError(f"test round {round_id} is closed")
        return found
