"""The durable outbox on a real SQLite file: survives close/reopen, keeps order, marks acks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from edge.errors import EdgeError, OutboxError
from edge.outbox import AsyncOutbox, Outbox, OutboxRecord

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TOPIC = "trygg/v1/oslo-sentrum/rom-101/alarm"


def record(n: int, presses: int = 1, at: datetime = T0) -> OutboxRecord:
    return OutboxRecord(
        alarm_id=UUID(int=n),
        input="desk",
        topic=TOPIC,
        payload=f'{{"n": {n}, "presses": {presses}}}'.encode(),
        presses=presses,
        created_at=at,
    )


def test_ack_marks_a_row_only_up_to_its_count(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.put(record(1, presses=2), T0)
    assert box.mark_acked(UUID(int=1), "received", T0, presses=1) is False
    assert [r.presses for r in box.unacked()] == [2]
    assert box.mark_acked(UUID(int=1), "received", T0, presses=2) is True
    assert box.unacked() == []
    box.close()


def test_unacked_alarms_survive_reopen_in_order(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.db"  # parent directory is created
    box = Outbox(path)
    box.put(record(2, at=T0 + timedelta(seconds=1)), T0)
    box.put(record(1), T0)
    box.put(record(3, at=T0 + timedelta(seconds=2)), T0)
    assert box.mark_acked(UUID(int=3), "received", T0) is True
    box.close()

    reopened = Outbox(path)
    unacked = reopened.unacked()
    assert [r.alarm_id for r in unacked] == [UUID(int=1), UUID(int=2)]
    assert unacked[0] == record(1)
    stored = reopened.get(UUID(int=3))
    assert stored is not None
    assert stored.acked_state == "received"
    assert reopened.get(UUID(int=9)) is None
    reopened.close()


def test_file_is_wal_and_synchronous_full(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.put(record(1), T0)
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    box.close()
    # Another connection (another process after a crash) sees the committed row.
    with sqlite3.connect(tmp_path / "o.db") as other:
        assert other.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1


def test_repress_updates_row_and_makes_it_unacked_again(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.put(record(1), T0)
    assert box.mark_acked(UUID(int=1), "acknowledged", T0) is True
    assert box.mark_acked(UUID(int=1), "received", T0) is False  # already acked
    box.put(record(1, presses=2, at=T0 + timedelta(hours=1)), T0 + timedelta(minutes=1))
    [again] = box.unacked()
    assert again.presses == 2
    assert again.payload == record(1, presses=2).payload
    assert again.created_at == T0  # first stored time is kept
    assert again.acked_state is None
    box.close()


def test_prune_forgets_only_old_resolved_rows(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for n in (1, 2, 3, 4):
        box.put(record(n), T0)
    box.mark_acked(UUID(int=1), "resolved", T0)
    box.mark_acked(UUID(int=2), "resolved", T0 + timedelta(days=10))
    box.mark_acked(UUID(int=4), "received", T0)  # old, but still active: kept
    assert box.prune_acked(T0 + timedelta(days=1)) == 1
    assert box.get(UUID(int=1)) is None
    assert box.get(UUID(int=2)) is not None
    assert [r.alarm_id for r in box.unacked()] == [UUID(int=3)]
    assert [r.alarm_id for r in box.active()] == [UUID(int=3), UUID(int=4)]
    box.close()


C0 = datetime(2025, 3, 1, 8, 59, 57, tzinfo=UTC)  # central's clock (an ack's ``at``)


def sent(n: float) -> datetime:
    return C0 + timedelta(seconds=n)


def test_acked_alarms_stay_active_until_resolved_and_keep_central_s_latest_word(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.db"
    box = Outbox(path)
    box.put(record(1), T0)
    box.put(record(2), T0 + timedelta(seconds=1))
    assert box.mark_acked(UUID(int=1), "received", T0) is True
    assert box.mark_state(UUID(int=1), "received", T0, sent(1)) is True
    assert box.mark_state(UUID(int=1), "acknowledged", T0, sent(2)) is True
    assert box.mark_state(UUID(int=1), "received", T0, sent(1)) is False  # older: stale
    assert box.mark_state(UUID(int=1), "acknowledged", T0, sent(2)) is False  # duplicate
    assert box.mark_state(UUID(int=1), "received", T0, sent(3)) is True  # withdrawn: back
    assert box.mark_state(UUID(int=9), "received", T0, sent(3)) is False  # not held
    box.put(record(1, presses=2), T0)  # a re-press: unacked again, central's word kept
    box.close()

    reopened = Outbox(path)
    assert [(r.alarm_id, r.acked_state, r.state, r.state_at) for r in reopened.active()] == [
        (UUID(int=1), None, "received", sent(3)),
        (UUID(int=2), None, None, None),
    ]
    assert reopened.mark_state(UUID(int=1), "acknowledged", T0, sent(2)) is False  # still
    assert reopened.mark_acked(UUID(int=1), "acknowledged", T0, presses=2) is True
    assert reopened.mark_state(UUID(int=1), "resolved", T0, sent(-60)) is True  # never stale
    assert reopened.mark_state(UUID(int=1), "acknowledged", T0, sent(9)) is False  # final
    assert [r.alarm_id for r in reopened.active()] == [UUID(int=2)]
    reopened.close()


def test_a_newer_repeat_of_the_same_word_is_kept_for_ordering(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.put(record(1), T0)
    box.mark_acked(UUID(int=1), "received", T0)
    assert box.mark_state(UUID(int=1), "received", T0, sent(1)) is True
    assert box.mark_state(UUID(int=1), "received", T0, sent(5)) is True
    assert box.mark_state(UUID(int=1), "acknowledged", T0, sent(4)) is False
    assert box.mark_state(UUID(int=1), "acknowledged", T0) is True  # no time: applies
    stored = box.get(UUID(int=1))
    assert stored is not None
    assert (stored.state, stored.state_at) == ("acknowledged", sent(5))
    box.close()


def test_an_outbox_without_state_times_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE outbox (alarm_id TEXT PRIMARY KEY, input TEXT NOT NULL, topic TEXT "
            "NOT NULL, payload TEXT NOT NULL, presses INTEGER NOT NULL, created_at TEXT NOT "
            "NULL, updated_at TEXT, acked_state TEXT, acked_at TEXT, state TEXT)"
        )
        db.execute(
            "INSERT INTO outbox VALUES (?, 'desk', ?, '{}', 1, ?, ?, 'received', ?, "
            "'acknowledged')",
            [str(UUID(int=1)), TOPIC, T0.isoformat(), T0.isoformat(), T0.isoformat()],
        )
    db.close()
    box = Outbox(path)
    [old] = box.active()
    assert (old.state, old.state_at) == ("acknowledged", None)
    assert box.mark_state(UUID(int=1), "received", T0, sent(1)) is True  # no order known yet
    assert box.mark_state(UUID(int=1), "acknowledged", T0, sent(0)) is False
    box.close()


def test_the_revision_of_central_s_word_orders_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = Outbox(path)
    box.put(record(1), T0)
    box.mark_acked(UUID(int=1), "received", T0)
    assert box.mark_state(UUID(int=1), "stored", T0, sent(1), rev=1) is True
    assert box.mark_state(UUID(int=1), "received", T0, sent(2), rev=2) is True
    assert box.mark_state(UUID(int=1), "stored", T0, sent(9), rev=1) is False  # a late ack
    assert box.mark_state(UUID(int=1), "received", T0, sent(2), rev=2) is False  # the same
    assert box.mark_state(UUID(int=1), "acknowledged", T0, sent(0), rev=3) is True  # rev wins
    box.close()
    reopened = Outbox(path)
    [kept] = reopened.active()
    assert (kept.state, kept.state_at, kept.state_rev) == ("acknowledged", sent(2), 3)
    assert reopened.mark_state(UUID(int=1), "received", T0, sent(5), rev=2) is False
    assert reopened.mark_state(UUID(int=1), "resolved", T0, sent(0), rev=1) is True  # final
    reopened.close()


def test_an_outbox_without_revisions_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE outbox (alarm_id TEXT PRIMARY KEY, input TEXT NOT NULL, topic TEXT "
            "NOT NULL, payload TEXT NOT NULL, presses INTEGER NOT NULL, created_at TEXT NOT "
            "NULL, updated_at TEXT, acked_state TEXT, acked_at TEXT, state TEXT, state_at TEXT)"
        )
        db.execute(
            "INSERT INTO outbox VALUES (?, 'desk', ?, '{}', 1, ?, ?, 'received', ?, "
            "'acknowledged', ?)",
            [
                str(UUID(int=1)),
                TOPIC,
                T0.isoformat(),
                T0.isoformat(),
                T0.isoformat(),
                sent(3).isoformat(),
            ],
        )
    db.close()
    box = Outbox(path)
    [old] = box.active()
    assert (old.state, old.state_at, old.state_rev) == ("acknowledged", sent(3), None)
    # No revision kept yet: the ack's time orders it, as before.
    assert box.mark_state(UUID(int=1), "received", T0, sent(2), rev=5) is False
    assert box.mark_state(UUID(int=1), "received", T0, sent(4), rev=5) is True
    stored = box.get(UUID(int=1))
    assert stored is not None
    assert (stored.state, stored.state_at, stored.state_rev) == ("received", sent(4), 5)
    box.close()


def test_an_adopted_alarm_is_stored_acked(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    adopted = OutboxRecord(
        UUID(int=5), "desk", TOPIC, b"{}", 3, T0, acked_state="received", state="acknowledged"
    )
    box.put(adopted, T0)
    assert box.unacked() == []
    assert box.active() == [adopted]
    box.close()


def test_next_ids_are_stored_with_the_alarm_and_at_start(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = Outbox(path)
    assert box.inputs() == ({}, set())
    box.started({"desk": UUID(int=10), "door": UUID(int=11)}, {"door"}, ["desk", "door"], T0)
    box.put(record(10), T0, next_id=UUID(int=12))
    box.close()

    reopened = Outbox(path)
    assert reopened.inputs() == ({"desk": UUID(int=12), "door": UUID(int=11)}, {"door"})
    reopened.opened("door", T0)
    reopened.started({}, {"desk"}, ["desk"], T0)  # no new ids: the stored ones stay
    assert reopened.inputs() == ({"desk": UUID(int=12), "door": UUID(int=11)}, {"desk"})
    reopened.close()


def test_an_outbox_from_before_active_alarms_counts_its_acked_rows_as_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE outbox (alarm_id TEXT PRIMARY KEY, input TEXT NOT NULL, topic TEXT "
            "NOT NULL, payload TEXT NOT NULL, presses INTEGER NOT NULL, created_at TEXT NOT "
            "NULL, updated_at TEXT, acked_state TEXT, acked_at TEXT)"
        )
        for n, acked in ((1, "received"), (2, None)):
            db.execute(
                "INSERT INTO outbox VALUES (?, 'desk', ?, '{}', 1, ?, ?, ?, ?)",
                [str(UUID(int=n)), TOPIC, T0.isoformat(), T0.isoformat(), acked, None],
            )
    db.close()
    box = Outbox(path)
    assert [(r.alarm_id, r.state) for r in box.active()] == [(UUID(int=2), None)]
    box.close()


def test_unopenable_path_is_an_outbox_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutboxError, match="cannot open outbox") as raised:
        Outbox(blocker / "outbox.db")
    assert isinstance(raised.value, EdgeError)


async def test_async_outbox_runs_on_its_own_thread_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = await AsyncOutbox.open(path)
    await box.put(record(1), T0)
    await box.put(record(2), T0)
    assert await box.mark_acked(UUID(int=2), "resolved", T0) is True
    await box.close()

    again = await AsyncOutbox.open(path)
    assert [r.alarm_id for r in await again.unacked()] == [UUID(int=1)]
    assert await again.prune_acked(T0 + timedelta(days=1)) == 1
    await again.close()


async def test_async_open_failure_raises(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutboxError):
        await AsyncOutbox.open(tmp_path / "file" / "o.db")
