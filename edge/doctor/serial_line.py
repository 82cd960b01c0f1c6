"""The doctor's serial port: is the sensor board's port there, may this user open it at the
configured settings, and does a board talk on it?

It opens the port exactly as the agent does (``serial.serial_for_url``, 8N1, the configured
baud rate) and listens a moment through the agent's own frame parser
(``edge.core.serial_frames``): frames are only counted and named, never acted on, so a
pendant's PRESS heard here raises nothing. It sends nothing (no PING): a board must not see a
second host. A port another process holds open is not touched at all (``edge.doctor.procs``).
"""

from __future__ import annotations

import errno
import glob
import grp
import os
import time

import serial

from edge.config import SensorBoardSettings
from edge.core.doctor import SerialFacts
from edge.core.serial_frames import FrameParser, Heartbeat
from edge.doctor.gpio import user_name
from edge.doctor.procs import holders

FRAME_TYPES = {
    "Heartbeat": "HB",
    "Door": "DOOR",
    "Presence": "PIR",
    "Sound": "SND",
    "Tamper": "TAMP",
    "Pendant": "PEND",
    "Pong": "PONG",
}
READ_TIMEOUT_S = 0.1
SETTLE_S = 1.2  # after the first frames, wait this long for a heartbeat (firmware version)


def candidates() -> tuple[str, ...]:
    found = sorted(glob.glob("/dev/serial/by-id/*"))
    found += sorted(glob.glob("/dev/ttyUSB*") + glob.glob("/dev/ttyACM*"))
    return tuple(found)


def probe_serial(board: SensorBoardSettings | None, listen_s: float) -> SerialFacts:
    if board is None:
        return SerialFacts(port=None)
    port, user = board.port, user_name()
    base = SerialFacts(port=port, baudrate=board.baudrate, user=user)
    is_url = "://" in port
    if not is_url:
        if not os.path.exists(port):
            return SerialFacts(
                port, board.baudrate, exists=False, candidates=candidates(), user=user
            )
        busy = holders(port)
        if busy:
            return SerialFacts(port, board.baudrate, holders=busy, user=user)
    group, member = _group(port) if not is_url else (None, None)
    try:
        line = serial.serial_for_url(
            port,
            baudrate=board.baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            timeout=READ_TIMEOUT_S,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        code = getattr(exc, "errno", None)
        return SerialFacts(
            port,
            board.baudrate,
            is_url=is_url,
            open_error=_reason(exc),
            open_errno=code if isinstance(code, int) else None,
            device_group=group,
            user=user,
            in_device_group=member,
        )
    try:
        return _listen(line, base, is_url, listen_s)
    finally:
        line.close()


def _listen(line: serial.Serial, base: SerialFacts, is_url: bool, listen_s: float) -> SerialFacts:
    parser = FrameParser()
    kinds: list[str] = []
    firmware: str | None = None
    got = 0
    started = time.monotonic()
    first_frame_at: float | None = None
    while (now := time.monotonic()) - started < listen_s:
        if firmware is not None or (first_frame_at is not None and now - first_frame_at > SETTLE_S):
            break
        data = line.read(max(1, line.in_waiting))
        if not data:
            continue
        got += len(data)
        for frame in parser.feed(bytes(data)):
            kinds.append(FRAME_TYPES.get(type(frame).__name__, type(frame).__name__))
            first_frame_at = first_frame_at or time.monotonic()
            if isinstance(frame, Heartbeat):
                firmware = frame.firmware
    listened = round(time.monotonic() - started, 1)
    return SerialFacts(
        base.port,
        base.baudrate,
        is_url=is_url,
        user=base.user,
        listened_s=listened,
        bytes_read=got,
        frames=tuple(kinds),
        firmware=firmware,
        drops=parser.drops,
    )


def _group(port: str) -> tuple[str | None, bool | None]:
    try:
        gid = os.stat(port).st_gid
    except OSError:
        return None, None
    try:
        name = grp.getgrgid(gid).gr_name
    except KeyError:
        name = str(gid)
    return name, gid == os.getegid() or gid in os.getgroups()


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return f"{os.strerror(code)} ({errno.errorcode[code]})"
    return str(exc)
