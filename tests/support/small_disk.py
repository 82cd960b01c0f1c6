"""A small tmpfs to fill up: the full-disk tests of central's store (needs root and `mount`)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path


def mount_small_disk(path: Path) -> None:
    path.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        f"this test mounts a small tmpfs to fill it (needs root and `mount`): {result.stderr}"
    )


def fill(disk: Path) -> Path:
    """Write zeros until the disk takes no byte more."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        size = 65536
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2
    finally:
        os.close(fd)
    return filler
