"""Backup and restore of central's databases, safe while central runs.

Every SQLite database central keeps in its store's directory is copied: the alarm record
(``[store] path``), the ARC outbox (``arc.db``) and any other ``*.db`` that is an SQLite file
(found by its header, so a database added later is not forgotten), and the key files kept
there (``vapid_private.pem``: phones' Web Push subscriptions are bound to it, so a central
restored on a new server without it could no longer wake a phone). Each database is copied with
SQLite's online backup API from inside one read transaction: in WAL mode that transaction is
a snapshot, so the copy is the record as it was committed at that instant, while central goes
on writing (a reader never blocks the writer, and the copy does not restart when it writes).
Every alarm whose ack went out before the backup began is therefore in it: central acks only
after the commit.

A backup is a directory, made under a temporary name and renamed into place once every file
in it is fsynced and has passed ``PRAGMA integrity_check``: a backup that exists is complete.
Its ``manifest.json`` lists each file with its SHA-256; the copies are single files
(``journal_mode=DELETE``) readable by the sqlite3 tool.

Restore refuses while central runs on that state directory. Central holds a shared
``flock(2)`` on ``<store>.lock`` for as long as it runs (:class:`RunningLock`); restore takes it
exclusively without waiting, so it fails exactly when a central (or another restore) holds it.
The kernel drops the lock when the process dies, however it dies, so a stale lock file never
blocks a restore, and a central starting during a restore refuses to start instead of opening
half-restored files. Restore checks every file of the backup (checksum, integrity) before it
touches anything, and keeps the files it replaces, with their ``-wal``, in a
``pre-restore-<time>`` directory beside them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from central.errors import StoreError

MANIFEST = "manifest.json"
#: Central's files beside the store that are not databases (central.visiting.VAPID_FILE).
KEY_FILES = ("vapid_private.pem",)
FORMAT = 1
PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default page size; progress is told per step
_HEADER = b"SQLite format 3\0"

#: (file name, pages copied, pages in all): for progress lines on long copies.
Progress = Callable[[str, int, int], None]


class BackupError(StoreError):
    """A backup or restore that could not be done; nothing was changed."""


class CentralRunning(BackupError):
    """Restore refused: a central runs on this state directory."""


def _no_progress(_name: str, _done: int, _total: int) -> None:
    return None


# --- central's running lock ------------------------------------------------------------


class RunningLock:
    """``<store>.lock``: held shared by every running central, exclusively by a restore."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".lock")
        self._fd: int | None = None

    def _take(self, mode: int) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def hold_running(self) -> None:
        """Central starts: refused (StoreError) while a restore replaces the files."""
        if not self._take(fcntl.LOCK_SH):
            raise StoreError(f"a restore is replacing the databases in {self.path.parent}")

    def hold_restoring(self) -> None:
        if not self._take(fcntl.LOCK_EX):
            raise CentralRunning(
                f"central is running on {self.path.parent} (it holds {self.path.name}); "
                "stop it first (systemctl stop trygg-central)"
            )

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


# --- what is backed up -------------------------------------------------------------------


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(_HEADER)) == _HEADER
    except OSError:
        return False


def databases(store_path: Path) -> list[Path]:
    """The store first, then every other SQLite database beside it (sorted by name)."""
    found = [store_path] if store_path.is_file() else []
    for path in sorted(store_path.parent.glob("*.db")):
        if path != store_path and path.is_file() and is_sqlite(path):
            found.append(path)
    return found


def key_files(store_path: Path) -> list[Path]:
    """Central's key files beside the store (copied as they are)."""
    return [p for name in KEY_FILES if (p := store_path.parent / name).is_file()]


@dataclass(frozen=True, slots=True)
class Copied:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    created_at: str
    store: str  # the name of the alarm record among ``files``
    files: tuple[Copied, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "created_at": self.created_at,
                "store": self.store,
                "files": [
                    {"name": f.name, "sha256": f.sha256, "bytes": f.size} for f in self.files
                ],
            },
            indent=2,
        )

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT:
                raise BackupError(f"{path}: format {raw.get('format')!r}, expected {FORMAT}")
            files = tuple(
                Copied(str(f["name"]), str(f["sha256"]), int(f["bytes"])) for f in raw["files"]
            )
            manifest = cls(str(raw["created_at"]), str(raw["store"]), files)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{path}: not a Trygg backup manifest ({exc})") from None
        names = [f.name for f in files]
        if manifest.store not in names or len(set(names)) != len(names):
            raise BackupError(f"{path}: the store {manifest.store!r} is not listed once")
        for name in names:  # names only, never a path: restore writes them beside the store
            if Path(name).name != name or not (name.endswith(".db") or name in KEY_FILES):
                raise BackupError(f"{path}: bad file name {name!r}")
        return manifest


# --- small file-system helpers -------------------------------------------------------------


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of ``path`` opened read-only: "ok", or what is wrong."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    return "; ".join(str(r[0]) for r in rows)[:500]


@contextlib.contextmanager
def _connect(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    mode = "rwc" if create else "rw"  # the source is never created by a mistyped path
    conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        yield conn
    finally:
        conn.close()


# --- backup --------------------------------------------------------------------------------


def _copy(source: Path, target: Path, progress: Progress) -> None:
    os.close(os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    with _connect(source, create=False) as src, _connect(target, create=True) as dst:
        # One read transaction around every step: the copy is one snapshot (WAL), and
        # central's writes meanwhile neither wait nor restart the copy.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            src.backup(
                dst,
                pages=PAGES_PER_STEP,
                progress=lambda _status, left, total: progress(source.name, total - left, total),
            )
        finally:
            src.execute("ROLLBACK")
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
    _fsync_file(target)


def backup(
    store_path: Path,
    dest: Path,
    progress: Progress = _no_progress,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Manifest:
    """Copy every database and key file of ``store_path``'s directory into the new
    directory ``dest``."""
    if dest.exists():
        raise BackupError(f"{dest} exists; a backup never overwrites (choose a new name)")
    found = databases(store_path)
    if not found or found[0] != store_path:
        raise BackupError(f"no database at {store_path}: nothing to back up")
    created_at = now().isoformat(timespec="seconds")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a directory")
    partial.mkdir(mode=0o700)
    try:
        copied: list[Copied] = []
        for source in found:
            target = partial / source.name
            try:
                _copy(source, target, progress)
            except sqlite3.Error as exc:
                raise BackupError(f"{source}: {exc}") from None
            verdict = integrity(target)
            if verdict != "ok":
                raise BackupError(f"the copy of {source} fails its integrity check: {verdict}")
            copied.append(Copied(source.name, _sha256(target), target.stat().st_size))
        for source in key_files(store_path):
            target = partial / source.name
            _copy_file(source, target, source.stat().st_size, progress)
            copied.append(Copied(source.name, _sha256(target), target.stat().st_size))
        manifest = Manifest(created_at, store_path.name, tuple(copied))
        fd = os.open(partial / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(manifest.to_json() + "\n")
            file.flush()
            os.fsync(file.fileno())
        _fsync_dir(partial)
        os.rename(partial, dest)  # a ``dest`` made meanwhile with anything in it: refused
        _fsync_dir(dest.parent)
    except BaseException:
        for leftover in partial.glob("*"):
            leftover.unlink()
        with contextlib.suppress(OSError):
            partial.rmdir()
        raise
    return manifest


# --- restore -------------------------------------------------------------------------------


def check(src: Path) -> Manifest:
    """A backup's manifest, once every file it lists matches its checksum and passes
    ``integrity_check``; BackupError naming the first that does not."""
    manifest = Manifest.read(src)
    for entry in manifest.files:
        path = src / entry.name
        if not path.is_file():
            raise BackupError(f"{path} is missing from the backup")
        if _sha256(path) != entry.sha256:
            raise BackupError(f"{path} differs from the manifest (checksum): damaged or edited")
        if entry.name in KEY_FILES:
            continue
        verdict = integrity(path)
        if verdict != "ok":
            raise BackupError(f"{path} fails its integrity check: {verdict}")
    return manifest


@dataclass(frozen=True, slots=True)
class Restored:
    files: tuple[Path, ...]  # the databases now in place
    aside: Path | None  # where the files they replaced were kept (None: there were none)
    untouched: tuple[Path, ...]  # central's files there that the backup does not have


def restore(
    store_path: Path,
    src: Path,
    progress: Progress = _no_progress,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Restored:
    """Put the backup ``src`` in place of ``store_path``'s databases (central stopped)."""
    manifest = check(src)
    directory = store_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    lock = RunningLock(store_path)
    lock.hold_restoring()
    try:
        targets = {
            e.name: store_path if e.name == manifest.store else directory / e.name
            for e in manifest.files
        }
        # 1. Every file copied beside its target first: nothing is replaced until all are there.
        staged: dict[str, Path] = {}
        try:
            for entry in manifest.files:
                target = targets[entry.name]
                stage = target.with_name(f".{target.name}.restoring")
                stage.unlink(missing_ok=True)
                _copy_file(src / entry.name, stage, entry.size, progress)
                staged[entry.name] = stage
        except BaseException:
            for stage in staged.values():
                stage.unlink(missing_ok=True)
            raise
        # 2. The files they replace, with their -wal and -shm, kept aside; 3. the copies in.
        aside = _unused(directory / f"pre-restore-{now().strftime('%Y%m%dT%H%M%S')}")
        moved = False
        for name, stage in staged.items():
            target = targets[name]
            for old in (target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))):
                if old.exists():
                    aside.mkdir(mode=0o700, exist_ok=True)
                    os.rename(old, aside / old.name)
                    moved = True
            os.rename(stage, target)
        _fsync_dir(directory)
        if moved:
            _fsync_dir(aside)
        restored = tuple(targets[e.name] for e in manifest.files)
        present = (*databases(store_path), *key_files(store_path))
        untouched = tuple(p for p in present if p not in restored)
        return Restored(restored, aside if moved else None, untouched)
    finally:
        lock.release()


def _unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``…: the first that does not exist."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate


def _copy_file(source: Path, target: Path, size: int, progress: Progress) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    done = 0
    with source.open("rb") as reader, os.fdopen(fd, "wb") as writer:
        for chunk in iter(lambda: reader.read(4 << 20), b""):
            writer.write(chunk)
            done += len(chunk)
            progress(source.name, done, max(size, done))
        writer.flush()
        os.fsync(writer.fileno())
