"""The desk's entry point inside the built artefact (deploy/desk/trygg-desk.spec): the same
``main`` as the ``trygg-desk`` console script, so the built desk takes the same arguments.

A windowed build (Windows' ``trygg-desk.exe``, the macOS app) has no console: Python's stdout
and stderr are None there, and the desk's log would go nowhere. It goes to a file of the
user's instead, where support can find it (docs/desk.md); one older file is kept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from desktop.cli import main

MAX_LOG_BYTES = 5_000_000


def log_folder() -> Path:
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return (Path(local) if local else Path.home() / "AppData" / "Local") / "Trygg"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / "Trygg"
    state = os.environ.get("XDG_STATE_HOME")
    return (Path(state) if state else Path.home() / ".local" / "state") / "trygg"


def log_to_a_file_without_a_console() -> None:
    if sys.stderr is not None:
        return
    folder = log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trygg-desk.log"
    if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
        path.replace(path.with_suffix(".log.1"))
    stream = path.open("a", encoding="utf-8", buffering=1)  # open for the process's life
    sys.stderr = stream
    if sys.stdout is None:
        sys.stdout = stream


if __name__ == "__main__":
    log_to_a_file_without_a_console()
    raise SystemExit(main())
