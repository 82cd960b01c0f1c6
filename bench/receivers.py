"""Lean websocket receivers: thousands of screens per process, timed by the kernel.

One receiver process holds many raw TCP sockets that did the websocket upgrade by hand and then
read frames with ``recvmsg``. The time a frame reached a screen is the kernel's receive
timestamp (``SO_TIMESTAMPNS``, CLOCK_REALTIME, taken when the segment was queued to the socket),
not the moment this process got round to reading it. So a receiver that is busy with socket
#4,000 does not add its own backlog to the figure for socket #4,000, and the bench's press time
(``time.time_ns()`` in another process) compares directly.

Why not the websockets client: at 5,000 sockets its per-message cost (tasks, queues, UTF-8
decode) would put the receivers' CPU on the critical path of a 2-core machine. Here a frame
costs one ``recvmsg`` and a substring search.

A read reports the stamp of the newest segment it took (TCP even coalesces unread segments
and keeps the newest stamp), so the stamp is exact for the frame that ends the read. An alarm
frame with more data behind it in the same read is counted as "suspect" (its stamp may be that
of a later frame, so too late) and reported, so the bench can say how often that happened.
Receivers read promptly, so this is rare; it can only make the figures worse, never better.

Run as a child of the bench: JSON commands on stdin, JSON reports on stdout, one per line::

    {"op": "connect", "group": "g", "host": h, "port": p, "path": "/ws", "headers": {...},
     "count": n}                      -> {"op": "connected", "group": "g", "count": n, "failed": k}
    {"op": "close", "group": "g"}     -> {"op": "closed", "group": "g"}
    {"op": "flush"}                   -> partial "alarm" reports for alarms not seen everywhere,
                                         then {"op": "flushed"}
    {"op": "sync", "tag": t}          -> {"op": "sync", "tag": t}
    {"op": "quit"}

and unprompted, when every socket of a group has the alarm frame with that id::

    {"op": "alarm", "group": "g", "id": "<uuid>", "n": n, "kernel_ns": latest, "read_ns": latest,
     "clean_ns": latest of the exact stamps, "first_ns": earliest, "suspect": k}
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

from sockets import SO_TIMESTAMPNS, STAMP_SPACE, raise_fd_limit
from sockets import stamp as read_stamp

_LEN16 = struct.Struct("!H")
_LEN64 = struct.Struct("!Q")
# AlarmNew is the only server frame whose type is "alarm" (snapshot and update carry AlarmViews,
# which have no "type"). Both spellings, in case a server serialises with json.dumps.
_ALARM_MARKS = (b'"type":"alarm"', b'"type": "alarm"')
_PING_TYPE = re.compile(rb'"type": ?"ping"')
_PING_SEQ = re.compile(rb'"seq": ?(\d{1,12})')
_PING_MAX = 256  # a ping is ~25 bytes; room for fields a later central may add


def _ping_seq(payload: bytes) -> int | None:
    """The ``seq`` of central's ping frame, or None for any other frame.

    Any key order and extra fields: a ping that stopped matching would get no pong, and
    central would close every screen a few seconds into the run."""
    if len(payload) > _PING_MAX or not _PING_TYPE.search(payload):
        return None
    found = _PING_SEQ.search(payload)
    return int(found[1]) if found else None


_ID_MARKS = (b'"alarm_id":"', b'"alarm_id": "')
_UUID_LEN = 36

OP_TEXT = 0x1
OP_CLOSE = 0x8
OP_PING = 0x9


@dataclass(slots=True)
class Screen:
    """One websocket, mid-way through reading a frame or between frames."""

    sock: socket.socket
    group: str
    pending: bytearray = field(default_factory=bytearray)  # a frame cut short by a read


@dataclass(slots=True)
class Tally:
    """How far one alarm has got across this process's sockets of one group."""

    count: int = 0
    first_ns: int = 0
    kernel_ns: int = 0
    clean_ns: int = 0  # latest stamp among copies that ended their read (exact stamps)
    read_ns: int = 0
    suspect: int = 0


def _frame_header(head: bytes | bytearray) -> tuple[int, int] | None:
    """(header length, payload length) of the frame ``head`` starts with, or None if cut short."""
    if len(head) < 2:
        return None
    short = head[1] & 0x7F
    if short < 126:
        return 2, short
    if short == 126:
        return (4, _LEN16.unpack_from(head, 2)[0]) if len(head) >= 4 else None
    return (10, _LEN64.unpack_from(head, 2)[0]) if len(head) >= 10 else None


def _alarm_id(payload: bytes) -> bytes | None:
    if not any(mark in payload for mark in _ALARM_MARKS):
        return None
    for mark in _ID_MARKS:
        at = payload.find(mark)
        if at >= 0:
            start = at + len(mark)
            return payload[start : start + _UUID_LEN]
    return None


def _upgrade_request(host: str, port: int, path: str, headers: dict[str, str]) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        # No Sec-WebSocket-Extensions: frames stay uncompressed, so a substring finds the id.
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response_head(sock: socket.socket) -> bytes:
    """Consume exactly the HTTP response head; frames sent right after it stay queued."""
    while True:
        peeked = sock.recv(8192, socket.MSG_PEEK)
        if not peeked:
            raise ConnectionError("closed during the upgrade")
        end = peeked.find(b"\r\n\r\n")
        if end >= 0:
            return sock.recv(end + 4)
        if len(peeked) >= 8192:
            raise ConnectionError("response head too long")
        time.sleep(0.001)  # head not complete yet; a peek would return at once again


class Receiver:
    """All screens of one process, multiplexed on one epoll."""

    def __init__(self, out: object) -> None:
        self.out = out
        self.poll = select.epoll()
        self.screens: dict[int, Screen] = {}
        self.group_size: dict[str, int] = {}
        self.tallies: dict[tuple[str, bytes], Tally] = {}
        self.closed_by_server: dict[str, int] = {}  # told on close: the bench's deliveries show it

    # --- reports -------------------------------------------------------------------------

    def emit(self, report: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()

    def _report(self, group: str, alarm_id: bytes, tally: Tally, partial: bool = False) -> None:
        self.emit(
            {
                "op": "alarm",
                "group": group,
                "id": alarm_id.decode(errors="replace"),
                "n": tally.count,
                "first_ns": tally.first_ns,
                "kernel_ns": tally.kernel_ns,
                "clean_ns": tally.clean_ns,
                "read_ns": tally.read_ns,
                "suspect": tally.suspect,
                "partial": partial,
            }
        )

    # --- connections ---------------------------------------------------------------------

    def connect(
        self, group: str, host: str, port: int, path: str, headers: dict[str, str], count: int
    ) -> None:
        batch = 100  # in flight at once: below any listen backlog, quick to set up
        made = failed = 0
        while made + failed < count:
            wave: list[socket.socket] = []
            for _ in range(min(batch, count - made - failed)):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # Before connecting, so that every segment of this socket carries a stamp.
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(60)
                try:
                    sock.connect((host, port))
                    sock.sendall(_upgrade_request(host, port, path, headers))
                except OSError as exc:
                    print(f"receiver: connect failed: {exc}", file=sys.stderr)
                    sock.close()
                    failed += 1
                    continue
                wave.append(sock)
            for sock in wave:
                try:
                    head = _read_response_head(sock)
                except OSError as exc:
                    print(f"receiver: upgrade failed: {exc}", file=sys.stderr)
                    sock.close()
                    failed += 1
                    continue
                if not head.startswith(b"HTTP/1.1 101"):
                    first_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
                    print(f"receiver: upgrade refused: {first_line}", file=sys.stderr)
                    sock.close()
                    failed += 1
                    continue
                sock.setblocking(False)
                self.screens[sock.fileno()] = Screen(sock, group)
                self.poll.register(sock.fileno(), select.EPOLLIN)
                made += 1
            self.service()
        self.group_size[group] = self.group_size.get(group, 0) + made
        self.emit({"op": "connected", "group": group, "count": made, "failed": failed})

    def service(self) -> None:
        """Read what the screens connected so far have been sent, without waiting: central
        pings every screen each second and closes one that has answered nothing for a few
        seconds, and connecting 5,000 takes longer than that. Served between waves, the
        first screens stay alive (they were closed by the hundred, and then the alarm's
        "last screen" was the last of fewer screens than the bench had opened)."""
        for fd, _mask in self.poll.poll(0):
            screen = self.screens.get(fd)
            if screen is not None:  # stdin waits for the main loop (epoll is level-triggered)
                self.on_readable(screen)

    def _drop(self, screen: Screen) -> None:
        fd = screen.sock.fileno()
        with contextlib.suppress(OSError, KeyError):
            self.poll.unregister(fd)
        self.screens.pop(fd, None)
        screen.sock.close()
        self.group_size[screen.group] -= 1

    def close_group(self, group: str) -> None:
        for screen in [s for s in self.screens.values() if s.group == group]:
            self._drop(screen)
        if lost := self.closed_by_server.pop(group, 0):
            print(f"receiver: the server had closed {lost} {group} screens", file=sys.stderr)
        self.group_size.pop(group, None)
        for key in [k for k in self.tallies if k[0] == group]:
            del self.tallies[key]
        self.emit({"op": "closed", "group": group})

    def flush(self) -> None:
        for (group, alarm_id), tally in self.tallies.items():
            self._report(group, alarm_id, tally, partial=True)
        self.tallies.clear()
        self.emit({"op": "flushed"})

    # --- frames --------------------------------------------------------------------------

    def on_readable(self, screen: Screen) -> None:
        try:
            data, ancdata, _flags, _addr = screen.sock.recvmsg(65536, STAMP_SPACE)
        except BlockingIOError:
            return
        except OSError:  # reset: central cut the screen (e.g. it answered no ping)
            self._server_closed(screen)
            return
        if not data:
            self._server_closed(screen)
            return
        # The stamp of the newest segment this read took: exact for a frame that ends the read.
        stamp = read_stamp(ancdata) or time.time_ns()
        buf = screen.pending
        buf += data
        at = 0
        while True:
            sizes = _frame_header(buf[at : at + 10])
            if sizes is None:
                break
            header_len, payload_len = sizes
            end = at + header_len + payload_len
            if end > len(buf):
                break
            self.on_frame(
                screen,
                buf[at] & 0x0F,
                bytes(buf[at + header_len : end]),
                stamp,
                suspect=end < len(buf),
            )
            at = end
            if screen.sock.fileno() < 0:  # closed while handling the frame
                return
        del buf[:at]

    def on_frame(
        self, screen: Screen, opcode: int, payload: bytes, stamp: int, suspect: bool
    ) -> None:
        if opcode == OP_TEXT:
            alarm_id = _alarm_id(payload)
            if alarm_id is not None:
                self.on_alarm(screen, alarm_id, stamp, suspect)
            elif (seq := _ping_seq(payload)) is not None:
                # Central's liveness ping (protocol.screen.Ping): a screen that does not answer
                # is closed after central's grace, so every receiver answers like a desk does.
                text = b'{"type":"pong","seq":%d}' % seq
                pong = bytes((0x81, 0x80 | len(text))) + b"\0\0\0\0" + text
                with contextlib.suppress(OSError):
                    screen.sock.send(pong)
        elif opcode == OP_PING:
            # Client frames must be masked; an all-zero mask leaves the payload as it is.
            pong = bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload
            with contextlib.suppress(OSError):
                screen.sock.send(pong)
        elif opcode == OP_CLOSE:
            self._server_closed(screen)

    def _server_closed(self, screen: Screen) -> None:
        self.closed_by_server[screen.group] = self.closed_by_server.get(screen.group, 0) + 1
        self._drop(screen)

    def on_alarm(self, screen: Screen, alarm_id: bytes, stamp: int, suspect: bool) -> None:
        now = time.time_ns()
        key = (screen.group, alarm_id)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally(first_ns=stamp)
        tally.count += 1
        tally.first_ns = min(tally.first_ns, stamp)
        tally.kernel_ns = max(tally.kernel_ns, stamp)
        tally.read_ns = max(tally.read_ns, now)
        if suspect:
            tally.suspect += 1
        else:
            tally.clean_ns = max(tally.clean_ns, stamp)
        if tally.count >= self.group_size.get(screen.group, 0):
            del self.tallies[key]
            self._report(screen.group, alarm_id, tally)

    # --- main loop -----------------------------------------------------------------------

    def command(self, line: str) -> bool:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "connect":
            self.connect(
                cmd["group"],
                cmd["host"],
                int(cmd["port"]),
                cmd.get("path", "/"),
                cmd.get("headers", {}),
                int(cmd["count"]),
            )
        elif op == "close":
            self.close_group(cmd["group"])
        elif op == "flush":
            self.flush()
        elif op == "sync":
            self.emit({"op": "sync", "tag": cmd.get("tag")})
        elif op == "quit":
            return False
        return True

    def run(self) -> None:
        stdin_fd = sys.stdin.fileno()
        os.set_blocking(stdin_fd, False)
        self.poll.register(stdin_fd, select.EPOLLIN)
        stdin_buf = b""
        screens = self.screens
        while True:
            for fd, _mask in self.poll.poll():
                screen = screens.get(fd)
                if screen is not None:
                    self.on_readable(screen)
                    continue
                if fd != stdin_fd:
                    continue
                chunk = os.read(stdin_fd, 65536)
                if not chunk:
                    return
                stdin_buf += chunk
                while b"\n" in stdin_buf:
                    line, stdin_buf = stdin_buf.split(b"\n", 1)
                    if line.strip() and not self.command(line.decode()):
                        return


def main() -> None:
    raise_fd_limit()
    if "--idle" in sys.argv:
        # SCHED_IDLE: run only on CPU time nobody else wants, so the screens never take a core
        # from the broker or the server under test. The kernel stamps keep the timing honest.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    Receiver(sys.stdout).run()


if __name__ == "__main__":
    main()
