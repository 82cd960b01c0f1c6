"""The demo's working directory: one demo at a time in it, and what a second run keeps.

The default workdir is shared (``/tmp/trygg-sim-<uid>``), so a returning user's ``make demo``
finds the last demo's files there, and perhaps a demo still running. Two rules follow:

* one running demo per workdir: ``demo.lock`` is held with ``flock`` for the demo's life and
  names its pid. The kernel drops the lock when the process ends however it ends (Ctrl-C,
  kill -9, a crash), so a lock file left behind never blocks the next run; a live holder is
  named in the refusal, with how to stop it or where else to run;
* a second run reuses the office: central's database (the alarm history, the test log, the
  console account) and the edges' outboxes stay, and the console password is reset. ``fresh``
  removes that state first, for a demo that starts with an empty history.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from firmware_sim.errors import SimError

LOCK_NAME = "demo.lock"
# What a demo leaves that a later demo could reuse: central's SQLite (with WAL files) and the
# edges' outboxes. Configs, logs and the broker's files are written afresh by every run.
STATE_GLOBS = ("central.db", "central.db-*", "*-outbox.db", "*-outbox.db-*", "desk-*.jsonl")


@dataclass(frozen=True, slots=True)
class Office:
    """What this run starts from: ``reused`` the last demo's office in ``workdir``, or not."""

    workdir: Path
    reused: bool

    def banner_line(self) -> str:
        if self.reused:
            return (
                f"  office:   reused from the last demo in {self.workdir} (its alarm history is"
                " kept; the console password is new). `trygg-sim demo --fresh` starts afresh."
            )
        return f"  office:   new, in {self.workdir}"


class WorkdirLock:
    """``demo.lock`` in the workdir, held (flock) while the demo runs; it holds the pid."""

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise SimError(
                f"a demo is already running in {self.path.parent} (pid {holder}, lock file "
                f"{self.path}). Stop it with Ctrl-C in its terminal or `kill {holder}`, or run "
                "this one elsewhere: `trygg-sim --workdir DIR demo`."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.close()  # closing drops the flock
            self._file = None

    def holder(self) -> int | None:
        """The pid of the running demo here, or None when nobody holds the lock."""
        if not self.path.exists():
            return None
        with self.path.open("r") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = handle.read().strip()
                return int(text) if text.isdigit() else None
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None


def prepare_office(workdir: Path, *, fresh: bool) -> Office:
    """Decide reuse or afresh (call with the lock held); ``fresh`` removes the old state."""
    workdir.mkdir(parents=True, exist_ok=True)
    old = [p for pattern in STATE_GLOBS for p in workdir.glob(pattern)]
    if fresh:
        for path in old:
            path.unlink(missing_ok=True)
        return Office(workdir, reused=False)
    return Office(workdir, reused=(workdir / "central.db").exists())
