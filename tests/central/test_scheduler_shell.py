"""The scheduler's shell on a real SQLite store, with ``now`` handed in: claims are stored
before a test runs, a restart never runs a slot twice, missed slots are logged as missed and
the latest runs once, marked late."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from central.config import CentralSettings
from central.core.supervision import Supervisor
from central.routines import load_self_tests
from central.selftests import SelfTesting
from central.store import Store, testlog
from protocol import Health, SelftestRunMessage, StatusMessage

OSLO = ZoneInfo("Europe/Oslo")
SCHEDULES = """\
zone = "Europe/Oslo"
[[schedule]]
id = "daily"
kind = "device_selftest"
every = "day"
at = "06:30"
title.nb = "Daglig"
title.en = "Daily"
"""


def oslo(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=OSLO)


def settings(tmp_path: Path) -> CentralSettings:
    routines = tmp_path / "self-tests.toml"
    routines.write_text(SCHEDULES)
    return CentralSettings.model_validate(
        {
            "mqtt": {"password": "a-central-password-1"},
            "store": {"path": str(tmp_path / "central.db")},
            "sites": [{"id": "oslo", "name": "Oslo"}],
            "registry": {"open": True},
            "routines": {"self_tests": str(routines)},
        }
    )


async def started(tmp_path: Path, sent: list[SelftestRunMessage]) -> tuple[SelfTesting, Store]:
    config = settings(tmp_path)
    store = Store(config.store.path)
    await store.open()
    testing = SelfTesting(
        config,
        load_self_tests(config.routines.self_tests),
        store,
        lambda: Supervisor({}, oslo(2026, 3, 1)),
        sent.append,
        lambda _alarm_id, _detail: None,
        clock=lambda: oslo(2026, 3, 1),
    )
    await testing.start()
    return testing, store


async def test_no_slot_runs_twice_across_a_restart_and_missed_slots_are_logged(
    tmp_path: Path,
) -> None:
    sent: list[SelftestRunMessage] = []
    testing, store = await started(tmp_path, sent)
    status = StatusMessage(
        site="oslo", device="rom-1", state="online", health=Health(inputs=("desk",))
    )
    testing.device_message(status, oslo(2026, 3, 2, 12))
    await testing.tick(oslo(2026, 3, 2, 12))
    assert sent == []  # first sight: history, not a debt
    await testing.tick(oslo(2026, 3, 3, 6, 30, 1))
    assert [(m.site, m.device) for m in sent] == [("oslo", "rom-1")]
    assert await store.read(testlog.claims) == {"daily": oslo(2026, 3, 3, 6, 30)}
    await store.close()

    # Central restarts a minute later: the claim is on disk, nothing runs again.
    testing, store = await started(tmp_path, sent)
    assert testing.known == {("oslo", "rom-1"): ("desk",)}
    await testing.tick(oslo(2026, 3, 3, 6, 31))
    assert len(sent) == 1
    # Down until the 6th: the 4th and 5th are logged as missed; the 6th runs once, late.
    await testing.tick(oslo(2026, 3, 6, 8, 0))
    await testing.tick(oslo(2026, 3, 6, 8, 1))
    assert len(sent) == 2
    runs = await store.read(lambda db: testlog.runs(db, testlog.RunFilter()))
    by_result: dict[str, list[dict[str, object]]] = {}
    for run in runs:
        by_result.setdefault(str(run["result"]), []).append(run)
    assert sorted(str(r["slot"]) for r in by_result["missed"]) == [
        oslo(2026, 3, 4, 6, 30).isoformat(),
        oslo(2026, 3, 5, 6, 30).isoformat(),
    ]
    late = [r for r in by_result["open"] if r["late"]]
    assert [r["slot"] for r in late] == [oslo(2026, 3, 6, 6, 30).isoformat()]
    assert all(r["trigger"] == "schedule" for r in runs)
    # Nobody answered: past the deadline, the runs fail with "no answer".
    testing.runner.expire(oslo(2026, 3, 6, 9))
    await store.close()
    store = Store(settings(tmp_path).store.path)
    await store.open()
    failed = await store.read(lambda db: testlog.runs(db, testlog.RunFilter(result="failed")))
    await store.close()
    assert sorted(r["reason"] for r in failed) == [
        "central stopped before the answer came",  # the run open when central restarted
        "no answer",
    ]
