"""The doctor's outbox: may the agent's user keep alarms in the outbox's directory, and is
there room?

The probe makes one small file in the directory, syncs it and removes it (the only trace the
doctor leaves, and it is gone again); it never opens the outbox database, whose WAL and
journal would change. A missing directory is not made: only whether the agent could make it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from edge.config import EdgeSettings
from edge.core.doctor import MB, OutboxFacts
from edge.doctor.gpio import user_name


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path("/")


def probe_outbox(settings: EdgeSettings) -> OutboxFacts:
    path = settings.outbox.path
    directory = path.parent
    exists = directory.is_dir()
    base = _nearest_existing(directory)
    free: int | None
    try:
        free = shutil.disk_usage(base).free
    except OSError:
        free = None
    facts = OutboxFacts(
        path=str(path),
        directory=str(directory),
        directory_exists=exists,
        creatable=not exists and os.access(base, os.W_OK | os.X_OK),
        free_bytes=free,
        min_free_bytes=settings.selftest.min_free_mb * MB,
        user=user_name(),
    )
    if not exists:
        return facts
    write_error = None
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".trygg-doctor-") as probe:
            probe.write(b"trygg-edge doctor\n")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        write_error = exc.strerror or str(exc)
    file_exists = path.exists()
    return OutboxFacts(
        path=facts.path,
        directory=facts.directory,
        directory_exists=True,
        write_error=write_error,
        file_exists=file_exists,
        file_writable=os.access(path, os.R_OK | os.W_OK) if file_exists else True,
        free_bytes=free,
        min_free_bytes=facts.min_free_bytes,
        user=facts.user,
    )
