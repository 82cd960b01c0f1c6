"""A real SNTP server (RFC 4330) on a UDP port of this machine, for clock checks.

It answers every request with this machine's time plus ``offset_s``: a peer that agrees, or one
an hour off, without touching the machine's own clock. Used by the edge doctor's tests.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


class TimePeer:
    def __init__(self, offset_s: float = 0.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.offset_s = offset_s
        self.sock.settimeout(0.1)  # how quickly close() is seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="time-peer", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def _stamp(t: float) -> bytes:
        return struct.pack("!II", int(t) + NTP_EPOCH_OFFSET, int((t % 1) * 2**32))

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                request, client = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            now = self._stamp(time.time() + self.offset_s)
            # LI 0, version 4, mode 4 (server), stratum 2; origin = the client's transmit time.
            answer = bytes([0x24, 2, 6, 0xEC]) + b"\0" * 20 + request[40:48] + now + now
            self.sock.sendto(answer, client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
