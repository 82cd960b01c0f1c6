"""Who else has a file open: the running agent holds its outbox and its serial port.

The doctor must change nothing, and a second process on the same serial line would take the
agent's frames (a pendant's PRESS among them), while a second MQTT login with the device's
account throws the agent off the broker. So before touching a shared part the doctor looks in
``/proc/*/fd`` for another process that has it open. It sees the processes of its own user (the
agent's, when run as ``trygg``) and all of them as root; that is enough for the agent.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PROC = Path("/proc")


def _key(st: os.stat_result) -> tuple[int, ...]:
    # A serial device may be reached through several nodes (/dev/serial/by-id/… and
    # /dev/ttyUSB0): the device number identifies it. A file is its inode.
    if stat.S_ISCHR(st.st_mode):
        return (st.st_rdev,)
    return (st.st_dev, st.st_ino)


def _cmdline(pid: str) -> str:
    try:
        raw = (PROC / pid / "cmdline").read_bytes()
    except OSError:
        return "?"
    text = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return text if len(text) <= 80 else text[:77] + "..."


def holders(path: Path | str) -> tuple[str, ...]:
    """``"pid command line"`` of every other process with ``path`` open (none if it is absent)."""
    try:
        wanted = _key(os.stat(path))
    except OSError:
        return ()
    me = str(os.getpid())
    found: list[str] = []
    try:
        entries = list(os.scandir(PROC))
    except OSError:
        return ()
    for entry in entries:
        if not entry.name.isdigit() or entry.name == me:
            continue
        try:
            fds = list(os.scandir(entry.path + "/fd"))
        except OSError:  # gone, or another user's process
            continue
        for fd in fds:
            try:
                if _key(os.stat(fd.path)) == wanted:
                    found.append(f"pid {entry.name}: {_cmdline(entry.name)}")
                    break
            except OSError:
                continue
    return tuple(found)
