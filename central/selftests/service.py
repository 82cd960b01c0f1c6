"""Self-testing, composed: schedules, device self-tests, test alarms, rounds, the devices known.

Central owns one :class:`SelfTesting` and routes to it what concerns tests: device messages,
new alarms (is it a test alarm, and for whom?), commits, receipts from screens, and the tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

from central.config import CentralSettings
from central.core.rounds import Button, ButtonOutcome, TestRound
from central.core.schedule import Due, SelfTestKind
from central.core.selftests import Overdue, RunResult, overdue
from central.core.supervision import Supervisor
from central.routines import ScheduleRoutine, SelfTests
from central.selftests.rounds import Rounds
from central.selftests.runner import Origin, Runner, Target
from central.selftests.schedule import ScheduleShell
from central.store import Store, testlog
from protocol import (
    AlarmMessage,
    HeartbeatMessage,
    Message,
    SelftestResultMessage,
    SelftestRunMessage,
    StatusMessage,
)

log = logging.getLogger("central.selftests")


class UnknownSchedule(KeyError):
    pass


class SelfTesting:
    def __init__(
        self,
        settings: CentralSettings,
        self_tests: SelfTests,
        store: Store,
        supervisor: Callable[[], Supervisor],
        publish: Callable[[SelftestRunMessage], None],
        close_test: Callable[[UUID, str], None],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.self_tests = self_tests
        self._store = store
        self._supervisor = supervisor
        self._clock = clock
        self.runner = Runner(store, publish, clock, close_test)
        self.rounds = Rounds(store, clock, timedelta(seconds=settings.test_rounds.max_duration_s))
        self.scheduler = ScheduleShell(self_tests.schedules(), store, self._due)
        self.known: dict[tuple[str, str], tuple[str, ...]] = {}  # (site, device) → inputs
        self.first_seen: dict[tuple[str, str], datetime] = {}

    async def start(self) -> None:
        for row in await self._store.read(testlog.devices):
            key = (row["site"], row["device"])
            self.known[key] = tuple(row["inputs"])
            self.first_seen[key] = datetime.fromisoformat(row["first_seen"])
        await self._store.submit(
            testlog.abandon_open_runs(self._clock(), "central stopped before the answer came")
        )
        await self.scheduler.start()
        self.rounds.restore(
            await self._store.read(testlog.open_rounds),
            {s.id: self.buttons(s.id) for s in self.settings.sites},
        )

    async def tick(self, now: datetime) -> None:
        self.runner.expire(now)
        await self.rounds.expire_due(now, self.broken)
        await self.scheduler.tick(now)

    # --- what central hears ------------------------------------------------------------

    def device_message(self, message: Message, now: datetime) -> None:
        if isinstance(message, SelftestResultMessage):
            self.runner.result(message, now)
        if isinstance(message, StatusMessage | HeartbeatMessage):
            health = message.health
            inputs = tuple(health.inputs or health.outputs) if health is not None else ()
            key = (message.site, message.device)
            if key not in self.known or (inputs and inputs != self.known[key]):
                self.known[key] = inputs or self.known.get(key, ())
                self.first_seen.setdefault(key, now)
                write = testlog.saw_device(message.site, message.device, inputs, now)
                self._store.submit(write)
                open_round = self.rounds.open_at(message.site)
                if open_round is not None:
                    open_round.buttons |= {Button(message.device, i) for i in inputs}

    def test_audience(
        self, message: AlarmMessage, now: datetime
    ) -> tuple[frozenset[str] | None, bool]:
        """For a *new* alarm: who may see it if it is a test (None: a real alarm), and whether
        central ends it itself as soon as it is stored (a round's tick)."""
        screen = self.runner.test_screen_for(message.alarm_id, message.raised_at, now)
        if screen is not None:
            return screen, False
        tester = self.rounds.press(message, now)
        if tester is not None:
            return tester, True
        return None, False

    # --- running -----------------------------------------------------------------------

    def buttons(self, site: str) -> set[Button]:
        return {Button(d, i) for (s, d), inputs in self.known.items() if s == site for i in inputs}

    def broken(self, site: str) -> dict[Button, str]:
        """Buttons at ``site`` that cannot be tested now: device offline, input stuck."""
        supervisor = self._supervisor()
        broken: dict[Button, str] = {}
        for button in self.buttons(site):
            record = supervisor.device(site, button.device)
            if record is not None and not record.online:
                broken[button] = f"device offline ({record.offline_reason})"
            elif record is not None and any(
                f.startswith(f"input {button.input} ") for f in record.health_faults
            ):
                broken[button] = next(
                    f for f in record.health_faults if f.startswith(f"input {button.input} ")
                )
        return broken

    def targets(self, sites: list[str], device: str | None = None) -> list[Target]:
        supervisor = self._supervisor()
        found = []
        for site, name in sorted(self.known):
            if site not in sites or (device is not None and name != device):
                continue
            record = supervisor.device(site, name)
            found.append(Target(site, name, record is not None and record.online))
        return found

    async def run_now(
        self,
        schedule_id: str,
        *,
        site: str | None = None,
        device: str | None = None,
        deadline_s: float | None = None,
        tester: str = "",
    ) -> list[UUID]:
        """Run a schedule's test now, by hand (its slots are not touched)."""
        routine = self.self_tests.get(schedule_id)
        if routine is None:
            raise UnknownSchedule(schedule_id)
        sites = [s.id for s in self.settings.sites if routine.covers(s.id)]
        if site is not None:
            sites = [s for s in sites if s == site]
        origin = Origin(schedule_id=schedule_id, trigger="manual", tester=tester)
        return await self._run(
            routine.kind, sites, origin, deadline_s or routine.deadline_s, device
        )

    async def _due(self, due: Due, now: datetime) -> None:
        routine = self.self_tests.get(due.schedule_id)
        if routine is None:  # pragma: no cover - the core only knows schedules from here
            return
        sites = [s.id for s in self.settings.sites if routine.covers(s.id)]
        for slot in due.skipped:
            for site in sites:
                await self._store.submit(
                    testlog.start_run(
                        run_id=f"missed-{due.schedule_id}-{site}-{slot.isoformat()}",
                        kind=due.kind,
                        schedule_id=due.schedule_id,
                        trigger="schedule",
                        site=site,
                        slot=slot,
                        late=True,
                        started_at=now,
                        finished_at=now,
                        result=RunResult.MISSED,
                        reason="not run: central was not running at its time",
                    )
                )
        origin = Origin(due.schedule_id, due.slot, due.late, "schedule")
        await self._run(due.kind, sites, origin, routine.deadline_s, None)

    async def _run(
        self,
        kind: SelfTestKind,
        sites: list[str],
        origin: Origin,
        deadline_s: float,
        device: str | None,
    ) -> list[UUID]:
        if kind is SelfTestKind.DEVICE_SELFTEST:
            return await self.runner.device_selftests(
                self.targets(sites, device), origin, deadline_s
            )
        if kind is SelfTestKind.E2E_TEST_ALARM:
            runs = []
            for site in sites:
                online = [t for t in self.targets([site], device) if t.online]
                screen = next((s.test_screen for s in self.settings.sites if s.id == site), None)
                runs.append(
                    await self.runner.e2e_test_alarm(
                        site, online[0] if online else None, screen, origin, deadline_s
                    )
                )
            return runs
        # A manual round cannot run itself: its slot is recorded as due, and the overdue
        # list names every button not tested within the month.
        now = self._clock()
        for site in sites:
            await self._store.submit(
                testlog.start_run(
                    run_id=f"due-{origin.schedule_id}-{site}-{(origin.slot or now).isoformat()}",
                    kind=kind,
                    schedule_id=origin.schedule_id,
                    trigger=origin.trigger,
                    site=site,
                    slot=origin.slot,
                    late=origin.late,
                    started_at=now,
                    finished_at=now,
                    result=RunResult.DUE,
                    reason="a test round of every button is due",
                )
            )
            log.warning("a test round of every button is due at %s", site)
        return []

    # --- what the routes ask and do (explicit: they do not reach into the parts) ----------

    def delivered(self, alarm_id: UUID, user: str, now: datetime) -> bool:
        """A screen has a test alarm: True if it was the test screen's, so the test passed."""
        return self.runner.delivered(alarm_id, user, now)

    def stored(self, alarm_id: UUID, now: datetime) -> None:
        self.runner.stored(alarm_id, now)

    @property
    def open_runs(self) -> int:
        return self.runner.open_runs

    @property
    def schedule(self) -> tuple[ScheduleRoutine, ...]:
        return tuple(self.self_tests.schedule)

    @property
    def zone(self) -> str:
        return self.self_tests.zone

    def next_slot(self, schedule_id: str, now: datetime) -> datetime:
        return self.scheduler.next_slot(schedule_id, now)

    def rounds_at(self, covered: Callable[[str], bool]) -> list[TestRound]:
        """Every round (open or closed) of the sites ``covered`` says yes to."""
        return [r for r in self.rounds.all() if covered(r.site)]

    def test_round(self, round_id: UUID) -> TestRound | None:
        return self.rounds.get(round_id)

    async def start_round(self, site: str, tester: str) -> TestRound:
        return await self.rounds.start(site, tester, self.buttons(site))

    async def fail_button(self, round_id: UUID, button: Button, detail: str) -> TestRound:
        return await self.rounds.fail(round_id, button, detail)

    async def close_round(self, round_id: UUID, site: str) -> list[ButtonOutcome]:
        return await self.rounds.close(round_id, self.broken(site))

    def overdue(
        self,
        covered: Callable[[str], bool],
        passed: Mapping[tuple[str, str, str, str], datetime],
        now: datetime,
    ) -> list[Overdue]:
        """Everything of the ``covered`` sites not passed within its schedule's period (never
        tested counts); ``passed``: (kind, site, device, input) → last passed."""
        found: list[Overdue] = []
        for routine, schedule in zip(
            self.self_tests.schedule, self.self_tests.schedules(), strict=True
        ):
            sites = [s.id for s in self.settings.sites if routine.covers(s.id) and covered(s.id)]
            if routine.kind == "e2e_test_alarm":
                targets = [(s, "", "") for s in sites]
            elif routine.kind == "device_selftest":
                targets = [(s, d, "") for (s, d) in self.known if s in sites]
            else:
                targets = [(s, b.device, b.input) for s in sites for b in self.buttons(s)]
            last = {t[1:]: at for t, at in passed.items() if t[0] == routine.kind}
            for target in targets:
                found += overdue(
                    routine.id,
                    routine.kind,
                    schedule.period() + schedule.grace,
                    [target],
                    last,
                    now,
                    self.first_seen.get((target[0], target[1]), now),
                )
        return found
