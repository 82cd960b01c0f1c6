"""The simulated sensor board on a real pty, read through its symlink with pyserial."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import serial

from firmware_sim import frames
from firmware_sim.board import Board
from firmware_sim.board_commands import handle
from firmware_sim.errors import SimError
from tests.firmware_sim.conftest import Line, frame_ok, wait_until


def test_port_is_a_raw_pty_behind_a_stable_symlink(board: Board, line: Line) -> None:
    assert board.link.is_symlink()
    assert os.readlink(board.link).startswith("/dev/pts/")
    _, _, fields = line.wait_frame("HB")
    assert fields[1] == "1.0.3"
    assert fields[0].isdigit()
    line.wait_frame("SND")
    # Raw mode: the board's "\n" arrives untranslated and nothing the host writes is echoed.
    line.port.write(b"hello\n")
    assert b"\r\n$" not in line.wait_for(lambda raw: raw.startswith(b"$"))
    assert b"hello" not in line.read_some() + line.buffer


@pytest.mark.usefixtures("line")  # the host has the port open
def test_opening_the_port_gets_the_room_state(board: Board) -> None:
    board.call(lambda: board.do_door(True))
    line2 = Line(board.link)  # another host session: a reopen after an edge restart
    try:
        assert line2.wait_frame("DOOR")[2] == ["1"]
        assert line2.wait_frame("PIR")[2] == ["0"]
        assert line2.wait_frame("TAMP")[2] == ["0"]
    finally:
        line2.close()


def test_sensors_and_pendant_frames(board: Board, line: Line) -> None:
    line.wait_frame("HB")
    handle(board, {"cmd": "door", "value": "open"})
    assert line.wait_frame("DOOR")[2] == ["1"]
    handle(board, {"cmd": "pir", "value": "on"})
    assert line.wait_frame("PIR")[2] == ["1"]
    handle(board, {"cmd": "tamper", "value": "on"})
    assert line.wait_frame("TAMP")[2] == ["1"]
    handle(board, {"cmd": "sound", "db": 91})
    line.wait_for(lambda raw: (frame_ok(raw) or (0, "", []))[1:] == ("SND", ["91"]))
    handle(board, {"cmd": "pendant", "id": "p-17", "battery": 83})
    assert line.wait_frame("PEND")[2] == ["p-17", "83", "PRESS"]
    handle(board, {"cmd": "battery", "id": "p-17", "battery": 12})
    assert line.wait_frame("PEND")[2] == ["p-17", "12", "BATT"]
    handle(board, {"cmd": "pendant", "id": "p-17"})  # battery as last reported
    assert line.wait_frame("PEND")[2] == ["p-17", "12", "PRESS"]


@pytest.mark.usefixtures("board")
def test_sequence_numbers_count_up_by_one(line: Line) -> None:
    seqs = [line.wait_frame("HB")[0]]
    for _ in range(4):
        seqs.append(frame_ok(line.wait_for(lambda raw: frame_ok(raw) is not None))[0])  # type: ignore[index]
    assert seqs == list(range(seqs[0], seqs[0] + 5))


@pytest.mark.usefixtures("board")
def test_ping_gets_pong_with_the_same_token(line: Line) -> None:
    line.wait_frame("HB")
    line.port.write(b"noise$" + frames.encode_frame(7, "PING", ["a1b2"]))
    assert line.wait_frame("PONG")[2] == ["a1b2"]
    line.port.write(frames.bad_checksum_frame(8, "PING", ["nope"]))
    line.port.write(frames.encode_frame(9, "PING", ["Z9"]))
    assert line.wait_frame("PONG")[2] == ["Z9"]  # the bad one was not answered


def test_fault_frames_are_the_documented_bytes(board: Board, line: Line) -> None:
    line.wait_frame("HB")
    noise = bytes.fromhex(handle(board, {"cmd": "noise", "bytes": 40})["wrote"])
    assert len(noise) == 40
    assert b"$" not in noise
    bad = bytes.fromhex(handle(board, {"cmd": "badcrc"})["wrote"])
    cut = bytes.fromhex(handle(board, {"cmd": "truncate"})["wrote"])
    big = bytes.fromhex(handle(board, {"cmd": "oversize"})["wrote"])
    after = line.wait_frame("HB")
    bad_seq = int(bad[1:].split(b",")[0])
    assert frame_ok(bad[:-1]) is None
    assert bad.startswith(f"${bad_seq},DOOR,0*".encode())
    assert cut.startswith(f"${bad_seq + 1},DOOR".encode())
    assert not cut.endswith(b"\n")
    assert len(big) == 120
    big_frame = frame_ok(big[:-1])
    assert big_frame is not None
    assert big_frame[:2] == (bad_seq + 2, "HB")
    assert after[0] > bad_seq + 2  # the broken frames used their sequence numbers
    assert board.status()["sent"]["badcrc"] == 1


def test_fault_bytes_arrive_on_the_line_in_order(board: Board, line: Line) -> None:
    line.wait_frame("HB")
    wrote = b"".join(
        bytes.fromhex(handle(board, {"cmd": cmd})["wrote"])
        for cmd in ("noise", "badcrc", "truncate", "oversize")
    )

    def arrived() -> bool:
        line.read_some()
        return wrote in line.buffer

    wait_until(arrived, what="the fault bytes, in order and unchanged")
    assert line.buffer.count(b"$") >= 3


def test_silence_stops_everything_until_resumed(board: Board, line: Line) -> None:
    line.wait_frame("HB")
    handle(board, {"cmd": "silence", "value": "on"})
    line.read_some()
    line.buffer = b""
    ticks = board.status()["ticks"]
    line.port.write(frames.encode_frame(1, "PING", ["quiet"]))
    wait_until(lambda: board.status()["ticks"] >= ticks + 3, what="three silent ticks")
    assert line.read_some() == b""
    assert line.port.in_waiting == 0
    with pytest.raises(SimError, match="silent"):
        handle(board, {"cmd": "badcrc"})
    handle(board, {"cmd": "silence", "value": "off"})
    assert line.wait_frame("DOOR")[2] == ["0"]  # back from the hang: the state again
    line.wait_frame("HB")


def _read_until_gone(line: Line) -> None:
    for _ in range(100):
        line.port.read(1)


def test_unplug_closes_the_pty_and_replug_makes_a_new_one(board: Board, line: Line) -> None:
    line.wait_frame("HB")
    first = os.readlink(board.link)
    handle(board, {"cmd": "unplug"})
    assert not board.link.exists()
    assert not board.link.is_symlink()
    with pytest.raises(serial.SerialException):
        _read_until_gone(line)  # the host notices: the device has gone
    with pytest.raises(SimError, match="already unplugged"):
        handle(board, {"cmd": "unplug"})
    with pytest.raises(SimError, match="unplugged"):
        handle(board, {"cmd": "pendant", "id": "p-1"})
    handle(board, {"cmd": "door", "value": "open"})  # the room changes while unplugged

    status = handle(board, {"cmd": "replug"})
    assert status["generation"] == 2
    assert status["plugged"]
    # Rebooted: its counters start again (read in the board's own thread, so no race).
    assert status["ticks"] == 0
    assert status["seq"] <= 3
    # The old pty is still held open by the host, so the new one must be another.
    assert os.readlink(board.link) == status["pty"] != first
    again = Line(board.link)
    try:
        assert again.wait_frame("DOOR")[2] == ["1"]
        seq, _, fields = again.wait_frame("HB")
        # Uptime counts from the replug, not from the first boot (a loose bound: a busy CI
        # machine may take a while to open the new port).
        assert int(fields[0]) < 60
        assert seq >= 1
    finally:
        again.close()


def test_stop_unplugs(tmp_path: Path) -> None:
    board = Board("rom-9", tmp_path, tick_s=0.1)
    board.start()
    assert board.link.is_symlink()
    board.stop()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SimError, match="not running"):
        board.status()


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"cmd": "door", "value": "ajar"}, "open or closed"),
        ({"cmd": "sound", "db": 151}, "0..150"),
        ({"cmd": "sound", "db": "loud"}, "integer"),
        ({"cmd": "pendant", "id": "p_1"}, "pendant id"),
        ({"cmd": "battery", "id": "p-1"}, "battery"),
        ({"cmd": "fire"}, "unknown board command"),
    ],
)
def test_bad_requests_are_refused(board: Board, request_: dict[str, object], error: str) -> None:
    with pytest.raises(SimError, match=error):
        handle(board, request_)
    assert board.status()["plugged"]
