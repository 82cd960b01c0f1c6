"""The screens, seen from the bench's event loop: receiver processes and the packet tap.

Screens are spread evenly over the receiver processes (bench/receivers.py). Each process
reports an alarm once all of *its* screens of a group have it; the pool waits for every
process, then asks the tap (bench/tap.py) for the exact moments the alarm reached the first and
the last screen, and yields one :class:`Delivery` per alarm. Without the tap (no CAP_NET_RAW)
the screens' own socket stamps are used, which may be late when a screen reads an alarm frame
together with the frame behind it; such deliveries are marked as not ``exact``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

RECEIVER = Path(__file__).with_name("receivers.py")
TAP = Path(__file__).with_name("tap.py")
TAP_TIMEOUT_S = 60.0  # the tap runs SCHED_IDLE: at 5,000 screens it may be far behind


@dataclass(frozen=True, slots=True)
class Delivery:
    alarm_id: str
    screens: int
    first_ns: int  # the alarm frame reached the first screen
    last_ns: int  # ... the last screen: the figure that matters
    clean_ns: int  # ... the latest exact stamp; equals last_ns when ``exact``
    read_ns: int  # the slowest receiver process had read its last copy
    suspect: int  # copies whose socket stamp may be that of a later frame
    exact: bool
    partial: bool = False


class Child:
    """A bench child speaking JSON lines: replies to commands, and unprompted reports."""

    def __init__(self, script: Path, args: list[str], on_report: Callable[[dict[str, Any]], None]):
        self.script = script
        self.args = args
        self.on_report = on_report
        self.report_ops: set[str] = set()
        self.proc: asyncio.subprocess.Process | None = None
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader: asyncio.Task[None] | None = None

    async def start(self, report_ops: set[str]) -> None:
        self.report_ops = report_ops
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(self.script),
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            message = json.loads(line)
            if message["op"] in self.report_ops:
                self.on_report(message)
            else:
                await self.replies.put(message)

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()

    async def reply(self, *ops: str) -> dict[str, Any]:
        while True:
            message = await self.replies.get()
            if message["op"] in ops:
                return message

    async def ask(self, command: dict[str, Any], answer: str) -> dict[str, Any]:
        await self.send(command)
        return await self.reply(answer)

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None and self.proc.stdin is not None:
            self.proc.stdin.write(b'{"op": "quit"}\n')
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self.reader:
            self.reader.cancel()


class ReceiverPool:
    def __init__(self, processes: int, idle: bool, use_tap: bool = True) -> None:
        args = ["--idle"] if idle else []
        self.receivers = [Child(RECEIVER, args, self._on_alarm) for _ in range(processes)]
        self.tap: Child | None = Child(TAP, [], self._on_tap) if use_tap else None
        self.tap_reason = "not asked for" if not use_tap else ""
        self.ports: dict[str, int] = {}  # group -> server port
        self.members: dict[str, list[int]] = {}  # group -> screens per receiver process
        self.partials: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.deliveries: dict[str, asyncio.Queue[Delivery]] = {}
        self.tapped: dict[tuple[int, str], asyncio.Future[dict[str, Any]]] = {}

    async def start(self) -> None:
        for child in self.receivers:
            await child.start({"alarm"})
        if self.tap is not None:
            await self.tap.start({"tap"})
            hello = await self.tap.reply("ready", "unavailable")
            if hello["op"] != "ready":
                self.tap_reason = f"unavailable: {hello.get('reason')}"
                await self.tap.stop()
                self.tap = None

    async def stop(self) -> None:
        for child in [*self.receivers, *([self.tap] if self.tap else [])]:
            await child.stop()

    @property
    def timing(self) -> str:
        if self.tap is not None:
            return "packet tap on lo (exact kernel stamps)"
        return f"screen socket stamps (packet tap {self.tap_reason})"

    # --- screens -------------------------------------------------------------------------

    async def connect(
        self, group: str, host: str, port: int, path: str, headers: dict[str, str], count: int
    ) -> int:
        """Open ``count`` screens in total; returns how many upgraded."""
        size = len(self.receivers)
        shares = [count // size + (1 if i < count % size else 0) for i in range(size)]
        self.deliveries.setdefault(group, asyncio.Queue())
        if self.tap is not None and port not in self.ports.values():
            await self.tap.ask({"op": "watch", "port": port}, "watching")
        self.ports[group] = port
        replies = await asyncio.gather(
            *(
                child.ask(
                    {
                        "op": "connect",
                        "group": group,
                        "host": host,
                        "port": port,
                        "path": path,
                        "headers": headers,
                        "count": share,
                    },
                    "connected",
                )
                for child, share in zip(self.receivers, shares, strict=True)
            )
        )
        self.members[group] = [int(r["count"]) for r in replies]
        failed = sum(int(r["failed"]) for r in replies)
        if failed:
            print(f"  {failed} of {count} {group} screens failed to connect", file=sys.stderr)
        return sum(self.members[group])

    async def ignore(self, server_port: int, screen_port: int) -> None:
        """A screen the tap must not count (the real path's control screen)."""
        if self.tap is not None:
            command = {"op": "ignore", "server": server_port, "port": screen_port}
            await self.tap.ask(command, "ignoring")

    async def close(self, group: str) -> None:
        await asyncio.gather(
            *(child.ask({"op": "close", "group": group}, "closed") for child in self.receivers)
        )
        self.members.pop(group, None)
        self.deliveries.pop(group, None)
        for key in [k for k in self.partials if k[0] == group]:
            del self.partials[key]

    # --- deliveries ----------------------------------------------------------------------

    def drain(self, group: str) -> int:
        """Drop deliveries nobody waited for (late copies of an alarm that timed out)."""
        queue = self.deliveries[group]
        dropped = 0
        while not queue.empty():
            queue.get_nowait()
            dropped += 1
        return dropped

    async def next_delivery(self, group: str, timeout: float) -> Delivery:
        """The next alarm that reached every screen of ``group``.

        On timeout the receivers are flushed and the best partial delivery (most screens) is
        returned with ``partial=True``; ``TimeoutError`` if no screen saw anything. A delivery
        to fewer screens than were opened (the server closed some) is ``partial`` too.
        """
        try:
            delivery = await asyncio.wait_for(self.deliveries[group].get(), timeout)
        except TimeoutError:
            delivery = await self._partial(group, timeout)
        opened = sum(self.members.get(group, ()))
        if delivery.screens < opened:
            # Screens the server closed since they connected no longer count in the receivers'
            # tallies: the alarm reached every screen still open, not every screen opened.
            delivery = replace(delivery, partial=True)
        return await self._tapped(group, delivery)

    async def _partial(self, group: str, timeout: float) -> Delivery:
        # Partial reports come out before the "flushed" reply, so after it they are all in.
        await asyncio.gather(*(c.ask({"op": "flush"}, "flushed") for c in self.receivers))
        keys = [k for k in self.partials if k[0] == group]
        candidates = [self._merge(k, self.partials.pop(k), partial=True) for k in keys]
        if not candidates:
            raise TimeoutError(f"no {group} screen received an alarm within {timeout} s")
        return max(candidates, key=lambda d: d.screens)

    async def _tapped(self, group: str, delivery: Delivery) -> Delivery:
        if self.tap is None:
            return delivery
        key = (self.ports[group], delivery.alarm_id)
        future = self.tapped[key] = asyncio.get_running_loop().create_future()
        await self.tap.send(
            {"op": "expect", "port": key[0], "id": key[1], "count": delivery.screens}
        )
        try:
            seen = await asyncio.wait_for(asyncio.shield(future), TAP_TIMEOUT_S)
        except TimeoutError:
            await self.tap.ask({"op": "flush"}, "flushed")  # reports what it has so far
            seen = future.result() if future.done() else {"n": 0}
        finally:
            self.tapped.pop(key, None)
        if seen["n"] < delivery.screens:
            print(
                f"  tap saw {seen['n']}/{delivery.screens} copies of {delivery.alarm_id}; "
                "using the screens' stamps for it",
                file=sys.stderr,
            )
            return delivery
        return replace(
            delivery,
            first_ns=seen["first_ns"],
            last_ns=seen["last_ns"],
            clean_ns=seen["last_ns"],
            exact=True,
        )

    # --- reports -------------------------------------------------------------------------

    def _on_tap(self, report: dict[str, Any]) -> None:
        future = self.tapped.get((int(report["port"]), report["id"]))
        if future is not None and not future.done():
            future.set_result(report)

    def _on_alarm(self, report: dict[str, Any]) -> None:
        group = report["group"]
        key = (group, report["id"])
        parts = self.partials.setdefault(key, [])
        parts.append(report)
        if report["partial"] or group not in self.members:
            return
        expected = sum(1 for share in self.members[group] if share)
        if len(parts) == expected and not any(p["partial"] for p in parts):
            del self.partials[key]
            self.deliveries[group].put_nowait(self._merge(key, parts, partial=False))

    @staticmethod
    def _merge(key: tuple[str, str], parts: list[dict[str, Any]], partial: bool) -> Delivery:
        last_ns = max(p["kernel_ns"] for p in parts)
        clean_ns = max(p["clean_ns"] for p in parts)
        return Delivery(
            alarm_id=key[1],
            screens=sum(p["n"] for p in parts),
            first_ns=min(p["first_ns"] for p in parts),
            last_ns=last_ns,
            clean_ns=clean_ns,
            read_ns=max(p["read_ns"] for p in parts),
            suspect=sum(p["suspect"] for p in parts),
            exact=clean_ns == last_ns,
            partial=partial,
        )
