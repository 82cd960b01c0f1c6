"""The doctor's clock: does the kernel call it synchronised, and what does a time peer say?

**adjtimex(2) through ctypes, not ``timedatectl``.** ``timedatectl show -p NTPSynchronized``
answers from exactly this call (systemd's ``ntp_synced()``: the kernel's clock state is not
``TIME_ERROR`` and ``STA_UNSYNC`` is clear), but needs D-Bus and systemd as init; adjtimex works
for any time daemon (systemd-timesyncd, chrony, ntpd), needs no privilege when it only reads
(``modes = 0``), and also gives the kernel's estimate of the clock's maximum error.

The peer is asked with one SNTP request (RFC 4330) over UDP: by default the broker's host (an
office server that runs the broker usually serves time too); a peer that does not answer is
only "not compared".
"""

from __future__ import annotations

import ctypes
import socket
import struct
import time
from datetime import UTC, datetime

from edge.core.doctor import ClockFacts

TIME_ERROR = 5
STA_UNSYNC = 0x0040
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
NTP_TIMEOUT_S = 1.5


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    # struct timex (linux/timex.h) up to ``tick``; the kernel's remaining fields go in the pad.
    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("_pad", ctypes.c_byte * 256),
    )


def kernel_sync() -> tuple[bool | None, float | None, str | None]:
    """(synchronised, maximum error in seconds, why unknown) from adjtimex(2)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError) as exc:
        return None, None, f"adjtimex unavailable: {exc}"
    timex = _Timex()  # modes = 0: read only
    state = adjtimex(ctypes.byref(timex))
    if state < 0:
        return None, None, f"adjtimex failed: errno {ctypes.get_errno()}"
    synced = state != TIME_ERROR and not timex.status & STA_UNSYNC
    return synced, timex.maxerror / 1e6, None


def _ntp_time(raw: bytes) -> float:
    seconds, fraction = struct.unpack("!II", raw)
    return float(seconds - NTP_EPOCH_OFFSET + fraction / 2**32)


def sntp_offset(host: str, port: int = 123) -> tuple[float | None, str | None]:
    """The peer's time minus ours, in seconds (RFC 4330's offset), or why there is none."""
    request = b"\x23" + b"\0" * 47  # LI 0, version 4, mode 3 (client)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(NTP_TIMEOUT_S)
            sock.connect((host, port))
            sent = time.time()
            sock.send(request)
            answer = sock.recv(512)
            received = time.time()
    except TimeoutError:
        return None, f"no NTP answer in {NTP_TIMEOUT_S:g} s"
    except OSError as exc:
        return None, str(exc.strerror or exc)
    if len(answer) < 48:
        return None, "a short NTP answer"
    leap, mode, stratum = answer[0] >> 6, answer[0] & 0x7, answer[1]
    if mode != 4 or stratum == 0 or leap == 3:
        return None, "the peer says it has no good time itself"
    t2, t3 = _ntp_time(answer[32:40]), _ntp_time(answer[40:48])
    return ((t2 - sent) + (t3 - received)) / 2, None


def probe_clock(peer: str | None, max_offset_s: float) -> ClockFacts:
    now = datetime.now(UTC)
    synced, max_error, error = kernel_sync()
    offset, peer_error = None, None
    if peer is not None:
        host, _, port = peer.rpartition(":") if peer.count(":") == 1 else (peer, "", "")
        offset, peer_error = sntp_offset(host or peer, int(port) if port.isdigit() else 123)
    return ClockFacts(
        now=now,
        source="adjtimex",
        synced=synced,
        max_error_s=max_error,
        error=error,
        peer=peer,
        peer_offset_s=offset,
        peer_error=peer_error,
        max_offset_s=max_offset_s,
    )
