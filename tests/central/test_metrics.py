"""central.metrics without a running central: what each committed write counts, and the store's
commit latency from a real SQLite store.

The writes are the core's own ``Persist`` values, as the store reports them committed; the
numbers are read back through prometheus_client's text format and parser, as Prometheus reads
them. The live gauges and the whole path are tested on real processes in tests/e2e/test_metrics.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from central.core import AlarmEvent, EventKind, Persist
from central.metrics import KINDS, LEVELS, Metrics
from central.store import Store
from protocol import AlarmLevel, AlarmSource
from protocol.screen import AlarmState, AlarmView

RAISED_AT = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def view(
    level: AlarmLevel = AlarmLevel.ACUTE, *, test: bool = False, drill: bool = False
) -> AlarmView:
    return AlarmView(
        alarm_id=uuid4(),
        site="oslo-sentrum",
        device="rom-101",
        room="Møterom 101",
        level=level,
        source=AlarmSource.BUTTON,
        input="desk",
        raised_at=RAISED_AT,
        test=test,
        drill=drill,
        state=AlarmState.RECEIVED,
    )


def write(alarm: AlarmView, *steps: tuple[EventKind, float, str]) -> Persist:
    """A write of ``alarm`` carrying events (kind, seconds after the raise, actor)."""
    events = tuple(
        AlarmEvent(alarm.alarm_id, kind, RAISED_AT + timedelta(seconds=s), actor)
        for kind, s, actor in steps
    )
    return Persist(alarm.alarm_id, alarm, events, insert=steps[0][0] is EventKind.RAISED)


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("trygg_") and not s.name.endswith("_created")
    }


def nonzero(metrics: Metrics, prefix: str) -> dict[tuple[str, ...], float]:
    return {
        (name, *(v for _, v in labels)): value
        for (name, labels), value in samples(metrics).items()
        if name.startswith(prefix) and value
    }


def test_every_series_is_there_at_zero_before_anything_happens() -> None:
    found = samples(Metrics())
    for level in LEVELS:
        for kind in KINDS:
            key = (("kind", kind), ("level", level))
            assert found[("trygg_alarms_raised_total", key)] == 0
            assert found[("trygg_alarms_resolved_total", key)] == 0
        assert found[("trygg_alarm_first_coming_seconds_count", (("level", level),))] == 0
    assert found[("trygg_store_commit_seconds_count", ())] == 0
    # Nothing live without a central to read: no gauge makes up a value.
    assert not any(name.startswith("trygg_alarms_open") for name, _ in found)


def test_a_real_alarm_counts_its_raise_its_first_answer_and_its_resolution() -> None:
    metrics = Metrics()
    alarm = view(AlarmLevel.ASSIST)
    metrics.committed(write(alarm, (EventKind.RAISED, 0, "rom-101")))
    metrics.committed(Persist(alarm.alarm_id, None, ()))  # receipts only: nothing to count
    metrics.committed(write(alarm, (EventKind.COMING, 12, "kari")))
    metrics.committed(write(alarm, (EventKind.CANT_COME, 20, "kari")))
    metrics.committed(write(alarm, (EventKind.COMING, 30, "ola")))  # not the first answer
    metrics.committed(write(alarm, (EventKind.RESOLVED, 40, "ola")))
    above_12s = ("15.0", "20.0", "30.0", "45.0", "60.0", "90.0", "120.0", "180.0", "300.0")
    expected: dict[tuple[str, ...], float] = {
        ("trygg_alarms_raised_total", "real", "assist"): 1,
        ("trygg_alarms_resolved_total", "real", "assist"): 1,
        ("trygg_alarm_first_coming_seconds_count", "assist"): 1,
        ("trygg_alarm_first_coming_seconds_sum", "assist"): 12,
    }
    for le in (*above_12s, "600.0", "+Inf"):
        expected[("trygg_alarm_first_coming_seconds_bucket", le, "assist")] = 1
    assert nonzero(metrics, "trygg_alarm") == expected


@pytest.mark.parametrize(("test", "kind"), [(True, "test"), (False, "drill")])
def test_tests_and_drills_are_counted_as_such_and_never_timed(test: bool, kind: str) -> None:
    metrics = Metrics()
    alarm = view(test=test, drill=not test)
    metrics.committed(write(alarm, (EventKind.RAISED, 0, "rom-101")))
    metrics.committed(write(alarm, (EventKind.COMING, 5, "kari")))
    metrics.committed(write(alarm, (EventKind.RESOLVED, 9, "kari")))
    assert nonzero(metrics, "trygg_alarm") == {
        ("trygg_alarms_raised_total", kind, "acute"): 1,
        ("trygg_alarms_resolved_total", kind, "acute"): 1,
    }


def test_a_test_drill_is_a_test() -> None:
    metrics = Metrics()
    metrics.committed(write(view(test=True, drill=True), (EventKind.RAISED, 0, "rom-101")))
    assert nonzero(metrics, "trygg_alarms_raised") == {
        ("trygg_alarms_raised_total", "test", "acute"): 1
    }


def test_events_of_a_failed_write_count_once_with_the_write_that_stores_them() -> None:
    """A failed write's events ride along with the next one: counted when that commits."""
    metrics = Metrics()
    alarm = view()
    metrics.committed(
        write(alarm, (EventKind.RAISED, 0, "rom-101"), (EventKind.COMING, 3.5, "kari"))
    )
    found = nonzero(metrics, "trygg_alarm")
    assert found[("trygg_alarms_raised_total", "real", "acute")] == 1
    assert found[("trygg_alarm_first_coming_seconds_count", "acute")] == 1
    assert found[("trygg_alarm_first_coming_seconds_sum", "acute")] == 3.5


def test_a_clock_behind_the_raise_counts_as_no_wait() -> None:
    metrics = Metrics()
    alarm = view()
    metrics.committed(write(alarm, (EventKind.RAISED, 0, "rom-101")))
    metrics.committed(write(alarm, (EventKind.COMING, -1.5, "kari")))
    found = nonzero(metrics, "trygg_alarm_first_coming_seconds")
    assert found[("trygg_alarm_first_coming_seconds_count", "acute")] == 1
    assert ("trygg_alarm_first_coming_seconds_sum", "acute") not in found  # 0 s


def test_two_apps_never_share_a_number() -> None:
    first, second = Metrics(), Metrics()
    first.committed(write(view(), (EventKind.RAISED, 0, "rom-101")))
    assert nonzero(first, "trygg_alarms_raised") == {
        ("trygg_alarms_raised_total", "real", "acute"): 1
    }
    assert nonzero(second, "trygg_alarms_raised") == {}


async def test_every_committed_alarm_transaction_of_a_real_store_is_timed_and_only_those(
    tmp_path: Path,
) -> None:
    """The watchdog's probe (an empty transaction every few seconds) and other bookkeeping
    are not alarm commits: timed, they would be most of the histogram."""
    metrics = Metrics()
    store = Store(tmp_path / "central.db", observe_commit=metrics.store_commit.observe)
    await store.open()
    try:
        for _ in range(3):
            await store.submit(lambda _db: None)  # what the watchdog's probe writes
        assert store.transactions == 3
        assert samples(metrics)[("trygg_store_commit_seconds_count", ())] == 0
        for _ in range(3):
            await store.submit(write(view(), (EventKind.RAISED, 0, "rom-101")))
    finally:
        await store.close()
    found = samples(metrics)
    alarm_commits = store.transactions - 3
    assert alarm_commits >= 1
    assert found[("trygg_store_commit_seconds_count", ())] == alarm_commits
    assert found[("trygg_store_commit_seconds_bucket", (("le", "+Inf"),))] == alarm_commits
    assert found[("trygg_store_commit_seconds_sum", ())] > 0
