"""Helpers for the simulator's tests: reading the board's line the way any receiver would.

The frame check here uses ``binascii.crc_hqx`` (a different CRC implementation from the
simulator's) so that a wrong CRC in the writer cannot hide behind the same wrong reader.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from firmware_sim.board import Board


def frame_ok(line: bytes) -> tuple[int, str, list[str]] | None:
    """(seq, type, fields) of a well-formed frame line (without ``\\n``), else None."""
    if not line.startswith(b"$") or b"*" not in line:
        return None
    checked, _, crc = line[1:].rpartition(b"*")
    if crc != f"{binascii.crc_hqx(checked, 0xFFFF):04X}".encode():
        return None
    seq, kind, *fields = checked.decode().split(",")
    return int(seq), kind, fields


class Line:
    """The host side of a board's port, opened through its symlink with pyserial."""

    def __init__(self, path: Path) -> None:
        self.port = serial.serial_for_url(str(path), 115200, timeout=0.05)
        self.buffer = b""

    def read_some(self) -> bytes:
        data = self.port.read(4096)
        self.buffer += data
        return data

    def wait_for(self, match: Callable[[bytes], bool], timeout: float = 10) -> bytes:
        """The first complete line (read so far or to come) for which ``match`` is true;
        lines before it are consumed."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                line, _, self.buffer = self.buffer.partition(b"\n")
                if match(line):
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching line in {timeout} s; left: {self.buffer!r}")
            self.read_some()

    def wait_frame(self, kind: str, timeout: float = 10) -> tuple[int, str, list[str]]:
        line = self.wait_for(lambda raw: (frame_ok(raw) or (0, "", []))[1] == kind, timeout)
        parsed = frame_ok(line)
        assert parsed is not None
        return parsed

    def close(self) -> None:
        self.port.close()


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Board]:
    """A plugged-in board ticking ten times a second (the protocol says once: quicker tests)."""
    b = Board("rom-101", tmp_path, tick_s=0.1)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def line(board: Board) -> Iterator[Line]:
    opened = Line(board.link)
    try:
        yield opened
    finally:
        opened.close()


def wait_until(check: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached in {timeout} s")
