"""Socket details shared by the bench's processes: descriptors, Nagle, kernel receive stamps."""

from __future__ import annotations

import resource
import socket
import struct
from typing import Any, cast

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # the Linux value; Python does not export it
_TIMESPEC = struct.Struct("qq")
STAMP_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)  # ancillary buffer for one stamp


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one; 5,000 screens need 5,000 descriptors.

    Children inherit it, so calling this before starting Mosquitto and central covers them.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 1_048_576
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def stamp(ancdata: list[tuple[int, int, bytes]]) -> int:
    """The kernel's receive time (ns, CLOCK_REALTIME) in ``recvmsg`` ancillary data, or 0."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanos = _TIMESPEC.unpack(data[: _TIMESPEC.size])
            return int(seconds) * 1_000_000_000 + int(nanos)
    return 0


def set_nodelay(client: Any) -> None:
    """Turn off Nagle on an aiomqtt client's socket; the lower bound must be the best case.

    paho creates that socket itself, so asyncio's default TCP_NODELAY never reaches it. With
    Nagle on, a small PUBLISH waits for the ACK of anything still unacknowledged (a PUBACK, a
    QoS 0 heartbeat), which the peer may delay by 40 ms or more.
    """
    sock = client._client.socket()  # aiomqtt offers no socket options; the bench may reach in
    if sock is not None:
        cast(socket.socket, sock).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
