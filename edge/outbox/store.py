"""The durable outbox store: every alarm is on disk until central has stored it.

SQLite in WAL mode with ``synchronous=FULL``: once :meth:`Outbox.put` returns, the alarm
survives a power cut, and an agent that starts finds every unacked alarm and sends it again.
Acked rows stay: an alarm central has acked but not resolved is still *active* — after a
restart its LED shows it again and a press counts on it (:meth:`Outbox.active`); ``state`` keeps
what central last said (stored, received, acknowledged, resolved), ``state_at`` the ack's ``at``
and ``state_rev`` its ``rev``, by the LED's rule (edge.core.led): an older ack changes nothing, a
newer one is kept even when it goes back (a withdrawn "I'm coming"), "resolved" is final. An
outbox of an older edge gains ``state_rev`` on open (its rows: no revision known yet). Resolved
rows are pruned after a while.

The ``inputs`` table keeps, per input, the id its next alarm will carry (pre-allocated, stored in
the same transaction as the previous alarm, so a press cut short by a power cut can be raised
again with the same id) and whether its contact was closed at the last start (a contact closed
at two starts in a row, never opened in between, is stuck, not a new press).

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

from edge.core.led import is_stale, later
from edge.errors import OutboxError

T = TypeVar("T")
TABLE = "outbox"
INPUTS = "inputs"
RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    alarm_id: UUID
    input: str
    topic: str
    payload: bytes
    presses: int
    created_at: datetime
    acked_state: str | None = None  # None while central has not confirmed it
    state: str | None = None  # what central last said: stored, received, acknowledged, resolved
    state_at: datetime | None = None  # the ``at`` of the ack that said it (central's clock)
    state_rev: int | None = None  # the ``rev`` of the ack that said it (central's record)


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
                        "state": str,
                        "state_at": str,
                        "state_rev": int,
                    },
                    pk="alarm_id",
                    not_null={"input", "topic", "payload", "presses", "created_at"},
                )
                self._table.create_index(["acked_state", "created_at"])
            elif "state" not in self._table.columns_dict:
                # An outbox of an edge that forgot acked alarms: those rows count as over.
                with self._db.atomic():
                    self._table.add_column("state", str)
                    self._db.execute(
                        f"UPDATE {TABLE} SET state = 'resolved' WHERE acked_state IS NOT NULL"
                    )
            if "state_at" not in self._table.columns_dict:
                self._table.add_column("state_at", str)  # older rows: no order known yet
            if "state_rev" not in self._table.columns_dict:
                self._table.add_column("state_rev", int)  # older rows: ordered by time
            self._inputs: Any = self._db.table(INPUTS)
            if not self._inputs.exists():
                self._inputs.create(
                    {"input": str, "next_alarm_id": str, "closed_at_start": int, "updated_at": str},
                    pk="input",
                    not_null={"closed_at_start"},
                    defaults={"closed_at_start": 0},
                )
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc

    def put(self, record: OutboxRecord, now: datetime, next_id: UUID | None = None) -> None:
        """Store (or update, after a re-press) an alarm: unacked, unless ``record.acked_state``
        says otherwise (an alarm taken up from central). ``next_id``: the input's next alarm
        id, stored in the same transaction.
        """
        row: dict[str, Any] = {
            "alarm_id": str(record.alarm_id),
            "input": record.input,
            "topic": record.topic,
            "payload": record.payload.decode(),
            "presses": record.presses,
            "created_at": record.created_at.isoformat(),
            "updated_at": now.isoformat(),
            "acked_state": record.acked_state,
            "acked_at": now.isoformat() if record.acked_state else None,
        }
        if record.state is not None:
            row["state"] = record.state  # otherwise what central said stays as it was
            row["state_at"] = record.state_at.isoformat() if record.state_at else None
            row["state_rev"] = record.state_rev
        with self._db.atomic():
            existing = self._table.count_where("alarm_id = ?", [row["alarm_id"]])
            if existing:
                del row["created_at"]  # the first time it was stored stays the order key
                self._table.update(row["alarm_id"], row)
            else:
                self._table.insert(row)
            if next_id is not None:
                self._inputs.upsert(
                    {
                        "input": record.input,
                        "next_alarm_id": str(next_id),
                        "updated_at": now.isoformat(),
                    },
                    pk="input",
                )

    def mark_state(
        self,
        alarm_id: UUID,
        state: str,
        now: datetime,
        at: datetime | None = None,
        rev: int | None = None,
    ) -> bool:
        """Central said ``state`` (stored, received, acknowledged, resolved) about the alarm in
        an ack of revision ``rev`` sent at ``at``. Kept unless the alarm is resolved or the ack
        is older than the one kept (the LED's rule); a newer ``rev`` or ``at`` with the same
        state is kept too. False if nothing changed (or the alarm is not held)."""
        with self._db.atomic():
            rows = list(
                self._db.execute(
                    f"SELECT state, state_at, state_rev FROM {TABLE} WHERE alarm_id = ?",
                    [str(alarm_id)],
                )
            )
            if not rows:
                return False
            old_state, old_at_text, old_rev = rows[0]
            old_at = datetime.fromisoformat(old_at_text) if old_at_text else None
            final = state == RESOLVED
            if old_state == RESOLVED or is_stale(
                old_at, at, resolved=final, last_rev=old_rev, rev=rev
            ):
                return False
            kept_at, kept_rev = later(old_at, at), later(old_rev, rev)
            if state == old_state and (kept_at, kept_rev) == (old_at, old_rev):
                return False
            self._db.execute(
                f"UPDATE {TABLE} SET state = ?, state_at = ?, state_rev = ?, updated_at = ?"
                " WHERE alarm_id = ?",
                [
                    state,
                    kept_at.isoformat() if kept_at else None,
                    kept_rev,
                    now.isoformat(),
                    str(alarm_id),
                ],
            )
            return True

    def active(self) -> list[OutboxRecord]:
        """Every alarm still active: unconfirmed, or confirmed and not resolved; oldest first."""
        rows = self._table.rows_where(
            "acked_state IS NULL OR COALESCE(state, acked_state) != 'resolved'",
            order_by="created_at, rowid",
            select="*",
        )
        return [_record(row) for row in rows]

    def inputs(self) -> tuple[dict[str, UUID], set[str]]:
        """Each input's pre-allocated next alarm id, and the inputs closed at the last start."""
        next_ids, closed = {}, set()
        for row in self._inputs.rows:
            if row["next_alarm_id"]:
                next_ids[row["input"]] = UUID(row["next_alarm_id"])
            if row["closed_at_start"]:
                closed.add(row["input"])
        return next_ids, closed

    def started(
        self, next_ids: dict[str, UUID], closed: set[str], inputs: list[str], now: datetime
    ) -> None:
        """At start, one transaction: fresh next ids, and which ``inputs`` are closed now."""
        with self._db.atomic():
            for name in inputs:
                row: dict[str, Any] = {
                    "input": name,
                    "closed_at_start": int(name in closed),
                    "updated_at": now.isoformat(),
                }
                if name in next_ids:
                    row["next_alarm_id"] = str(next_ids[name])
                self._inputs.upsert(row, pk="input")

    def opened(self, input_name: str, now: datetime) -> None:
        """The input's contact opened: it was not stuck, whatever it was at the last start."""
        with self._db.atomic():
            self._db.execute(
                f"UPDATE {INPUTS} SET closed_at_start = 0, updated_at = ? WHERE input = ?",
                [now.isoformat(), input_name],
            )

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
        """Forget resolved alarms acked before ``before``; returns how many."""
        with self._db.atomic():
            cursor = self._db.execute(
                f"DELETE FROM {TABLE} WHERE acked_state IS NOT NULL AND acked_at < ? "
                "AND COALESCE(state, acked_state) = 'resolved'",
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

    def hold_write_lock(self, locked: Callable[[], None]) -> None:
        """Take the database's write lock (``BEGIN IMMEDIATE``: waits out another writer up
        to the connection's busy timeout), call ``locked`` while holding it, and let it go,
        writing nothing (no fsync, no wear on an SD card). The watchdog's beat: this thread
        runs and could write now. Raises OutboxError."""
        conn = self._db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                locked()
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot lock {self.path}: {exc}") from exc

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
        state=row.get("state"),
        state_at=datetime.fromisoformat(row["state_at"]) if row.get("state_at") else None,
        state_rev=row.get("state_rev"),
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

    async def put(self, record: OutboxRecord, now: datetime, next_id: UUID | None = None) -> None:
        await self._call(self._outbox.put, record, now, next_id)

    async def mark_state(
        self,
        alarm_id: UUID,
        state: str,
        now: datetime,
        at: datetime | None = None,
        rev: int | None = None,
    ) -> bool:
        return await self._call(self._outbox.mark_state, alarm_id, state, now, at, rev)

    async def active(self) -> list[OutboxRecord]:
        return await self._call(self._outbox.active)

    async def inputs(self) -> tuple[dict[str, UUID], set[str]]:
        return await self._call(self._outbox.inputs)

    async def started(
        self, next_ids: dict[str, UUID], closed: set[str], inputs: list[str], now: datetime
    ) -> None:
        await self._call(self._outbox.started, next_ids, closed, inputs, now)

    async def opened(self, input_name: str, now: datetime) -> None:
        await self._call(self._outbox.opened, input_name, now)

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

    def probe_writer(self, locked: Callable[[], None]) -> asyncio.Future[None]:
        """Queue :meth:`Outbox.hold_write_lock` behind every write already handed over: the
        writer thread calls ``locked`` once it got there and holds the lock. RuntimeError
        once closed."""
        return asyncio.get_running_loop().run_in_executor(
            self._executor, self._outbox.hold_write_lock, locked
        )

    async def close(self) -> None:
        try:
            await self._call(self._outbox.close)
        finally:
            self._executor.shutdown(wait=True)
