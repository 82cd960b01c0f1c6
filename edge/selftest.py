"""The device self-test: measure what ``selftest/run`` asks, judge it (``edge.core.selftest``),
answer on ``selftest/result`` before the deadline.

Measuring needs the agent's parts (pins, outbox, link, sensor board); the agent hands them in as
:class:`Probes`, so this module owns the order, the time limits and the answer, nothing else.
The end-to-end test alarm is a check here too (``test_alarm``): a synthetic press flagged
``test``, carrying the id central chose, sent like any alarm; the check waits for its ack.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from edge.core import selftest as judge
from protocol import CheckName, CheckResult, SelftestResultMessage, SelftestRunMessage
from protocol.messages import DEVICE_CHECKS

log = logging.getLogger(__name__)

ANSWER_MARGIN = timedelta(milliseconds=300)  # answer this much before the deadline


@dataclass(frozen=True, slots=True)
class Probes:
    read_inputs: Callable[[], dict[str, bool | None]]
    stuck: Callable[[datetime], dict[str, timedelta]]
    read_outputs: Callable[[], dict[str, tuple[bool | None, bool | None]]]
    board_configured: bool
    ping_board: Callable[[float], Awaitable[float | None]]
    probe_outbox: Callable[[], Awaitable[str | None]]
    outbox_dir: Path
    broker_round_trip: Callable[[float], Awaitable[float | None]]
    # Raise the synthetic test alarm with this id; returns an awaitable of the ack's state.
    raise_test_alarm: Callable[[UUID], asyncio.Future[str] | None]


class SelfTester:
    def __init__(self, probes: Probes, limits: judge.Limits, clock: Callable[[], datetime]):
        self._probes = probes
        self._limits = limits
        self._clock = clock

    async def run(self, request: SelftestRunMessage) -> SelftestResultMessage:
        received = self._clock()
        budget = max(
            0.2, (request.deadline - received - ANSWER_MARGIN).total_seconds()
        )  # never wait past the deadline, but always try
        names = request.checks or tuple(c.value for c in DEVICE_CHECKS)
        results = []
        for name in names:
            try:
                result = await asyncio.wait_for(self._check(name, request, received), budget)
            except TimeoutError:
                result = CheckResult(
                    name=name, ok=False, detail="did not finish before the deadline"
                )
            results.append(result)
            log.info("self-test %s: %s ok=%s %s", request.run_id, name, result.ok, result.detail)
        return SelftestResultMessage(
            site=request.site,
            device=request.device,
            run_id=request.run_id,
            results=tuple(results),
            at=self._clock(),
        )

    async def _check(
        self, name: str, request: SelftestRunMessage, received: datetime
    ) -> CheckResult:
        p, limits = self._probes, self._limits
        if name == CheckName.INPUTS:
            return judge.check_inputs(p.read_inputs(), p.stuck(self._clock()))
        if name == CheckName.OUTPUTS:
            return judge.check_outputs(p.read_outputs())
        if name == CheckName.SENSOR_BOARD:
            if not p.board_configured:
                return judge.check_sensor_board(False, None, limits)
            timeout = limits.ping_timeout.total_seconds()
            return judge.check_sensor_board(True, await p.ping_board(timeout), limits)
        if name == CheckName.OUTBOX:
            return judge.check_outbox(await p.probe_outbox())
        if name == CheckName.CLOCK:
            return judge.check_clock(received, request.sent_at, limits)
        if name == CheckName.DISK:
            return judge.check_disk(await asyncio.to_thread(_free_bytes, p.outbox_dir), limits)
        if name == CheckName.BROKER:
            return judge.check_broker(await p.broker_round_trip(2.0))
        if name == CheckName.TEST_ALARM:
            return await self._test_alarm(request)
        return judge.unknown_check(name)

    async def _test_alarm(self, request: SelftestRunMessage) -> CheckResult:
        if request.test_alarm_id is None:
            return judge.check_test_alarm(False, None, None)
        started = time.monotonic()
        acked = self._probes.raise_test_alarm(request.test_alarm_id)
        if acked is None:
            return judge.check_test_alarm(False, None, None)
        state = await acked  # the caller's wait_for bounds this by the deadline
        return judge.check_test_alarm(True, time.monotonic() - started, state)


def _free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None
