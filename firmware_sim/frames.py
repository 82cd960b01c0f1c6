"""The sensor board's side of docs/serial-protocol.md: writing frames, and reading ``PING``.

Written from the document alone (the edge's parser is a separate, independent implementation;
both are checked against tests/vectors/serial.json). The board writes well-formed frames, and on
request the broken ones a real line produces: a wrong checksum, a frame cut short, one too long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Longest frame from ``$`` to ``\n`` inclusive; a receiver drops anything longer as oversized.
MAX_FRAME_BYTES = 96
SEQ_MODULO = 65536
_FIELD = re.compile(rb"^[\x20-\x7e]*$")
_TYPE = re.compile(r"^[A-Z]+$")
_FORBIDDEN_IN_FIELD = frozenset(b"$*,")


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def body(seq: int, kind: str, fields: tuple[str, ...] | list[str]) -> bytes:
    """The checked part of a frame: everything between ``$`` and ``*``."""
    if not 0 <= seq < SEQ_MODULO:
        raise ValueError(f"seq {seq} is outside 0..{SEQ_MODULO - 1}")
    if not _TYPE.fullmatch(kind):
        raise ValueError(f"frame type {kind!r} must be upper-case letters")
    encoded = [field.encode("ascii") for field in fields]
    for field in encoded:
        if not _FIELD.fullmatch(field) or _FORBIDDEN_IN_FIELD & set(field):
            raise ValueError(f"field {field!r} must be printable ASCII without $ * ,")
    return b",".join([str(seq).encode(), kind.encode(), *encoded])


def encode_frame(
    seq: int, kind: str, fields: tuple[str, ...] | list[str] = (), *, check_size: bool = True
) -> bytes:
    """One frame, ``$<seq>,<TYPE>[,<field>...]*<CRC>\\n``, exactly as the board sends it."""
    checked = body(seq, kind, fields)
    frame = b"$" + checked + b"*" + f"{crc16_ccitt_false(checked):04X}".encode() + b"\n"
    if check_size and len(frame) > MAX_FRAME_BYTES:
        raise ValueError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    return frame


# -- deliberately broken frames (fault injection); each still uses up a sequence number -----


def bad_checksum_frame(seq: int, kind: str, fields: tuple[str, ...] | list[str]) -> bytes:
    """A frame whose CRC is wrong (the right one with every bit flipped): ``bad_checksum``."""
    checked = body(seq, kind, fields)
    wrong = crc16_ccitt_false(checked) ^ 0xFFFF
    return b"$" + checked + b"*" + f"{wrong:04X}".encode() + b"\n"


def truncated_frame(seq: int, kind: str, fields: tuple[str, ...] | list[str]) -> bytes:
    """The first half of a frame and no ``\\n``: the next ``$`` makes it ``truncated``."""
    frame = encode_frame(seq, kind, fields)
    return frame[: max(2, len(frame) // 2)]


def oversized_frame(seq: int, length: int = MAX_FRAME_BYTES + 24) -> bytes:
    """A well-formed heartbeat with a valid CRC but ``length`` bytes long: ``oversized``."""
    head = len(encode_frame(seq, "HB", ["0", ""], check_size=False))
    padding = "x" * max(MAX_FRAME_BYTES + 1 - head, length - head)
    return encode_frame(seq, "HB", ["0", padding], check_size=False)


# -- the edge -> board direction ------------------------------------------------------------

_PING = re.compile(rb"^(\d{1,5}),PING,([A-Za-z0-9]{1,16})\*([0-9A-F]{4})\r?$")


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int
    token: str


class PingReader:
    """Finds valid ``PING`` frames in what the edge writes; everything else is ignored.

    The board only has to answer pings, so it keeps no counters: a frame it cannot use is
    simply not answered, which is what the edge's self-test is there to notice.
    """

    def __init__(self) -> None:
        self._frame: bytearray | None = None

    def feed(self, data: bytes) -> list[Ping]:
        pings: list[Ping] = []
        for byte in data:
            if byte == 0x24:  # "$" restarts framing
                self._frame = bytearray()
            elif self._frame is None:
                continue
            elif byte == 0x0A:
                ping = self._decode(bytes(self._frame))
                self._frame = None
                if ping:
                    pings.append(ping)
            elif len(self._frame) >= MAX_FRAME_BYTES:
                self._frame = None
            else:
                self._frame.append(byte)
        return pings

    @staticmethod
    def _decode(frame: bytes) -> Ping | None:
        match = _PING.fullmatch(frame)
        if not match:
            return None
        seq, token, crc = match.groups()
        checked = frame[: frame.index(b"*")]
        if int(seq) >= SEQ_MODULO or int(crc, 16) != crc16_ccitt_false(checked):
            return None
        return Ping(int(seq), token.decode())
