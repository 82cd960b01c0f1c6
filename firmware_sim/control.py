"""Control sockets: how ``trygg-sim`` reaches simulated hardware in another process.

A Unix stream socket per simulated thing (an edge's pins, a room's sensor board); one JSON
object per line in each direction. A request is ``{"cmd": ..., ...}``; the reply is
``{"ok": true, ...}`` or ``{"ok": false, "error": "why"}``.
"""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from firmware_sim.errors import SimError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def request(path: Path, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
    """Send one request to the control socket at ``path``; return its reply."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(fields).encode() + b"\n")
            reply = sock.makefile("rb").readline()
    except OSError as exc:
        raise SimError(f"cannot reach simulated device at {path}: {exc}") from None
    try:
        data = json.loads(reply)
    except ValueError:
        raise SimError(f"no answer from {path}") from None
    if not data.get("ok"):
        raise SimError(str(data.get("error")))
    return dict(data)


class _LineHandler(socketserver.StreamRequestHandler):
    server: ControlServer

    def handle(self) -> None:
        for raw in self.rfile:
            try:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    raise SimError("request must be a JSON object")
                reply = self.server.handler(message)
            except (ValueError, TypeError, SimError) as exc:
                reply = {"ok": False, "error": str(exc)}
            self.wfile.write(json.dumps(reply).encode() + b"\n")


class ControlServer(socketserver.ThreadingUnixStreamServer):
    """Serves ``handler`` on a Unix socket at ``path`` from a daemon thread."""

    daemon_threads = True

    def __init__(self, path: Path, handler: Handler, name: str = "sim-control") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.path = path
        self.handler = handler
        super().__init__(str(path), _LineHandler)
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.1,), name=name, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("control socket at %s", self.path)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.path.unlink(missing_ok=True)
