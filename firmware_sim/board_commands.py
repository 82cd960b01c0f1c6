"""The sensor board's control socket: requests from ``trygg-sim board DEVICE ...``.

Requests (JSON, see :mod:`firmware_sim.control`); every reply carries the board's status:

``{"cmd": "door", "value": "open"|"closed"}``   door contact (sends DOOR on change)
``{"cmd": "pir", "value": "on"|"off"}``          presence (sends PIR on change)
``{"cmd": "sound", "db": 0..150}``               sound level, reported every second
``{"cmd": "tamper", "value": "on"|"off"}``       case opened/closed (sends TAMP on change)
``{"cmd": "pendant", "id": ID, "battery": N?}``  pendant press (PEND ID,N,PRESS)
``{"cmd": "battery", "id": ID, "battery": N}``   pendant battery report (PEND ID,N,BATT)
``{"cmd": "noise", "bytes": N}``                 N random bytes, never ``$`` (nothing is lost)
``{"cmd": "badcrc"}``                            a DOOR frame whose CRC has every bit flipped
``{"cmd": "truncate"}``                          the first half of a DOOR frame, no newline
``{"cmd": "oversize"}``                          a valid-CRC HB frame of 120 bytes
``{"cmd": "silence", "value": "on"|"off"}``      stop/resume sending anything (PONG too)
``{"cmd": "unplug"}`` / ``{"cmd": "replug"}``     pty closed and symlink removed / new ones
``{"cmd": "status"}``                            no change
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from firmware_sim.board import Board
from firmware_sim.control import ControlServer
from firmware_sim.errors import SimError

BOARD_COMMANDS = (
    "door",
    "pir",
    "sound",
    "tamper",
    "pendant",
    "battery",
    "noise",
    "badcrc",
    "truncate",
    "oversize",
    "silence",
    "unplug",
    "replug",
    "status",
)
PENDANT_ID = re.compile(r"^[A-Za-z0-9-]{1,16}$")
_ON_OFF = {"on": True, "off": False, "open": True, "closed": False, "1": True, "0": False}


def board_socket(workdir: Path, device: str) -> Path:
    return workdir / f"{device}.board.sock"


def _switch(request: dict[str, Any], *choices: str) -> bool:
    value = str(request.get("value", ""))
    if value not in choices:
        raise SimError(f"{request['cmd']} takes {' or '.join(choices)}, not {value!r}")
    return _ON_OFF[value]


def _number(request: dict[str, Any], key: str, low: int, high: int) -> int:
    value = request.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SimError(f"{request['cmd']}: {key} must be an integer {low}..{high}, not {value!r}")
    return value


def _pendant_id(request: dict[str, Any]) -> str:
    pendant = str(request.get("id", ""))
    if not PENDANT_ID.fullmatch(pendant):
        raise SimError(f"pendant id {pendant!r} must match {PENDANT_ID.pattern}")
    return pendant


def command(board: Board, request: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Check ``request`` here (in the caller's thread); return what the board thread runs."""
    cmd = request.get("cmd")
    act: Callable[[], Any]
    if cmd == "door":
        is_open = _switch(request, "open", "closed")
        act = partial(board.do_door, is_open)
    elif cmd in ("pir", "tamper"):
        on = _switch(request, "on", "off")
        act = partial(board.do_pir if cmd == "pir" else board.do_tamper, on)
    elif cmd == "sound":
        db = _number(request, "db", 0, 150)
        act = partial(board.do_sound, db)
    elif cmd == "pendant":
        pendant = _pendant_id(request)
        battery = None if request.get("battery") is None else _number(request, "battery", 0, 100)
        act = partial(board.do_pendant, pendant, battery, "PRESS")
    elif cmd == "battery":
        pendant = _pendant_id(request)
        level = _number(request, "battery", 0, 100)
        act = partial(board.do_pendant, pendant, level, "BATT")
    elif cmd == "noise":
        count = _number({"bytes": 32, **request}, "bytes", 1, 65536)
        act = partial(board.do_noise, count)
    elif cmd in ("badcrc", "truncate", "oversize"):
        fault = str(cmd)
        act = partial(board.do_fault_frame, fault)
    elif cmd == "silence":
        silent = _switch(request, "on", "off")
        act = partial(board.do_silence, silent)
    elif cmd in ("unplug", "replug", "status"):
        act = {"unplug": board.do_unplug, "replug": board.do_replug, "status": board.describe}[cmd]
    else:
        raise SimError(f"unknown board command {cmd!r}; known: {', '.join(BOARD_COMMANDS)}")

    def run() -> dict[str, Any]:
        result = act()
        status = board.describe()
        if isinstance(result, bytes):
            status["wrote"] = result.hex()
        return status

    return run


def handle(board: Board, request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, **board.call(command(board, request))}


def serve(board: Board, workdir: Path) -> ControlServer:
    """Start ``board`` and its control socket at ``<workdir>/<device>.board.sock``."""
    board.start()
    server = ControlServer(
        board_socket(workdir, board.device), lambda r: handle(board, r), f"board-{board.device}"
    )
    server.start()
    return server
