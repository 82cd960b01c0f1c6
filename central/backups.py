"""``trygg-central backup DEST`` and ``trygg-central restore SRC``: the commands' side.

The work is central.store.backup's; this module reads the arguments, prints progress on
stderr (only for copies long enough to need it: more than one step of pages) and says what
was done on stdout, so that a cron job's mail shows the backup's manifest and nothing else.
``backup --keep N`` then removes the oldest of this central's backups in the same folder
beyond N (central.store.backup.prune: never anything that is not one of them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from central.config import CentralSettings
from central.store.backup import backup, prune, restore


class ProgressLines:
    """A line on ``out`` each time a long copy passes another tenth."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self._out = out
        self._shown: dict[str, int] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if done >= total and name not in self._shown:
            return  # copied in one step: done before anyone could wait for it
        tenth = 10 * done // max(total, 1)
        if self._shown.get(name, -1) < tenth:
            self._shown[name] = tenth
            print(f"{name}: {done * 100 // max(total, 1)}% ({done}/{total})", file=self._out)


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    made = commands.add_parser(
        "backup",
        help="copy central's databases into a new directory (safe while central runs)",
    )
    made.add_argument("dest", type=Path, help="a directory that does not exist yet")
    made.add_argument(
        "--keep",
        type=_count,
        metavar="N",
        help="then remove the oldest of this central's backups beside DEST beyond the newest N",
    )
    back = commands.add_parser(
        "restore", help="put a backup in place of central's databases (central stopped)"
    )
    back.add_argument("src", type=Path, help="a directory made by `trygg-central backup`")
    for sub in (made, back):
        sub.add_argument("--config", type=Path, required=True, help="central TOML file")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of backups, at least 1: {text!r}")
    return value


def run(args: argparse.Namespace, settings: CentralSettings) -> int:
    """Raises BackupError (said on stderr by the caller, exit status 1)."""
    store = settings.store.path
    progress = ProgressLines()
    if args.command == "backup":
        manifest = backup(store, args.dest, progress)
        for entry in manifest.files:
            print(f"{args.dest / entry.name}  {entry.size} bytes  sha256 {entry.sha256}")
        print(f"backup of {store.parent} at {manifest.created_at}: {args.dest}")
        if args.keep is not None:
            for old in prune(store, args.dest.parent, args.keep):
                print(f"removed the older backup {old}")
        return 0
    done = restore(store, args.src, progress)
    for path in done.files:
        print(f"restored {path}")
    if done.aside is not None:
        print(f"the files replaced are kept in {done.aside}")
    for path in done.untouched:
        print(f"not in the backup, left as it was: {path}")
    return 0
