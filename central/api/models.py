"""The HTTP API's answers, typed: what the desk, the CLI and scripts read from /api/* and /healthz.

Each route returns one of these (FastAPI's ``response_model`` from its return annotation), so
the answers are checked and documented in /openapi.json. The JSON is the one the untyped routes
gave (``tests/web/test_api_json.py`` holds every key, type and time format): times central
keeps as text stay text, ``+00:00`` and all.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from protocol.screen import AlarmView


class Health(BaseModel):
    """Anyone gets ``status`` and ``mqtt``; the rest only who may read the devices' state."""

    status: str = "ok"
    mqtt: str  # connected | disconnected
    screens: int | None = None
    fanout: str | None = None  # "direct", or "queued" when the fast path fell back
    rejected: dict[str, int] | None = None
    faults: int | None = None
    open_tests: int | None = None


class Event(BaseModel):
    kind: str
    at: str
    actor: str
    detail: str | None


class StoredAlarm(AlarmView):
    events: list[Event]


class Alarms(BaseModel):
    alarms: list[StoredAlarm]


class DeviceFault(BaseModel):
    kind: str
    reason: str
    since: datetime


class SiteFault(DeviceFault):
    site: str


class Device(BaseModel):
    site: str
    device: str
    state: str  # online | offline
    since: datetime | None
    last_seen: datetime | None
    offline_reason: str
    inputs: list[str]
    faults: list[DeviceFault]


class Devices(BaseModel):
    devices: list[Device]
    site_faults: list[SiteFault]


class SiteCoverage(BaseModel):
    site: str
    name: str
    screens: int
    opening_hours: str | None
    open_now: bool | None
    covered: bool
    fault: bool


class Coverage(BaseModel):
    sites: list[SiteCoverage]


class Schedule(BaseModel):
    id: str
    kind: str
    every: str
    at: str
    weekday: str | None
    day: int | None
    sites: list[str]
    title: dict[str, str]
    next: datetime


class Schedules(BaseModel):
    zone: str
    schedules: list[Schedule]


class Runs(BaseModel):
    runs: list[str]


class OverdueItem(BaseModel):
    schedule_id: str
    kind: str
    site: str
    device: str
    input: str
    due_since: str  # isoformat, as before
    last_passed: str | None


class OverdueList(BaseModel):
    overdue: list[OverdueItem]


class LoggedCheck(BaseModel):
    """One check of a logged run. Every column but the flag may be NULL in the store (the
    writers leave ``value`` NULL when a check measured nothing, "" for the rest)."""

    name: str | None = None
    ok: bool
    detail: str | None = None
    value: float | None = None
    at: str | None = None  # as stored, isoformat
    device: str | None = None
    input: str | None = None


class LoggedRun(BaseModel):
    """A row of the test log with its checks, in the store's column order (``testlog``).

    Times stay the stored text; columns the store allows NULL in are optional (a run written
    by ``testlog.start_run`` has "" where nothing applies, e.g. ``slot`` of a manual run)."""

    run_id: str
    kind: str | None = None
    schedule_id: str | None = None
    trigger: str | None = None
    site: str | None = None
    device: str | None = None
    slot: str | None = None
    late: bool
    started_at: str | None = None
    deadline: str | None = None
    finished_at: str | None = None
    result: str | None = None
    reason: str | None = None
    tester: str | None = None
    checks: list[LoggedCheck]


class LoggedRuns(BaseModel):
    runs: list[LoggedRun]


class Outcome(BaseModel):
    device: str
    input: str
    at: datetime | None
    detail: str
    alarm_id: UUID | None


class Round(BaseModel):
    round_id: UUID
    site: str
    tester: str
    started_at: datetime
    closed_at: datetime | None
    state: str  # open | closed
    tested: list[Outcome]
    not_tested: list[Outcome]
    failed: list[Outcome]


class Rounds(BaseModel):
    rounds: list[Round]
