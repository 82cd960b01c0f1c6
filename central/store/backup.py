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

Restore runs as the state directory's owner or not at all (:func:`owner_refusal`): files it
made as another user (root) would be that user's, 0600, and central could not open them, nor
its lock file; a directory that does not exist is not made (by whom, owned by whom?). Rather
than guess an owner and chown, it says how to run it. Every OS error (a file it cannot read,
a rename refused) comes out as a :class:`BackupError` naming the file and the reason.

Backups accumulate: :func:`prune` removes the oldest of *this* state directory's backups
beyond a number to keep (``backup --keep N``): a directory is one of ours only if its manifest
says so, and it holds exactly the files that manifest lists; anything else in the folder is
never touched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
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


def _failed(exc: OSError) -> str:
    """An OS error as "file: reason" (both files for a rename)."""
    where = exc.filename if exc.filename is not None else "?"
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    return f"{where}: {exc.strerror or exc}"


@contextlib.contextmanager
def _os_errors(doing: str) -> Iterator[None]:
    """OSError (permission denied, disk full, ...) → BackupError saying what and where."""
    try:
        yield
    except OSError as exc:
        raise BackupError(f"{doing}: {_failed(exc)}") from None


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def owner_refusal(directory: Path, euid: int) -> str | None:
    """Why a restore into ``directory`` by the user ``euid`` must not go ahead (None: it may).

    Only the directory's owner restores: what it writes (the databases, the lock file, the
    files kept aside) is then the owner's, as central's own files are. Root is no exception;
    a missing directory is made first by the operator, owned by central's user."""
    try:
        owner = directory.stat().st_uid
    except FileNotFoundError:
        return (
            f"{directory} does not exist: make it first, owned by the user central runs as "
            f"(install -d -o trygg -g trygg -m 0750 {directory}), and restore as that user"
        )
    except OSError as exc:
        return f"cannot look at {_failed(exc)}"
    if owner != euid:
        name = _user(owner)
        return (
            f"{directory} belongs to {name}, and this runs as {_user(euid)}: the files restored "
            f"would not be {name}'s and central could not open them. Run it as {name} "
            f"(sudo -u {name} trygg-central restore ...)"
        )
    return None


# --- central's running lock ------------------------------------------------------------


class RunningLock:
    """``<store>.lock``: held shared by every running central, exclusively by a restore."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".lock")
        self._fd: int | None = None

    def _take(self, mode: int) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:  # e.g. a lock file left by a restore run as another user
            raise StoreError(f"cannot open the lock file {_failed(exc)}") from None
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
    # The state directory it was taken from (absolute): which backups ``--keep`` may prune.
    # Empty in a manifest written before it was recorded: never pruned.
    directory: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "created_at": self.created_at,
                "store": self.store,
                "directory": self.directory,
                "files": [
                    {"name": f.name, "sha256": f.sha256, "bytes": f.size} for f in self.files
                ],
            },
            indent=2,
        )

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        with _os_errors("cannot read the backup"):
            text = path.read_text(encoding="utf-8") if path.exists() else None
        try:
            if text is None:
                raise ValueError("there is none")
            raw = json.loads(text)
            if raw.get("format") != FORMAT:
                raise BackupError(f"{path}: format {raw.get('format')!r}, expected {FORMAT}")
            files = tuple(
                Copied(str(f["name"]), str(f["sha256"]), int(f["bytes"])) for f in raw["files"]
            )
            manifest = cls(
                str(raw["created_at"]), str(raw["store"]), files, str(raw.get("directory", ""))
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
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
    with _os_errors("backup failed"):
        return _backup(store_path, dest, progress, now)


def _backup(
    store_path: Path, dest: Path, progress: Progress, now: Callable[[], datetime]
) -> Manifest:
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
        directory = str(store_path.parent.resolve())
        manifest = Manifest(created_at, store_path.name, tuple(copied), directory)
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


def prune(store_path: Path, folder: Path, keep: int) -> list[Path]:
    """Remove the oldest backups of ``store_path``'s directory in ``folder`` beyond the newest
    ``keep``; the directories removed. A directory counts only if its manifest names this
    state directory and store, and it holds the files the manifest lists and nothing else (all
    plain files): anything else in ``folder`` (other backups, a partial one, a file or a
    directory of someone else's, a backup with a file added) is left alone."""
    if keep < 1:
        raise BackupError(f"--keep {keep}: keep at least the backup just made (1)")
    directory = str(store_path.parent.resolve())
    with _os_errors("pruning old backups failed"):
        ours: list[tuple[str, Path, Manifest]] = []
        for candidate in sorted(folder.iterdir()):
            manifest = _ours(candidate, directory, store_path.name)
            if manifest is not None:
                ours.append((manifest.created_at, candidate, manifest))
        ours.sort(key=lambda found: (found[0], found[1].name))
        removed: list[Path] = []
        for _created, old, manifest in ours[: max(0, len(ours) - keep)]:
            for entry in manifest.files:
                (old / entry.name).unlink()
            (old / MANIFEST).unlink()
            old.rmdir()
            removed.append(old)
        if removed:
            _fsync_dir(folder)
    return removed


def _ours(candidate: Path, directory: str, store: str) -> Manifest | None:
    """``candidate``'s manifest if it is a complete backup of ``directory``'s ``store``."""
    if candidate.is_symlink() or not candidate.is_dir() or candidate.name.startswith("."):
        return None
    try:
        manifest = Manifest.read(candidate)
    except BackupError:
        return None
    if manifest.directory != directory or manifest.store != store:
        return None
    expected = {MANIFEST, *(f.name for f in manifest.files)}
    entries = list(candidate.iterdir())
    if {e.name for e in entries} != expected:
        return None
    if any(e.is_symlink() or not e.is_file() for e in entries):
        return None
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
        with _os_errors("cannot read the backup"):
            digest = _sha256(path)
        if digest != entry.sha256:
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
    """Put the backup ``src`` in place of ``store_path``'s databases (central stopped), as
    the state directory's owner."""
    directory = store_path.parent
    refused = owner_refusal(directory, os.geteuid())
    if refused is not None:
        raise BackupError(refused)
    manifest = check(src)
    with _os_errors("restore failed"):
        return _restore(store_path, src, manifest, progress, now)


def _restore(
    store_path: Path,
    src: Path,
    manifest: Manifest,
    progress: Progress,
    now: Callable[[], datetime],
) -> Restored:
    directory = store_path.parent
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
                staged[entry.name] = stage  # removed again if its copy fails half-way
                _copy_file(src / entry.name, stage, entry.size, progress)
        except BaseException:
            for stage in staged.values():
                with contextlib.suppress(OSError):
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
