"""systemd's side of a ``Type=notify`` service, for tests on a machine whose PID 1 is not
systemd: the notify socket (a real abstract ``AF_UNIX`` datagram socket, read on a thread),
the watchdog's rule (no ``WATCHDOG=1`` for ``WatchdogSec``: time's up), and a launcher that
puts on a process the restrictions of the units that a process can set on itself
(``NoNewPrivileges=``, and ``MemoryDenyWriteExecute=`` through the kernel's PR_SET_MDWE).

Waits are bounded polls; the only measured time is the watchdog's, which is what systemd does.
"""

from __future__ import annotations

import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable

Fields = tuple[str, ...]

# Runs before exec: the restrictions are kept across execve, so the program runs under them.
_LAUNCHER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 38, 65, 1
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit(f"prctl(PR_SET_NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}")
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(
        f"prctl(PR_SET_MDWE) failed (errno {ctypes.get_errno()}): this test needs Linux >= 6.3 "
        "to run central as MemoryDenyWriteExecute=yes does"
    )
os.execv(sys.argv[1], sys.argv[1:])
"""


def hardened(argv: list[str]) -> list[str]:
    """``argv`` run with no new privileges and no writable+executable memory."""
    return [sys.executable, "-c", _LAUNCHER, *argv]


class NotifySocket:
    """Bind on creation; pass :attr:`name` as ``NOTIFY_SOCKET``; :meth:`close` at the end."""

    def __init__(self) -> None:
        self.name = f"@trygg-test-{secrets.token_hex(6)}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(b"\0" + self.name[1:].encode())
        self._sock.settimeout(0.1)
        self._lock = threading.Lock()
        self._messages: list[tuple[float, Fields]] = []  # (monotonic arrival, fields)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read, name="notify-socket", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closing.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            with self._lock:
                self._messages.append((time.monotonic(), tuple(data.decode().split("\n"))))

    def close(self) -> None:
        self._closing.set()
        self._thread.join()
        self._sock.close()

    def messages(self, after: int = 0) -> list[Fields]:
        with self._lock:
            return [fields for _, fields in self._messages[after:]]

    def count(self) -> int:
        with self._lock:
            return len(self._messages)

    def wait(self, match: Callable[[Fields], bool], after: int = 0, within: float = 30) -> int:
        """The index of the first message from ``after`` on that matches."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for index, fields in enumerate(self.messages(after), start=after):
                if match(fields):
                    return index
            time.sleep(0.02)
        raise AssertionError(f"no matching notification in {within} s: {self.messages(after)}")

    def wait_feeds(self, count: int, after: int = 0, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if sum("WATCHDOG=1" in f for f in self.messages(after)) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"fewer than {count} WATCHDOG=1 in {within} s: {self.messages(after)}")

    def watchdog_expires(self, watchdog_s: float, within: float = 30) -> None:
        """Return once no ``WATCHDOG=1`` came for ``watchdog_s`` seconds (systemd's rule:
        time to abort and restart the service); fail if it is still fed after ``within``."""
        started = time.monotonic()
        deadline = started + within
        while time.monotonic() < deadline:
            with self._lock:
                fed = [at for at, fields in self._messages if "WATCHDOG=1" in fields]
            if time.monotonic() - max([started, *fed]) > watchdog_s:
                return
            time.sleep(0.02)
        raise AssertionError(f"the watchdog was still fed after {within} s")
