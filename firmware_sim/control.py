"""Client side of a simulated edge's control socket (see :mod:`firmware_sim.pins`)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from firmware_sim.errors import SimError


def request(path: Path, **fields: Any) -> dict[str, Any]:
    """Send one request to the edge whose control socket is at ``path``; return its reply."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            sock.sendall(json.dumps(fields).encode() + b"\n")
            reply = sock.makefile("rb").readline()
    except OSError as exc:
        raise SimError(f"cannot reach simulated device at {path}: {exc}") from None
    data = json.loads(reply)
    if not data.get("ok"):
        raise SimError(str(data.get("error")))
    return dict(data)
