"""Backup and restore of central's databases (central.store.backup) on real SQLite files:
a snapshot while another process writes, every database beside the store, atomic and checked
copies, restore refusing a running central and a damaged backup, the old files kept aside."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
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
    owner_refusal,
    prune,
    restore,
)
from central.visiting import VAPID_FILE
from tests.support.stack import script

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


# --- who restores, and OS errors ---------------------------------------------------------

NOBODY = 65534  # a user that is not the one running the tests (root, to chown)


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("this test makes files of another user: run the tests as root (as CI does)")


def test_restore_as_root_into_a_directory_of_central_s_user_is_refused(tmp_path: Path) -> None:
    """As root on trygg's directory it would leave root's 0600 files (the lock file among
    them) that central, run as trygg, cannot open: refused, saying how to run it."""
    need_root()
    state = tmp_path / "state"
    state.mkdir()
    store = state / "central.db"
    make_db(store, 4)
    backup(store, tmp_path / "b")
    make_db(store, 1)
    os.chown(state, NOBODY, NOBODY)
    with pytest.raises(BackupError) as refused:
        restore(store, tmp_path / "b")
    assert f"{state} belongs to nobody, and this runs as root" in str(refused.value)
    assert "sudo -u nobody trygg-central restore" in str(refused.value)
    assert sorted(p.name for p in state.iterdir()) == ["central.db"]  # no lock file, nothing
    assert count(store) == 5


def test_the_owner_is_the_only_one_who_restores() -> None:
    root_owned = Path("/")
    assert owner_refusal(root_owned, 0) is None
    refused = owner_refusal(root_owned, NOBODY)
    assert refused is not None
    assert "/ belongs to root, and this runs as nobody" in refused


def test_restore_never_makes_the_state_directory(tmp_path: Path) -> None:
    """On a new server the operator makes it, owned by central's user (docs/operations.md)."""
    store = tmp_path / "state" / "central.db"
    make_db(tmp_path / "central.db", 2)
    backup(tmp_path / "central.db", tmp_path / "b")
    with pytest.raises(BackupError, match="does not exist: make it first") as refused:
        restore(store, tmp_path / "b")
    assert f"install -d -o trygg -g trygg -m 0750 {tmp_path / 'state'}" in str(refused.value)
    assert not store.parent.exists()


def test_a_backup_central_s_user_cannot_read_is_a_clear_error() -> None:
    """Restoring, as central's user, a backup made by root (0600 files): the file and the
    reason, never a traceback. Run as that user by switching this process's effective uid."""
    need_root()
    world = Path(tempfile.mkdtemp())  # pytest's tmp_path is root's alone: not traversable
    try:
        world.chmod(0o755)
        state = world / "state"
        state.mkdir()
        store = state / "central.db"
        make_db(store, 3)
        backup(store, world / "b")  # root's: 0700 directory, 0600 files
        (world / "b").chmod(0o755)
        os.chown(state, NOBODY, NOBODY)
        for file in state.iterdir():
            os.chown(file, NOBODY, NOBODY)
        os.seteuid(NOBODY)
        try:
            with pytest.raises(BackupError) as refused:
                restore(store, world / "b")
        finally:
            os.seteuid(0)
        manifest = world / "b" / MANIFEST
        assert str(refused.value) == f"cannot read the backup: {manifest}: Permission denied"
        manifest.chmod(0o644)  # the manifest readable, the database still root's alone
        os.seteuid(NOBODY)
        try:
            with pytest.raises(BackupError) as refused:
                restore(store, world / "b")
        finally:
            os.seteuid(0)
        copy = world / "b" / "central.db"
        assert str(refused.value) == f"cannot read the backup: {copy}: Permission denied"
        assert not list(state.glob("*.lock"))  # nothing made in central's directory
        assert not list(state.glob("pre-restore-*"))
        assert count(store) == 3
    finally:
        shutil.rmtree(world)


def test_an_os_error_midway_is_a_backup_error_naming_the_file(tmp_path: Path) -> None:
    store = tmp_path / "central.db"
    make_db(store, 3)
    backup(store, tmp_path / "b")
    make_db(store, 1)
    stuck = tmp_path / ".central.db.restoring"  # in the way of the staged copy
    stuck.mkdir()
    (stuck / "x").write_text("someone's")
    with pytest.raises(BackupError, match=r"restore failed: .*\.central\.db\.restoring: Is a dir"):
        restore(store, tmp_path / "b")
    assert count(store) == 4
    assert not list(tmp_path.glob("pre-restore-*"))
    assert (stuck / "x").read_text() == "someone's"


# --- keeping N backups -------------------------------------------------------------------


def at(hour: int) -> Callable[[], datetime]:
    return lambda: datetime(2026, 12, 2, hour, 30, tzinfo=UTC)


def test_keep_removes_only_the_oldest_of_this_central_s_own_backups(tmp_path: Path) -> None:
    state, other = tmp_path / "state", tmp_path / "other"
    state.mkdir()
    other.mkdir()
    store = state / "central.db"
    make_db(store, 2)
    make_db(other / "central.db", 2)
    folder = tmp_path / "backups"
    folder.mkdir()
    # Named so that names and times disagree: the manifest's time decides what is oldest.
    for name, hour in (("d", 1), ("c", 2), ("b", 3), ("a", 4)):
        backup(store, folder / name, now=at(hour))
    backup(store, folder / "edited", now=at(0))  # ours, but a file was added to it
    (folder / "edited" / "notes.txt").write_text("kept by hand")
    backup(other / "central.db", folder / "other-central", now=at(0))  # another state dir
    (folder / "photos").mkdir()
    (folder / "photos" / MANIFEST).write_text("{}")  # not a Trygg manifest
    (folder / "README").write_text("not a backup")
    (folder / ".e.partial-123").mkdir()  # a backup being made
    (folder / "link").symlink_to(folder / "a")

    assert prune(store, folder, 2) == [folder / "d", folder / "c"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".e.partial-123", "README", "a", "b", "edited", "link", "other-central", "photos"]
    )
    assert (folder / "edited" / "notes.txt").is_file()
    assert prune(store, folder, 2) == []  # nothing more to do
    with pytest.raises(BackupError, match="keep at least"):
        prune(store, folder, 0)


def test_the_backup_command_keeps_n(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    make_db(state / "central.db", 2)
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n[registry]\nopen = true\n'
        f'[store]\npath = "{state / "central.db"}"\n[[sites]]\nid = "oslo"\nname = "Oslo"\n'
    )
    backups = tmp_path / "backups"
    backups.mkdir()

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [script("trygg-central"), *argv, "--config", str(config)]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    first = run("backup", str(backups / "one"), "--keep", "1")
    assert first.returncode == 0, first.stderr
    assert "removed" not in first.stdout
    second = run("backup", str(backups / "two"), "--keep", "1")
    assert second.returncode == 0, second.stderr
    assert f"removed the older backup {backups / 'one'}" in second.stdout
    assert [p.name for p in backups.iterdir()] == ["two"]
    # Restore by root into trygg's (here: nobody's) directory: one clear line, no traceback.
    need_root()
    os.chown(state, NOBODY, NOBODY)
    wrong_user = run("restore", str(backups / "two"))
    assert wrong_user.returncode == 1
    assert wrong_user.stderr.startswith(f"trygg-central: {state} belongs to nobody")
    assert "Traceback" not in wrong_user.stderr
