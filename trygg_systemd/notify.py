"""systemd's notify protocol (sd_notify(3)), ours: one datagram to ``$NOTIFY_SOCKET``.

Why not a library: the ``sdnotify`` package on PyPI was last released in 2017 (abandoned; it
swallows every error and knows nothing of the watchdog's variables), and ``systemd-python``
is a C extension that needs libsystemd's headers at install time (a compiler on every server,
and no wheel for a Pi). The protocol itself is small and stable: newline-separated
``KEY=value`` lines in one datagram to an ``AF_UNIX`` socket whose path is in
``$NOTIFY_SOCKET`` (``@`` first: Linux's abstract namespace). What our services say with it:
``READY=1`` once they really work (central: serving; the edge: pins claimed, outbox open, MQTT
link started), ``STATUS=…`` (a line ``systemctl status`` shows), ``WATCHDOG=1`` while their
parts are alive (trygg_systemd.feeding) and ``STOPPING=1`` on the way out.

Sending never blocks and never raises: a notification that cannot go is logged once and
dropped. systemd notices a missing ``WATCHDOG=1`` by itself, which is the point of it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes | None:
    """The address of ``$NOTIFY_SOCKET``'s value: a path, or an abstract name (``@name`` →
    ``b"\\0name"``); None for what this module cannot reach (empty, ``vsock:``, relative)."""
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None


@dataclass(frozen=True, slots=True)
class WatchdogTiming:
    """``$WATCHDOG_USEC`` as seconds: systemd restarts the service when no ``WATCHDOG=1``
    came for ``timeout_s`` (``WatchdogSec=``)."""

    timeout_s: float


def watchdog_timing(env: Mapping[str, str], pid: int) -> WatchdogTiming | None:
    """The watchdog systemd asks this process to feed, or None: unset, zero, malformed, or
    meant for another process (``$WATCHDOG_PID`` set and not ``pid``)."""
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = env.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None
    return WatchdogTiming(timeout_s=int(usec) / 1_000_000)


class Notifier:
    """Sends to the socket named in ``env`` (default: the process environment)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        value = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
        self.address = socket_address(value)
        self._warned = False
        if value and self.address is None:
            log.warning("NOTIFY_SOCKET=%r is not a socket this process can reach; ignored", value)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``, ``"STATUS=…"``) in one datagram; True if it went."""
        if self.address is None or not fields:
            return False
        message = "\n".join(f.replace("\n", " ") for f in fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)  # a full receive queue drops this one, never waits
                sock.sendto(message, self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("sd_notify to %r failed: %s", self.address, exc)
            return False
        self._warned = False
        return True
