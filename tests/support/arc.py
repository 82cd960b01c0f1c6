"""The tests' alarm receiving centres: pysiaalarm as a real process, and a faulty front.

:class:`SiaReceiver` runs ``tests/support/sia_receiver.py`` (pysiaalarm) and collects the
events it accepted. :class:`FaultyFront` listens on a real socket and, for each connection,
misbehaves as told (a reply with a wrong CRC, a NAK, closing without an answer), then — its
script used up — passes bytes through to the receiver behind it, unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from central.arc.frames import crc16
from tests.support.net import free_port
from tests.support.stack import stop_process

REPO = Path(__file__).resolve().parents[2]


def framed(message: str) -> bytes:
    raw = message.encode("ascii")
    return b"\n" + f"{crc16(raw):04X}{len(raw):04X}".encode() + raw + b"\r"


class SiaReceiver:
    def __init__(self, accounts: list[str], port: int | None = None) -> None:
        self.accounts = accounts
        self.port = port or free_port()
        self.events: list[dict[str, Any]] = []
        self.proc: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    def start(self) -> SiaReceiver:
        argv = [sys.executable, "-m", "tests.support.sia_receiver", "--port", str(self.port)]
        for account in self.accounts:
            argv += ["--account", account]
        self._ready.clear()
        self.proc = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        if not self._ready.wait(30):
            raise RuntimeError("pysiaalarm (tests/support/sia_receiver.py) did not start")
        return self

    def stop(self) -> None:
        stop_process(self.proc, grace=5)
        self.proc = None

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "READY":
                self._ready.set()
            elif line.startswith("{"):
                self.events.append(json.loads(line))

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if match(event):
                    return event
            time.sleep(0.02)
        raise AssertionError(f"the receiver got no such event in {timeout} s: {self.events}")

    async def await_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self.wait_for, match, timeout)

    def alarms(self) -> list[dict[str, Any]]:
        """The accepted events that are not link tests (NULL)."""
        return [e for e in self.events if e["type"] != "NULL"]


class FaultyFront:
    """Faults: "crc" (a reply with a wrong CRC), "nak" (a NAK without a time), "close",
    "duh" (the receiver cannot take the event)."""

    def __init__(self, upstream: int, faults: list[str]) -> None:
        self.upstream = upstream
        self.faults = list(faults)
        self.seen: list[str] = []  # the fault played per connection ("pass" once used up)
        self.port = free_port()
        self._server: asyncio.Server | None = None

    async def start(self) -> FaultyFront:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fault = self.faults.pop(0) if self.faults else "pass"
        self.seen.append(fault)
        try:
            message = await reader.readuntil(b"\r")
            if fault == "crc":
                good = framed('"ACK"0001L0#1234[]')
                writer.write(b"\n0000" + good[5:])  # the right frame, a wrong CRC
            elif fault == "nak":
                writer.write(framed('"NAK"0000R0L0A0[]'))
            elif fault == "duh":
                seq = message.split(b'"')[2][:4].decode()  # after the message's ID
                writer.write(framed(f'"DUH"{seq}R1L0#1234[]'))
            elif fault == "pass":
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
                up_writer.write(message)
                await up_writer.drain()
                writer.write(await up_reader.readuntil(b"\r"))
                up_writer.close()
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
