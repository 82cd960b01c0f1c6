"""The record: SQLite (WAL) through sqlite-utils, written by one thread with group commit.

Why one writer thread: SQLite allows one writer at a time anyway, and a thread that takes
every write waiting in its queue into one transaction pays for one fsync per *batch*, so a
burst of alarms and receipts costs about as much as one. The event loop never waits for the
disk: it gets a future that resolves once the write is committed (that is when an ack may go).

Reads (for the API) use their own connection on a separate thread; WAL lets them run while
the writer writes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from central.core import Persist
from central.errors import StoreClosed, StoreError
from central.store.accounts import create_schema as create_accounts_schema
from central.store.announcements import create_schema as create_announcements_schema
from central.store.drills import create_schema as create_drills_schema
from central.store.floods import create_schema as create_floods_schema
from central.store.identities import create_schema as create_identities_schema
from central.store.meetings import create_schema as create_meetings_schema
from central.store.pairings import create_schema as create_pairings_schema
from central.store.reports import create_schema as create_reports_schema
from central.store.rows import ALARM_COLUMNS, EVENT_COLUMNS, alarm_row, alarm_view, event_row
from central.store.testlog import create_schema as create_testlog_schema
from central.store.visits import create_schema as create_visits_schema
from protocol.screen import AlarmView

log = logging.getLogger(__name__)

MAX_BATCH = 1000
_STOP = object()

Write = Persist | Callable[[sqlite_utils.Database], None]  # an alarm write, or any other
_Job = tuple[Write, "asyncio.Future[None]"]


def _private(path: Path) -> None:
    """The database holds people, tokens' hashes and the alarm record: readable by central's
    user only (0600). SQLite gives its -wal and -shm files the database file's mode.

    The file is opened (to create it) only when it does not exist yet: closing any descriptor
    of a database file drops every POSIX lock this process holds on it, so opening and closing
    it beside the writer's connection (the reader connects second) would let another process
    (the CLI, a backup) take itself for the last user, checkpoint and delete the WAL under the
    running central: a corrupt database."""
    if not path.exists():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            os.chmod(file, 0o600)


def _connect(path: Path) -> sqlite_utils.Database:
    _private(path)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=True)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    # FULL: a commit survives power loss in WAL mode too; the ack to the edge promises that.
    db.execute("PRAGMA synchronous = FULL")
    # What is deleted or overwritten is zeroed on disk, not left in free space: anonymising
    # an incident report must not leave its text readable in the file (docs/reports.md). The
    # cost is a write of the freed bytes, on deletes only.
    db.execute("PRAGMA secure_delete = ON")
    return db


def create_schema(db: sqlite_utils.Database) -> None:
    db.enable_wal()
    with db.atomic():
        db.table("alarms").create(
            ALARM_COLUMNS,
            pk="alarm_id",
            not_null={"site", "device", "state", "raised_at"},
            if_not_exists=True,
        )
        # A database made by an earlier version gains the columns added since (all nullable).
        alarms = db.table("alarms")
        for name, kind in ALARM_COLUMNS.items():
            if name not in alarms.columns_dict:
                alarms.add_column(name, kind)
        db.table("events").create(
            EVENT_COLUMNS, pk="id", not_null={"alarm_id", "kind", "at"}, if_not_exists=True
        )
        db.table("events").create_index(["alarm_id"], if_not_exists=True)
        db.table("alarms").create_index(["site"], if_not_exists=True)
        create_testlog_schema(db)
        create_accounts_schema(db)
        create_floods_schema(db)  # merged flood cards (central.core.floodcards)
        create_announcements_schema(db)  # evacuate / lockdown / all clear (their history)
        create_visits_schema(db)  # the visit timer and phones' push (central.core.visits)
        create_meetings_schema(db)  # meetings with standby (central.core.standby)
        create_drills_schema(db)  # drills, training, routines read (central.core.drills)
        create_reports_schema(db)  # incident reports (central.core.reports)
        create_identities_schema(db)  # single sign-on accounts' bindings (central.auth.sso)
        create_pairings_schema(db)  # desks pairing with the console (central.core.pairing)


class Store:
    """Open with :meth:`open` (from the event loop), close with :meth:`close`."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_batch: int = MAX_BATCH,
        observe_commit: Callable[[float], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.max_batch = max_batch
        # Told the seconds of each committed transaction that carried an alarm's write (a
        # Persist), on the writer thread (central.metrics): the latency an ack waits for, not
        # that of the watchdog's empty probes or of other bookkeeping.
        self._observe_commit = observe_commit or (lambda _seconds: None)
        self.transactions = 0  # committed batches
        self.writes = 0  # committed Persist actions
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._readers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-read")
        self._reader_db: sqlite_utils.Database | None = None  # only touched on that thread
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = threading.Thread(target=self._write_loop, name="store-write", daemon=True)
        self._writer.start()
        await asyncio.to_thread(self._ready.wait)
        if self._failure is not None:
            raise StoreError(f"cannot open {self.path}: {self._failure}") from self._failure

    async def close(self) -> None:
        """Finish every write already submitted, then stop."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._writer.join)
        await asyncio.get_running_loop().run_in_executor(self._readers, self._close_reader)
        self._readers.shutdown(wait=True)

    # --- writing -------------------------------------------------------------------------

    def submit(self, persist: Write) -> asyncio.Future[None]:
        """Queue ``persist`` (or a function that writes with the db it is given); the future
        resolves (on the loop) once it is committed."""
        if self._loop is None:
            raise RuntimeError("Store.open() first")
        future: asyncio.Future[None] = self._loop.create_future()
        if self._closed:
            future.set_exception(StoreClosed("the store is closed"))
        else:
            self._queue.put((persist, future))
        return future

    def _write_loop(self) -> None:
        try:
            db = _connect(self.path)
            create_schema(db)
        except (sqlite3.Error, OSError) as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                batch, stop = self._take_batch()
                if batch:
                    self._write_batch(db, batch)
                if stop:
                    return
        finally:
            db.close()

    def _take_batch(self) -> tuple[list[_Job], bool]:
        """Block for one job, then take every job already waiting (up to ``max_batch``)."""
        item = self._queue.get()
        if item is _STOP:
            return [], True
        batch: list[_Job] = [item]
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _write_batch(self, db: sqlite_utils.Database, batch: list[_Job]) -> None:
        results: list[BaseException | None] = []
        started = time.perf_counter()
        took: float | None = None  # the commit's seconds, once it is done
        alarms = any(isinstance(persist, Persist) for persist, _ in batch)
        try:
            # IMMEDIATE: take the write lock up front (waiting out another writer, such as the
            # CLI's `user` commands, for busy_timeout) instead of failing when a read upgrades
            # to a write. A backup only reads (a WAL snapshot): it never holds this lock.
            db.execute("BEGIN IMMEDIATE")
            try:
                for persist, _ in batch:
                    results.append(self._apply_isolated(db, persist))
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise
        except sqlite3.Error as exc:  # the lock or the commit failed (busy, disk full, I/O)
            log.error("store: commit of %d writes failed: %s", len(batch), exc)
            results = [StoreError(f"commit failed: {exc}")] * len(batch)
        else:
            took = time.perf_counter() - started
            self.transactions += 1
            self.writes += sum(r is None for r in results)
        if self._loop is None:  # the writer thread is started by open(), which sets the loop
            raise RuntimeError("Store.open() first")
        self._loop.call_soon_threadsafe(_settle, batch, results)
        if took is not None and alarms:  # after the commit is on its way to the loop
            self._observe_commit(took)

    @staticmethod
    def _apply_isolated(db: sqlite_utils.Database, persist: Write) -> BaseException | None:
        # A savepoint per write: one bad write fails alone, the rest of the batch commits.
        if not isinstance(persist, Persist):
            try:
                with db.atomic():
                    persist(db)
            except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
                log.error("store: write %s failed: %s", getattr(persist, "__name__", "?"), exc)
                return StoreError(str(exc))
            return None
        try:
            with db.atomic():
                if persist.alarm is not None:
                    row = alarm_row(persist.alarm)
                    if persist.insert:
                        # Even if the core were wrong, the record holds each alarm once.
                        db.table("alarms").insert(row, ignore=True)
                    else:
                        db.table("alarms").upsert(row, pk="alarm_id")
                if persist.events:
                    db.table("events").insert_all([event_row(e) for e in persist.events])
        except (sqlite3.Error, ValueError, TypeError) as exc:
            log.error("store: write for alarm %s failed: %s", persist.alarm_id, exc)
            return StoreError(str(exc))
        return None

    # --- reading -------------------------------------------------------------------------

    async def read(self, query: Callable[[sqlite_utils.Database], Any]) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._run_read, query)

    def _run_read(self, query: Callable[[sqlite_utils.Database], Any]) -> Any:
        if self._reader_db is None:
            self._reader_db = _connect(self.path)
        return query(self._reader_db)

    def _close_reader(self) -> None:
        if self._reader_db is not None:
            self._reader_db.close()
            self._reader_db = None

    async def restorable(self, resolved_since: datetime) -> list[AlarmView]:
        """Active alarms, and alarms resolved since ``resolved_since`` (to rebuild the book)."""
        since = resolved_since.isoformat()

        def query(db: sqlite_utils.Database) -> list[AlarmView]:
            rows = db.query(
                "SELECT * FROM alarms WHERE state != 'resolved' OR resolved_at >= ? ORDER BY rowid",
                [since],
            )
            return [alarm_view(r) for r in rows]

        result: list[AlarmView] = await self.read(query)
        return result

    async def recent(
        self, limit: int, sites: frozenset[str] | None, include_tests: bool = False
    ) -> list[dict[str, Any]]:
        """Newest first: alarms (of ``sites``; None means all) with their event timelines.
        Test alarms only when ``include_tests``: they are never part of alarm statistics."""

        def query(db: sqlite_utils.Database) -> list[dict[str, Any]]:
            clauses: list[str] = []
            params: list[Any] = []
            if sites is not None:
                if not sites:
                    return []
                clauses.append(f"site IN ({', '.join('?' * len(sites))})")
                params = sorted(sites)
            if not include_tests:
                clauses.append("NOT test")
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = list(
                db.query(
                    f"SELECT * FROM alarms {where} ORDER BY rowid DESC LIMIT ?", [*params, limit]
                )
            )
            if not rows:
                return []
            ids = [r["alarm_id"] for r in rows]
            timeline: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            for event in db.query(
                f"SELECT alarm_id, kind, at, actor, detail FROM events"
                f" WHERE alarm_id IN ({', '.join('?' * len(ids))}) ORDER BY id",
                ids,
            ):
                timeline[event.pop("alarm_id")].append(event)
            return [
                {**alarm_view(r).model_dump(mode="json"), "events": timeline[r["alarm_id"]]}
                for r in rows
            ]

        result: list[dict[str, Any]] = await self.read(query)
        return result


def _settle(batch: list[_Job], results: list[BaseException | None]) -> None:
    for (_, future), error in zip(batch, results, strict=True):
        if future.done():  # cancelled by its waiter
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
