"""Running self-tests: device self-tests and end-to-end test alarms, recorded in the test log.

A run is written to the log (``open``) before its ``selftest/run`` goes out, and finished when
the answer comes or at its deadline, whichever is first; a device that does not answer fails
with "no answer". The judging is the pure :mod:`central.core.selftests`; this is the I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from central.core.selftests import E2ETrial, RunResult, Verdict, judge_device
from central.store import Store, testlog
from central.store.testlog import CheckRow
from protocol import CheckName, SelftestResultMessage, SelftestRunMessage

log = logging.getLogger("central.selftests")

KIND_DEVICE = "device_selftest"
KIND_E2E = "e2e_test_alarm"


@dataclass(frozen=True, slots=True)
class Origin:
    """Why a run happens: a schedule's slot, or someone pressing "run now"."""

    schedule_id: str = ""
    slot: datetime | None = None
    late: bool = False
    trigger: str = "manual"  # schedule | manual
    tester: str = ""


@dataclass(slots=True)
class _DeviceRun:
    run_id: UUID
    site: str
    device: str
    deadline: datetime


@dataclass(frozen=True, slots=True)
class Target:
    site: str
    device: str
    online: bool


class Runner:
    def __init__(
        self,
        store: Store,
        publish: Callable[[SelftestRunMessage], None],
        clock: Callable[[], datetime],
        close_test: Callable[[UUID, str], None],
    ) -> None:
        self._store = store
        self._publish = publish
        self._clock = clock
        self._close_test = close_test
        self._device_runs: dict[UUID, _DeviceRun] = {}
        self._trials: dict[UUID, E2ETrial] = {}  # by run_id
        self._trial_of_alarm: dict[UUID, UUID] = {}  # test alarm_id → run_id
        self._screens: dict[UUID, frozenset[str]] = {}  # test alarm_id → its test screen

    # --- starting runs -----------------------------------------------------------------

    async def device_selftests(
        self, targets: list[Target], origin: Origin, deadline_s: float
    ) -> list[UUID]:
        run_ids = []
        for target in targets:
            now = self._clock()
            run_id = uuid4()
            deadline = now + timedelta(seconds=deadline_s)
            await self._write(
                testlog.start_run(
                    run_id=run_id,
                    kind=KIND_DEVICE,
                    site=target.site,
                    device=target.device,
                    started_at=now,
                    deadline=deadline,
                    result=RunResult.OPEN,
                    **_origin(origin),
                )
            )
            self._device_runs[run_id] = _DeviceRun(run_id, target.site, target.device, deadline)
            self._publish(
                SelftestRunMessage(
                    site=target.site,
                    device=target.device,
                    run_id=run_id,
                    deadline=deadline,
                    sent_at=now,
                )
            )
            log.info("self-test %s sent to %s/%s", run_id, target.site, target.device)
            run_ids.append(run_id)
        return run_ids

    async def e2e_test_alarm(
        self,
        site: str,
        device: Target | None,
        test_screen: str | None,
        origin: Origin,
        deadline_s: float,
    ) -> UUID:
        """A test alarm from ``device`` through central to the site's ``test_screen``."""
        now = self._clock()
        run_id = uuid4()
        deadline = now + timedelta(seconds=deadline_s)
        start = testlog.start_run(
            run_id=run_id,
            kind=KIND_E2E,
            site=site,
            device=device.device if device else "",
            started_at=now,
            deadline=deadline,
            result=RunResult.OPEN,
            **_origin(origin),
        )
        await self._write(start)
        refusal = None
        if test_screen is None:
            refusal = "the site has no test screen (set test_screen in [[sites]])"
        elif device is None:
            refusal = "no device online at the site to raise the test alarm"
        if refusal is not None or device is None or test_screen is None:
            check = CheckRow(CheckName.TEST_ALARM, False, refusal or "")
            await self._write(
                testlog.finish_run(str(run_id), RunResult.FAILED, refusal or "", now, [check])
            )
            log.warning("test alarm at %s not run: %s", site, refusal)
            return run_id
        alarm_id = uuid4()
        trial = E2ETrial(run_id, alarm_id, site, device.device, deadline)
        self._trials[run_id] = trial
        self._trial_of_alarm[alarm_id] = run_id
        self._screens[alarm_id] = frozenset({test_screen})
        self._publish(
            SelftestRunMessage(
                site=site,
                device=device.device,
                run_id=run_id,
                checks=(CheckName.TEST_ALARM.value,),
                deadline=deadline,
                sent_at=now,
                test_alarm_id=alarm_id,
            )
        )
        log.info("test alarm %s (run %s) asked of %s/%s", alarm_id, run_id, site, device.device)
        return run_id

    # --- what comes back -----------------------------------------------------------------

    def test_screen_for(
        self, alarm_id: UUID, raised_at: datetime, now: datetime
    ) -> frozenset[str] | None:
        """The audience of an end-to-end test alarm arriving now (None: not one of ours)."""
        run_id = self._trial_of_alarm.get(alarm_id)
        if run_id is None:
            return None
        trial = self._trials.get(run_id)
        if trial is not None:
            trial.seen(raised_at, now)
        return self._screens.get(alarm_id, frozenset())

    def stored(self, alarm_id: UUID, now: datetime) -> None:
        trial = self._trial(alarm_id)
        if trial is not None:
            trial.stored(now)
            self._finish_if_complete(trial)

    def delivered(self, alarm_id: UUID, user: str, now: datetime) -> bool:
        """A screen confirmed ``alarm_id``: True if it is a test alarm's test screen (which
        ends the test alarm)."""
        if user not in self._screens.get(alarm_id, frozenset()):
            return False
        trial = self._trial(alarm_id)
        if trial is not None:
            trial.delivered(now)
            self._finish_if_complete(trial)
        return True

    def result(self, message: SelftestResultMessage, now: datetime) -> None:
        run = self._device_runs.pop(message.run_id, None)
        if run is not None:
            if (run.site, run.device) != (message.site, message.device):
                log.warning("self-test %s answered by the wrong device", message.run_id)
                self._device_runs[message.run_id] = run
                return
            self._finish(run.run_id, judge_device(message.results), now, run.device)
            return
        trial = self._trials.get(message.run_id)
        if trial is not None and (trial.site, trial.device) == (message.site, message.device):
            trial.answered(message.results)
            self._finish_if_complete(trial)
            return
        log.info("self-test result %s: no such open run (late, or not ours)", message.run_id)

    def expire(self, now: datetime) -> None:
        """Runs past their deadline fail: "no answer" for a device that said nothing."""
        for run in [r for r in self._device_runs.values() if now >= r.deadline]:
            del self._device_runs[run.run_id]
            log.warning("self-test %s of %s/%s: no answer", run.run_id, run.site, run.device)
            self._finish(run.run_id, judge_device(None), now, run.device)
        for trial in [t for t in self._trials.values() if now >= t.deadline]:
            self._end_trial(trial, now)

    @property
    def open_runs(self) -> int:
        return len(self._device_runs) + len(self._trials)

    # --- internals -------------------------------------------------------------------------

    def _trial(self, alarm_id: UUID) -> E2ETrial | None:
        run_id = self._trial_of_alarm.get(alarm_id)
        return self._trials.get(run_id) if run_id is not None else None

    def _finish_if_complete(self, trial: E2ETrial) -> None:
        if trial.complete:
            self._end_trial(trial, self._clock())

    def _end_trial(self, trial: E2ETrial, now: datetime) -> None:
        self._trials.pop(trial.run_id, None)
        verdict = trial.verdict()
        log.info(
            "test alarm %s at %s: %s %s", trial.alarm_id, trial.site, verdict.result, verdict.reason
        )
        if trial.received_at is not None:
            # Central ends its own test alarms, whether or not the test screen answered.
            self._close_test(trial.alarm_id, f"end-to-end test {verdict.result}")
        self._finish(trial.run_id, verdict, now, trial.device)

    def _finish(self, run_id: UUID, verdict: Verdict, now: datetime, device: str) -> None:
        checks = [CheckRow.of(c, device) for c in verdict.checks]
        write = testlog.finish_run(str(run_id), verdict.result, verdict.reason, now, checks)
        self._store.submit(write).add_done_callback(_log_failure)

    async def _write(self, write: testlog.Write) -> None:
        await self._store.submit(write)


def _origin(origin: Origin) -> dict[str, object]:
    return {
        "schedule_id": origin.schedule_id,
        "slot": origin.slot,
        "late": origin.late,
        "trigger": origin.trigger,
        "tester": origin.tester,
    }


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("test log: write failed: %s", future.exception())
