"""A real X server of the test's own (Xvfb) for what only X11 shows: a missing Xvfb fails the
test with how to install it (``make test`` does)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def x_server(size: str = "1024x768x24") -> Iterator[str]:
    """Starts Xvfb on a display number it picks itself (``-displayfd``: parallel runs never
    clash) and yields the display's name (``:N``)."""
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        raise RuntimeError("Xvfb is missing: `make test` installs it (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)
