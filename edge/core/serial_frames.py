"""The sensor board's serial line protocol (docs/serial-protocol.md), without I/O.

:class:`FrameParser` is fed whatever bytes a read returned (any split, any noise) and returns
the typed frames completed by them; every frame it drops is counted by reason. It never raises
on input: a serial line delivers garbage on boot, on a loose cable and from a hostile device.

Recovery follows from two framing rules: a ``$`` always starts a new frame and a ``\\n``
always ends one. So noise *between* frames can never swallow a good frame — whatever it
contains, the next frame's ``$`` restarts framing (noise with a ``$`` in it only costs a
``truncated``, ``bad_*`` or ``oversized`` count). Only noise *inside* a frame (between its
``$`` and its ``\\n``) destroys that one frame, and the CRC makes sure it is dropped, not
misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_FRAME_BYTES = 96  # from "$" to "\n" inclusive
SEQ_MODULUS = 65536

_START, _END = 0x24, 0x0A  # "$", "\n"
_SEQ = re.compile(r"[0-9]{1,5}")
_TYPE = re.compile(r"[A-Z]+")
_CRC = re.compile(rb"[0-9A-F]{4}")
_FIELD = re.compile(r"[\x20-\x23\x25-\x29\x2B\x2D-\x7E]*")  # printable ASCII except $ * ,
_UINT = re.compile(r"[0-9]{1,10}")
_PENDANT_ID = re.compile(r"[A-Za-z0-9-]{1,16}")
_TOKEN = re.compile(r"[A-Za-z0-9]{1,16}")
_FLAG = {"0": False, "1": True}


class DropReason(StrEnum):
    BAD_CHECKSUM = "bad_checksum"
    BAD_FRAME = "bad_frame"
    TRUNCATED = "truncated"
    OVERSIZED = "oversized"
    DUPLICATE = "duplicate"
    SEQ_GAP = "seq_gap"  # counted, but the frame is accepted


class PendantEvent(StrEnum):
    PRESS = "PRESS"
    BATT = "BATT"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    seq: int
    uptime_s: int
    firmware: str


@dataclass(frozen=True, slots=True)
class Door:
    seq: int
    open: bool


@dataclass(frozen=True, slots=True)
class Presence:
    seq: int
    present: bool


@dataclass(frozen=True, slots=True)
class Sound:
    seq: int
    db: int


@dataclass(frozen=True, slots=True)
class Tamper:
    seq: int
    open: bool  # the case is open


@dataclass(frozen=True, slots=True)
class Pendant:
    seq: int
    pendant_id: str
    battery_pct: int
    event: PendantEvent


@dataclass(frozen=True, slots=True)
class Pong:
    seq: int
    token: str


Frame = Heartbeat | Door | Presence | Sound | Tamper | Pendant | Pong


class BadFrame(ValueError):
    """A checked frame whose content does not parse (internal: counted as ``bad_frame``)."""


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def encode_frame(seq: int, frame_type: str, fields: tuple[str, ...] = ()) -> bytes:
    """One frame as it goes on the line, ``$<seq>,<TYPE>[,<field>...]*<crc>\\n``."""
    if not 0 <= seq < SEQ_MODULUS:
        raise ValueError(f"seq {seq} is outside 0..65535")
    if not _TYPE.fullmatch(frame_type) or any(not _FIELD.fullmatch(f) for f in fields):
        raise ValueError(f"{frame_type!r} {fields!r}: type or field not allowed on the line")
    body = ",".join((str(seq), frame_type, *fields)).encode("ascii")
    frame = b"$" + body + b"*" + f"{crc16(body):04X}".encode("ascii") + b"\n"
    if len(frame) > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    return frame


def encode_ping(token: str, seq: int = 0) -> bytes:
    """The edge → board ``PING``; the board answers ``PONG`` with the same token."""
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"ping token {token!r} must match [A-Za-z0-9]{{1,16}}")
    return encode_frame(seq, "PING", (token,))


def _uint(text: str, high: int | None = None) -> int:
    if not _UINT.fullmatch(text):
        raise BadFrame(f"{text!r} is not an unsigned integer")
    value = int(text)
    if high is not None and value > high:
        raise BadFrame(f"{value} is above {high}")
    return value


def _flag(text: str) -> bool:
    try:
        return _FLAG[text]
    except KeyError:
        raise BadFrame(f"state {text!r} is not 0 or 1") from None


def _match(pattern: re.Pattern[str], text: str, what: str) -> str:
    if not pattern.fullmatch(text):
        raise BadFrame(f"bad {what} {text!r}")
    return text


def _pendant(seq: int, pendant_id: str, battery: str, event: str) -> Pendant:
    try:
        kind = PendantEvent(event)
    except ValueError:
        raise BadFrame(f"unknown pendant event {event!r}") from None
    return Pendant(seq, _match(_PENDANT_ID, pendant_id, "pendant id"), _uint(battery, 100), kind)


def parse_body(body: bytes) -> Frame:
    """The checked part of a frame (between ``$`` and ``*``) as a typed frame, or BadFrame."""
    if any(not 0x20 <= byte <= 0x7E for byte in body):
        raise BadFrame("non-printable byte")
    seq_text, _, rest = body.decode("ascii").partition(",")
    frame_type, *fields = rest.split(",")
    seq = int(_match(_SEQ, seq_text, "seq"))
    if seq >= SEQ_MODULUS:
        raise BadFrame(f"seq {seq} is above 65535")
    _match(_TYPE, frame_type, "type")
    match (frame_type, fields):
        case ("HB", [uptime, firmware]):
            return Heartbeat(seq, _uint(uptime), firmware)
        case ("DOOR", [state]):
            return Door(seq, _flag(state))
        case ("PIR", [state]):
            return Presence(seq, _flag(state))
        case ("SND", [db]):
            return Sound(seq, _uint(db, 150))
        case ("TAMP", [state]):
            return Tamper(seq, _flag(state))
        case ("PEND", [pendant_id, battery, event]):
            return _pendant(seq, pendant_id, battery, event)
        case ("PONG", [token]):
            return Pong(seq, _match(_TOKEN, token, "token"))
    raise BadFrame(f"unknown type {frame_type!r} or {len(fields)} fields")


class FrameParser:
    """Incremental: ``feed(chunk)`` returns the frames completed by ``chunk``, in order.

    One parser per connection to a board; :meth:`reset` after a reconnect.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._in_frame = False
        self._last_seq: int | None = None
        self._drops: dict[DropReason, int] = dict.fromkeys(DropReason, 0)

    @property
    def drops(self) -> dict[str, int]:
        """Dropped (and, for ``seq_gap``, noted) frames by reason; only reasons that occurred."""
        return {reason.value: n for reason, n in self._drops.items() if n}

    @property
    def last_seq(self) -> int | None:
        return self._last_seq

    def reset(self) -> None:
        """The line was closed (unplug): a half-received frame is ``truncated`` by the end of
        the stream, and the next frame is accepted whatever its ``seq`` (the board may have
        restarted). Counters are kept: they are totals for this edge's lifetime.
        """
        if self._in_frame:
            self._drop(DropReason.TRUNCATED)
        self._buffer.clear()
        self._in_frame = False
        self._last_seq = None

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for byte in chunk:
            if byte == _START:
                if self._in_frame:
                    self._drop(DropReason.TRUNCATED)
                self._buffer.clear()
                self._in_frame = True
            elif not self._in_frame:
                continue  # noise between frames, or the tail of an oversized one
            elif byte == _END:
                self._in_frame = False
                frame = self._complete(bytes(self._buffer))
                self._buffer.clear()
                if frame is not None:
                    frames.append(frame)
            elif len(self._buffer) + 3 > MAX_FRAME_BYTES:
                # "$" + buffer + this byte + the "\n" still to come would not fit.
                self._drop(DropReason.OVERSIZED)
                self._buffer.clear()
                self._in_frame = False
            else:
                self._buffer.append(byte)
        return frames

    def _complete(self, line: bytes) -> Frame | None:
        """``line`` is what came between ``$`` and ``\\n``."""
        if line.endswith(b"\r"):
            line = line[:-1]
        body, star, crc_text = line.partition(b"*")
        if not star or not _CRC.fullmatch(crc_text):
            self._drop(DropReason.BAD_FRAME)
            return None
        if crc16(body) != int(crc_text, 16):
            self._drop(DropReason.BAD_CHECKSUM)
            return None
        try:
            frame = parse_body(body)
        except BadFrame:
            self._drop(DropReason.BAD_FRAME)
            return None
        return self._sequence(frame)

    def _sequence(self, frame: Frame) -> Frame | None:
        last = self._last_seq
        if last is not None:
            if frame.seq == last:
                self._drop(DropReason.DUPLICATE)
                return None
            if frame.seq != (last + 1) % SEQ_MODULUS:
                self._drop(DropReason.SEQ_GAP)
        self._last_seq = frame.seq
        return frame

    def _drop(self, reason: DropReason) -> None:
        self._drops[reason] += 1


__all__ = [
    "MAX_FRAME_BYTES",
    "Door",
    "DropReason",
    "Frame",
    "FrameParser",
    "Heartbeat",
    "Pendant",
    "PendantEvent",
    "Pong",
    "Presence",
    "Sound",
    "Tamper",
    "crc16",
    "encode_frame",
    "encode_ping",
    "parse_body",
]
