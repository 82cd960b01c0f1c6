"""A packet tap on loopback that stamps every AlarmNew segment a server sends to a screen.

Why: a screen socket's own receive stamp is exact only while the screen reads faster than
frames arrive; TCP coalesces unread segments and keeps the newest stamp, so an alarm frame
read together with the update sent a few milliseconds later is dated too late. The tap sees
each segment once, as loopback delivers it (``AF_PACKET`` on ``lo``, kernel ``SO_TIMESTAMPNS``,
the same moment the screen's socket is stamped), however far behind the screens are.

A classic BPF filter in the kernel passes only TCP segments from the watched server ports whose
payload starts with an AlarmNew text frame (``0x81 0x7E`` + ``{"type":"alarm"``), so the tap's
Python only ever sees the segments it needs. Needs CAP_NET_RAW (root); without it the bench
falls back to the screens' own stamps.

Run as a child of the bench; JSON lines in and out::

    {"op": "watch", "port": p}                     -> {"op": "watching", "port": p}
    {"op": "ignore", "server": p, "port": q}       -> {"op": "ignoring", "port": q}
        (do not count the screen on local port q of server port p)
    {"op": "expect", "port": p, "id": i, "count": n}
        -> {"op": "tap", "port": p, "id": i, "n": k, "first_ns": t0, "last_ns": t1}
           once n screens were sent the alarm (at once if they already were)
    {"op": "flush"} -> the expected alarms not complete yet, with the count so far; "flushed"
    {"op": "quit"}
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import sys
from dataclasses import dataclass, field

from sockets import SO_TIMESTAMPNS, STAMP_SPACE, stamp

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
PACKET_HOST = 0
_ID_MARK = b'"alarm_id":"'

# BPF opcodes (linux/filter.h)
LD_B_ABS, LD_H_ABS, LD_H_IND, LD_W_IND, LD_B_IND = 0x30, 0x28, 0x48, 0x40, 0x50
LDX_B_MSH, TAX = 0xB1, 0x07
RSH_K, AND_K, ADD_X = 0x74, 0x54, 0x0C
JEQ_K, JSET_K, RET_K = 0x15, 0x45, 0x06
SKF_AD_PKTTYPE = 0xFFFFF000 + 4


def alarm_filter(ports: list[int]) -> list[tuple[int, int, int, int]]:
    """(code, jt, jf, k) instructions; data starts at the IP header (SOCK_DGRAM)."""
    body: list[tuple[int | str, int | str, int | str, int]] = [
        (LD_B_ABS, 0, 0, SKF_AD_PKTTYPE),
        # The copy delivered to the host; where lo also shows the outgoing copy, skip that.
        (JEQ_K, 0, "drop", PACKET_HOST),
        (LD_B_ABS, 0, 0, 9),
        (JEQ_K, 0, "drop", socket.IPPROTO_TCP),
        (LD_H_ABS, 0, 0, 6),
        (JSET_K, "drop", 0, 0x1FFF),  # fragments
        (LDX_B_MSH, 0, 0, 0),  # X = IP header length
        (LD_H_IND, 0, 0, 0),  # TCP source port
    ]
    for i, port in enumerate(ports):
        last = i == len(ports) - 1
        body.append((JEQ_K, "port_ok", "drop" if last else 0, port))
    body += [
        ("port_ok", 0, 0, 0),  # label
        (LD_B_IND, 0, 0, 12),  # TCP data offset (high nibble, in 32-bit words)
        (RSH_K, 0, 0, 2),
        (AND_K, 0, 0, 0x3C),
        (ADD_X, 0, 0, 0),
        (TAX, 0, 0, 0),  # X = start of the TCP payload
        (LD_H_IND, 0, 0, 0),
        (JEQ_K, 0, "drop", 0x817E),  # FIN + text, 16-bit length: frames of 126..65535 bytes
        (LD_W_IND, 0, 0, 4),
        (JEQ_K, 0, "drop", int.from_bytes(b'{"ty', "big")),
        (LD_W_IND, 0, 0, 8),
        (JEQ_K, 0, "drop", int.from_bytes(b'pe":', "big")),
        (LD_W_IND, 0, 0, 12),
        (JEQ_K, 0, "drop", int.from_bytes(b'"ala', "big")),
        (RET_K, 0, 0, 0xFFFF),
        ("drop", 0, 0, 0),
        (RET_K, 0, 0, 0),
    ]
    labels: dict[str, int] = {}
    code: list[tuple[int | str, int | str, int | str, int]] = []
    for ins in body:
        if isinstance(ins[0], str):
            labels[ins[0]] = len(code)
        else:
            code.append(ins)

    def jump(target: int | str, at: int) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return [(int(op), jump(jt, i), jump(jf, i), k) for i, (op, jt, jf, k) in enumerate(code)]


def attach(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    import ctypes

    raw = b"".join(struct.pack("HBBI", op, jt, jf, k) for op, jt, jf, k in program)
    buffer = ctypes.create_string_buffer(raw)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


@dataclass(slots=True)
class Tally:
    screens: set[int] = field(default_factory=set)  # destination ports seen
    first_ns: int = 0
    last_ns: int = 0


class Tap:
    def __init__(self) -> None:
        self.ports: list[int] = []
        self.sock: socket.socket | None = None
        self.tallies: dict[tuple[int, bytes], Tally] = {}
        self.expected: dict[tuple[int, bytes], int] = {}
        # (server port, screen port) not to count: the bench's control screen. The pair, since a
        # screen port number is only unique per server.
        self.ignored: set[tuple[int, int]] = set()

    def emit(self, report: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()

    def open(self) -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)  # 5,000 copies at once
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        attach(sock, alarm_filter(self.ports))
        sock.bind(("lo", 0))
        sock.setblocking(False)
        return sock

    def watch(self, port: int, poll: select.epoll) -> None:
        self.ports.append(port)
        old = self.sock
        self.sock = self.open()  # a fresh filter; the old socket drains then goes
        poll.register(self.sock.fileno(), select.EPOLLIN)
        if old is not None:
            self.drain(old)
            poll.unregister(old.fileno())
            old.close()
        self.emit({"op": "watching", "port": port})

    def drain(self, sock: socket.socket) -> None:
        while True:
            try:
                data, ancdata, _flags, _addr = sock.recvmsg(2048, STAMP_SPACE)
            except BlockingIOError:
                return
            self.on_segment(data, stamp(ancdata))

    def on_segment(self, data: bytes, stamp: int) -> None:
        ip_len = (data[0] & 0x0F) * 4
        src, dst = struct.unpack_from("!HH", data, ip_len)
        if (src, dst) in self.ignored:
            return
        tcp_len = (data[ip_len + 12] >> 4) * 4
        at = data.find(_ID_MARK, ip_len + tcp_len)
        if at < 0:
            return
        start = at + len(_ID_MARK)
        key = (src, data[start : start + 36])
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally(first_ns=stamp)
        tally.screens.add(dst)
        tally.first_ns = min(tally.first_ns, stamp)
        tally.last_ns = max(tally.last_ns, stamp)
        wanted = self.expected.get(key)
        if wanted is not None and len(tally.screens) >= wanted:
            self.report(key)

    def report(self, key: tuple[int, bytes]) -> None:
        tally = self.tallies.pop(key, Tally())
        self.expected.pop(key, None)
        self.emit(
            {
                "op": "tap",
                "port": key[0],
                "id": key[1].decode(errors="replace"),
                "n": len(tally.screens),
                "first_ns": tally.first_ns,
                "last_ns": tally.last_ns,
            }
        )

    def command(self, cmd: dict[str, object], poll: select.epoll) -> bool:
        op = cmd["op"]
        if op == "watch":
            self.watch(int(str(cmd["port"])), poll)
        elif op == "ignore":
            self.ignored.add((int(str(cmd["server"])), int(str(cmd["port"]))))
            self.emit({"op": "ignoring", "port": cmd["port"]})
        elif op == "expect":
            key = (int(str(cmd["port"])), str(cmd["id"]).encode())
            self.expected[key] = int(str(cmd["count"]))
            if self.sock is not None:
                self.drain(self.sock)  # whatever is queued already
            tally = self.tallies.get(key)
            if tally is not None and len(tally.screens) >= self.expected[key]:
                self.report(key)
        elif op == "flush":
            if self.sock is not None:
                self.drain(self.sock)
            for key in list(self.expected):
                self.report(key)
            self.tallies.clear()  # alarms nobody asked about (warm-up presses)
            self.emit({"op": "flushed"})
        elif op == "quit":
            return False
        return True

    def run(self) -> None:
        poll = select.epoll()
        stdin_fd = sys.stdin.fileno()
        os.set_blocking(stdin_fd, False)
        poll.register(stdin_fd, select.EPOLLIN)
        pending = b""
        while True:
            for fd, _mask in poll.poll():
                if self.sock is not None and fd == self.sock.fileno():
                    self.drain(self.sock)
                elif fd == stdin_fd:
                    chunk = os.read(stdin_fd, 65536)
                    if not chunk:
                        return
                    pending += chunk
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        if line.strip() and not self.command(json.loads(line), poll):
                            return


def main() -> None:
    # Stamps come from the kernel, so the tap may lag: it never takes a core from the servers.
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    try:
        tap = Tap()
        tap.open().close()  # fail now, clearly, without CAP_NET_RAW
    except PermissionError as exc:
        print(json.dumps({"op": "unavailable", "reason": str(exc)}), flush=True)
        return
    print(json.dumps({"op": "ready"}), flush=True)
    tap.run()


if __name__ == "__main__":
    main()
