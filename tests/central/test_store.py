"""The record on a real SQLite file: WAL, group commit, reopen, each alarm exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from central.core import AlarmEvent, EventKind, Persist
from central.errors import StoreClosed, StoreError
from central.store import Store
from protocol import AlarmLevel, AlarmSource
from protocol.messages import Responder
from protocol.screen import AlarmState, AlarmView

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def view(
    site: str = "oslo-sentrum", state: AlarmState = AlarmState.RECEIVED, **extra: object
) -> AlarmView:
    return AlarmView.model_validate(
        {
            "alarm_id": uuid4(),
            "site": site,
            "device": "rom-101",
            "room": "Møterom 101",
            "level": AlarmLevel.ASSIST,
            "source": AlarmSource.BUTTON,
            "input": "desk",
            "raised_at": T0,
            "state": state,
            **extra,
        }
    )


def insert(alarm: AlarmView, at: datetime = T0) -> Persist:
    event = AlarmEvent(alarm.alarm_id, EventKind.RAISED, at, alarm.device, "acute")
    return Persist(alarm.alarm_id, alarm, (event,), insert=True)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "var" / "central.db")
    await s.open()
    yield s
    await s.close()


async def test_file_is_in_wal_mode_and_rows_round_trip(store: Store) -> None:
    responder = Responder(user="kari", name="Kari Nordmann", at=T0)
    alarm = view(
        state=AlarmState.ACKNOWLEDGED,
        responders=(responder,),
        test=True,
        presses=4,
        rev=3,  # a restart continues the record's revisions from here
        shown_at=T0,
    )
    await store.submit(insert(alarm))
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    [restored] = await store.restorable(T0)
    assert restored == alarm


async def test_group_commit_puts_waiting_writes_in_one_transaction(store: Store) -> None:
    # Another writer holds the lock, so the writes pile up in the queue meanwhile.
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    first = store.submit(insert(view()))
    await asyncio.sleep(0.1)  # the writer is now waiting for the lock with the first write
    rest = [store.submit(insert(view())) for _ in range(300)]
    assert not first.done()
    blocker.execute("COMMIT")
    blocker.close()
    await asyncio.gather(first, *rest)
    assert store.writes == 301
    assert store.transactions <= 2  # the first write alone, then every waiting one together
    assert len(await store.recent(1000, None)) == 301


async def test_each_alarm_is_recorded_once_whatever_is_submitted(store: Store) -> None:
    alarm = view()
    again = alarm.model_copy(update={"room": "Another room", "presses": 9})
    await asyncio.gather(store.submit(insert(alarm)), store.submit(insert(again)))
    [row] = await store.recent(10, None)
    assert row["room"] == "Møterom 101"  # INSERT OR IGNORE: the first write holds
    assert [e["kind"] for e in row["events"]] == ["raised", "raised"]  # the log keeps both
    resolved = alarm.model_copy(
        update={"state": AlarmState.RESOLVED, "resolved_at": T0, "resolved_by": "ola"}
    )
    event = AlarmEvent(alarm.alarm_id, EventKind.RESOLVED, T0, "ola", "Ola")
    await store.submit(Persist(alarm.alarm_id, resolved, (event,)))
    [row] = await store.recent(10, None)
    assert row["state"] == "resolved"
    assert row["resolved_by"] == "ola"


async def test_recent_is_newest_first_by_site_with_timelines(store: Store) -> None:
    oslo = [view() for _ in range(3)]
    bergen = view(site="bergen")
    for alarm in [*oslo, bergen]:
        await store.submit(insert(alarm))
    receipt = AlarmEvent(oslo[0].alarm_id, EventKind.DELIVERED, T0 + timedelta(seconds=1), "kari")
    await store.submit(Persist(oslo[0].alarm_id, None, (receipt,)))
    rows = await store.recent(10, frozenset({"oslo-sentrum"}))
    assert [r["alarm_id"] for r in rows] == [str(a.alarm_id) for a in reversed(oslo)]
    assert [e["kind"] for e in rows[-1]["events"]] == ["raised", "delivered"]
    assert rows[-1]["events"][1] == {
        "kind": "delivered",
        "at": (T0 + timedelta(seconds=1)).isoformat(),
        "actor": "kari",
        "detail": "",
    }
    assert len(await store.recent(2, None)) == 2
    assert await store.recent(10, frozenset()) == []
    assert [r["site"] for r in await store.recent(10, frozenset({"bergen"}))] == ["bergen"]


async def test_reopen_restores_active_and_recently_resolved(tmp_path: Path) -> None:
    path = tmp_path / "central.db"
    active = view()
    old = view(state=AlarmState.RESOLVED, resolved_at=T0 - timedelta(days=30))
    recent = view(state=AlarmState.RESOLVED, resolved_at=T0 - timedelta(hours=1))
    first = Store(path)
    await first.open()
    for alarm in (active, old, recent):
        await first.submit(insert(alarm))
    await first.close()
    # closed stores refuse writes:
    with pytest.raises(StoreClosed):
        await first.submit(insert(view()))

    second = Store(path)
    await second.open()
    try:
        restored = await second.restorable(T0 - timedelta(days=7))
        assert [v.alarm_id for v in restored] == [active.alarm_id, recent.alarm_id]
    finally:
        await second.close()


async def test_a_store_that_cannot_open_says_why(tmp_path: Path) -> None:
    (tmp_path / "central.db").mkdir()  # a directory where the file should be
    store = Store(tmp_path / "central.db")
    with pytest.raises(StoreError, match="cannot open"):
        await store.open()
    await store.close()


async def test_database_of_an_earlier_version_gains_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the first release's table, without floor & raiser
        conn.execute(
            "CREATE TABLE alarms (alarm_id TEXT PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT"
            " NULL, room TEXT, level TEXT, source TEXT, input TEXT, raised_at TEXT NOT NULL,"
            " test INTEGER, drill INTEGER, presses INTEGER, state TEXT NOT NULL, responders TEXT,"
            " declined TEXT, resolved_at TEXT, resolved_by TEXT)"
        )
    store = Store(path)
    await store.open()
    try:
        alarm = view(floor="3. etasje", raised_by="kari", raised_by_name="Kari Nordmann")
        await store.submit(insert(alarm))
        [back] = await store.restorable(T0 - timedelta(days=1))
        assert (back.floor, back.raised_by) == ("3. etasje", "kari")
    finally:
        await store.close()
