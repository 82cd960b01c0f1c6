"""Backup and restore of central's databases (central.store.backup) on real SQLite files:
a snapshot while another process writes, every database beside the store, atomic and checked
copies, restore refusing a running central and a damaged backup, the old files kept aside."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from central.backups import ProgressLines
from central.errors import StoreError
from central.store.backup import (
    KEY_FILES,
    MANIFEST,
    BackupError,
    CentralRunning,
    RunningLock,
    backup,
    check,
    databases,
    restore,
)
from central.visiting import VAPID_FILE

WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
n = 0
while True:
    db.execute("INSERT INTO alarms (note) VALUES (?)", [f"written while the backup runs {n}"])
    n += 1
    if n == 50:
        print("writing", flush=True)
"""


def make_db(path: Path, rows: int, blob: int = 100) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE IF NOT EXISTS alarms (id INTEGER PRIMARY KEY, note TEXT)")
    db.execute("BEGIN")
    for i in range(rows):
        db.execute("INSERT INTO alarms (note) VALUES (?)", [f"{i:06d}" + "x" * blob])
    db.execute("COMMIT")
    db.close()


def count(path: Path, table: str = "alarms") -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        db.close()


def test_a_backup_is_a_consistent_snapshot_while_another_process_writes(tmp_path: Path) -> None:
    store = tmp_path / "state" / "central.db"
    store.parent.mkdir()
    make_db(store, 20_000, blob=400)  # ~2500 pages: the copy takes several steps
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "writing\n"  # it commits while the copy runs
        lines = io.StringIO()
        manifest = backup(store, tmp_path / "backup", ProgressLines(lines))
    finally:
        writer.kill()
        writer.wait()
    copy = tmp_path / "backup" / "central.db"
    copied = count(copy)
    assert 20_000 + 50 <= copied < count(store)  # the writes went on during and after it
    ids = sqlite3.connect(copy).execute("SELECT min(id), max(id) FROM alarms").fetchone()
    assert ids == (1, copied)  # a snapshot: no gap, nothing half-written
    assert [f.name for f in manifest.files] == ["central.db"]
    progress = lines.getvalue().splitlines()
    assert progress[-1].startswith("central.db: 100% (")  # a long copy says how far it is
    assert len(progress) > 2
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["central.db", MANIFEST]
    assert not list(tmp_path.glob(".backup.partial-*"))
    assert (tmp_path / "backup" / "central.db").stat().st_mode & 0o077 == 0


def test_every_database_beside_the_store_is_backed_up_and_restored(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    store = state / "records.db"
    make_db(store, 10)
    make_db(state / "arc.db", 3)
    (state / "notes.db").write_text("not a database, though named like one")
    (state / "vapid_private.pem").write_text("the key phones' push subscriptions are bound to")
    (state / "central.toml").write_text("not central's state")
    assert databases(store) == [store, state / "arc.db"]

    single = io.StringIO()
    manifest = backup(store, tmp_path / "b1", ProgressLines(single))
    assert single.getvalue() == ""  # small copies: done in one step, nothing to report
    assert [f.name for f in manifest.files] == ["records.db", "arc.db", "vapid_private.pem"]
    raw = json.loads((tmp_path / "b1" / MANIFEST).read_text())
    assert raw["store"] == "records.db"
    for entry in raw["files"][:2]:
        copy = tmp_path / "b1" / entry["name"]
        assert entry["bytes"] == copy.stat().st_size
        assert sqlite3.connect(copy).execute("PRAGMA journal_mode").fetchone() == ("delete",)

    make_db(store, 5)  # after the backup: 15 rows, 3 in arc.db, another key
    (state / "vapid_private.pem").write_text("a key made after the backup")
    done = restore(store, tmp_path / "b1")
    assert count(store) == 10
    assert count(state / "arc.db") == 3
    assert done.files == (store, state / "arc.db", state / "vapid_private.pem")
    assert (state / "vapid_private.pem").read_text().startswith("the key phones'")
    assert done.untouched == ()
    assert done.aside is not None
    assert done.aside.parent == state
    assert count(done.aside / "records.db") == 15  # the replaced file, whole, with its WAL
    assert not list(state.glob(".*.restoring"))

    again = restore(store, tmp_path / "b1")  # a second restore keeps its own aside
    assert again.aside is not None
    assert again.aside != done.aside


def test_the_key_files_are_centrals() -> None:
    assert VAPID_FILE in KEY_FILES  # central.visiting's key: restored with the record


def test_a_backup_never_overwrites_and_needs_a_store(tmp_path: Path) -> None:
    store = tmp_path / "central.db"
    with pytest.raises(BackupError, match="nothing to back up"):
        backup(store, tmp_path / "b")
    make_db(store, 1)
    (tmp_path / "b").mkdir()
    with pytest.raises(BackupError, match="exists"):
        backup(store, tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == []


def test_restore_refuses_while_central_holds_its_lock(tmp_path: Path) -> None:
    store = tmp_path / "central.db"
    make_db(store, 4)
    backup(store, tmp_path / "b")
    make_db(store, 1)
    running = RunningLock(store)
    running.hold_running()  # what Central.start does
    try:
        with pytest.raises(CentralRunning, match="central is running on"):
            restore(store, tmp_path / "b")
        assert count(store) == 5  # nothing changed
        assert not list(tmp_path.glob("pre-restore-*"))
    finally:
        running.release()
    restore(store, tmp_path / "b")
    assert count(store) == 4


def test_central_refuses_to_start_during_a_restore(tmp_path: Path) -> None:
    store = tmp_path / "central.db"
    restoring = RunningLock(store)
    restoring.hold_restoring()
    try:
        with pytest.raises(StoreError, match="a restore is replacing"):
            RunningLock(store).hold_running()
    finally:
        restoring.release()
    central = RunningLock(store)
    central.hold_running()  # and two centrals' shared holds do not exclude each other
    other = RunningLock(store)
    other.hold_running()
    other.release()
    central.release()


def test_restore_refuses_a_damaged_backup_and_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "state" / "central.db"
    store.parent.mkdir()
    make_db(store, 2000)
    backup(store, tmp_path / "b")
    copy = tmp_path / "b" / "central.db"
    data = bytearray(copy.read_bytes())
    data[8192:8200] = b"\xff" * 8  # a flipped sector in the middle of the file
    copy.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum"):
        restore(store, tmp_path / "b")

    # The manifest made to match: the file's own integrity check still refuses it.
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text())
    manifest["files"][0]["sha256"] = hashlib.sha256(data).hexdigest()
    (tmp_path / "b" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="integrity check"):
        check(tmp_path / "b")
    with pytest.raises(BackupError, match="integrity check"):
        restore(store, tmp_path / "b")
    assert count(store) == 2000
    assert not list(store.parent.glob("pre-restore-*"))
    assert not list(store.parent.glob(".*.restoring"))


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ("{", "not a Trygg backup manifest"),
        ('{"format": 9, "created_at": "x", "store": "a.db", "files": []}', "format 9"),
        ('{"format": 1, "created_at": "x", "store": "a.db", "files": []}', "not listed once"),
        (
            '{"format": 1, "created_at": "x", "store": "../a.db",'
            ' "files": [{"name": "../a.db", "sha256": "0", "bytes": 1}]}',
            "bad file name",
        ),
    ],
)
def test_a_manifest_that_is_not_ours_is_refused(tmp_path: Path, manifest: str, reason: str) -> None:
    (tmp_path / MANIFEST).write_text(manifest)
    with pytest.raises(BackupError, match=reason):
        check(tmp_path)
