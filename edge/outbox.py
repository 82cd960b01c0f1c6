"""The durable outbox: every alarm is on disk until central has stored it.

SQLite in WAL mode with ``synchronous=FULL``: once :meth:`Outbox.put` returns, the alarm
survives a power cut, and an agent that starts finds every unacked alarm and sends it again.
Acked rows are kept for a while as a local record, then pruned.

:class:`Outbox` is plain blocking code (tests use it directly). :class:`AsyncOutbox` runs it on
one dedicated thread, so the event loop never waits for the disk and SQLite's connection is only
ever used by the thread that opened it; its single worker also keeps writes in order (an ack
can never overtake the insert of its alarm).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import sqlite_utils

from edge.errors import OutboxError

T = TypeVar("T")
TABLE = "outbox"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    alarm_id: UUID
    input: str
    topic: str
    payload: bytes
    presses: int
    created_at: datetime
    acked_state: str | None = None  # None while central has not confirmed it


class Outbox:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite_utils.Database(self.path)
            self._db.enable_wal()
            # FULL: the WAL is fsynced at every commit; an alarm on disk stays on disk.
            self._db.execute("PRAGMA synchronous=FULL")
            self._table: Any = self._db.table(TABLE)
            if not self._table.exists():
                self._table.create(
                    {
                        "alarm_id": str,
                        "input": str,
                        "topic": str,
                        "payload": str,
                        "presses": int,
                        "created_at": str,
                        "updated_at": str,
                        "acked_state": str,
                        "acked_at": str,
                    },
                    pk="alarm_id",
                    not_null={"input", "topic", "payload", "presses", "created_at"},
                )
                self._table.create_index(["acked_state", "created_at"])
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc

    def put(self, record: OutboxRecord, now: datetime) -> None:
        """Store (or update, after a re-press) an alarm as unacked."""
        row = {
            "alarm_id": str(record.alarm_id),
            "input": record.input,
            "topic": record.topic,
            "payload": record.payload.decode(),
            "presses": record.presses,
            "created_at": record.created_at.isoformat(),
            "updated_at": now.isoformat(),
            "acked_state": None,
            "acked_at": None,
        }
        with self._db.atomic():
            existing = self._table.count_where("alarm_id = ?", [row["alarm_id"]])
            if existing:
                del row["created_at"]  # the first time it was stored stays the order key
                self._table.update(row["alarm_id"], row)
            else:
                self._table.insert(row)

    def mark_acked(
        self, alarm_id: UUID, state: str, now: datetime, presses: int | None = None
    ) -> bool:
        """Central has stored the alarm, up to ``presses`` (None: whatever the count). False if
        the outbox did not hold it unacked, or holds a higher count (a re-press still to send).
        """
        with self._db.atomic():
            cursor = self._db.execute(
                f"UPDATE {TABLE} SET acked_state = ?, acked_at = ? "
                "WHERE alarm_id = ? AND acked_state IS NULL AND (? IS NULL OR presses <= ?)",
                [state, now.isoformat(), str(alarm_id), presses, presses],
            )
            return bool(cursor.rowcount)

    def unacked(self) -> list[OutboxRecord]:
        """Every alarm central has not confirmed, oldest first."""
        rows = self._table.rows_where(
            "acked_state IS NULL", order_by="created_at, rowid", select="*"
        )
        return [_record(row) for row in rows]

    def get(self, alarm_id: UUID) -> OutboxRecord | None:
        rows = list(self._table.rows_where("alarm_id = ?", [str(alarm_id)]))
        return _record(rows[0]) if rows else None

    def prune_acked(self, before: datetime) -> int:
        """Forget acked alarms acked before ``before``; returns how many."""
        with self._db.atomic():
            cursor = self._db.execute(
                f"DELETE FROM {TABLE} WHERE acked_state IS NOT NULL AND acked_at < ?",
                [before.isoformat()],
            )
            return int(cursor.rowcount)

    def probe(self) -> None:
        """Write and remove a row (the self-test's "outbox writable"); raises OutboxError."""
        try:
            with self._db.atomic():
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS selftest_probe (id INTEGER PRIMARY KEY, at TEXT)"
                )
                self._db.execute("INSERT INTO selftest_probe (at) VALUES (datetime('now'))")
                self._db.execute("DELETE FROM selftest_probe")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot write {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()


def _record(row: dict[str, Any]) -> OutboxRecord:
    return OutboxRecord(
        alarm_id=UUID(row["alarm_id"]),
        input=row["input"],
        topic=row["topic"],
        payload=row["payload"].encode(),
        presses=int(row["presses"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        acked_state=row["acked_state"],
    )


class AsyncOutbox:
    """:class:`Outbox` on its own thread. Create with :meth:`open`."""

    def __init__(self, executor: ThreadPoolExecutor, outbox: Outbox) -> None:
        self._executor = executor
        self._outbox = outbox

    @classmethod
    async def open(cls, path: str | Path) -> AsyncOutbox:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trygg-outbox")
        loop = asyncio.get_running_loop()
        try:
            outbox = await loop.run_in_executor(executor, Outbox, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, outbox)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def put(self, record: OutboxRecord, now: datetime) -> None:
        await self._call(self._outbox.put, record, now)

    async def mark_acked(
        self, alarm_id: UUID, state: str, now: datetime, presses: int | None = None
    ) -> bool:
        return await self._call(self._outbox.mark_acked, alarm_id, state, now, presses)

    async def unacked(self) -> list[OutboxRecord]:
        return await self._call(self._outbox.unacked)

    async def prune_acked(self, before: datetime) -> int:
        return await self._call(self._outbox.prune_acked, before)

    async def probe(self) -> None:
        await self._call(self._outbox.probe)

    async def close(self) -> None:
        try:
            await self._call(self._outbox.close)
        finally:
            self._executor.shutdown(wait=True)
