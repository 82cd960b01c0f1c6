"""SIA DC-09 frames, without I/O: building a message, reading the receiver's reply.

A message on the wire (DC-09, TCP)::

    LF CRC(4 hex) 0LLL "ID" SEQ Rrcvr Lline #acct [data] _HH:MM:SS,MM-DD-YYYY CR

``CRC`` is CRC-16/ARC (polynomial 0x8005 reflected, 0xA001; start 0) over the ASCII bytes
from the first ``"`` to the end of the timestamp, ``0LLL`` their length in hex. Encrypted
(``"*SIA-DCS"``, ``"*ADM-CID"``, ``"*NULL"``), everything after ``[`` — the data, its closing
``]`` and the timestamp — is AES-CBC with an all-zero IV and the account's shared key, written
as upper-case hex; the plaintext starts with pad characters (never ``|``, ``[`` or ``]``) and
a ``|``, so that its length is a multiple of 16. The pad is random on the wire and an argument
here, so tests compare whole frames by equality.

Projects disagree on details (which CRC, whether a key is hex digits or bytes), so the tests
check these frames against an independent receiver (pysiaalarm) run as a real ARC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

Format = Literal["ADM-CID", "SIA-DCS", "NULL"]
ReplyKind = Literal["ACK", "NAK", "DUH", "RSP"]

MAX_SEQUENCE = 9999
BLOCK = 16
KEY_SIZES = (16, 24, 32)
TIMESTAMP = "%H:%M:%S,%m-%d-%Y"
PAD_FORBIDDEN = frozenset("|[]")
_ZERO_IV = bytes(BLOCK)


def crc16(data: bytes) -> int:
    """CRC-16/ARC: reflected polynomial 0xA001, initial value 0 (DC-09 5.5.1.2)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(TIMESTAMP)


def next_sequence(seq: int) -> int:
    """0001 ... 9999, then 0001 again."""
    return 1 if seq >= MAX_SEQUENCE else seq + 1


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    if len(key) not in KEY_SIZES:
        raise ValueError(f"an AES key has 16, 24 or 32 bytes, not {len(key)}")
    return Cipher(algorithms.AES(key), modes.CBC(_ZERO_IV))


def encrypt(plain: str, key: bytes) -> str:
    data = plain.encode("ascii")
    if len(data) % BLOCK:
        raise ValueError("the plaintext is not padded to whole blocks")
    encryptor = _cipher(key).encryptor()
    return (encryptor.update(data) + encryptor.finalize()).hex().upper()


def decrypt(hex_text: str, key: bytes) -> str:
    """ValueError if it is not whole blocks of hex, or does not decrypt to ASCII."""
    data = bytes.fromhex(hex_text)
    if not data or len(data) % BLOCK:
        raise ValueError("the encrypted part is not whole AES blocks")
    decryptor = _cipher(key).decryptor()
    return (decryptor.update(data) + decryptor.finalize()).decode("ascii")


def pad_length(length: int) -> int:
    """How many pad characters go before ``|`` and ``length`` more: 1-16, to whole blocks."""
    return BLOCK - (length + 1) % BLOCK or BLOCK


@dataclass(frozen=True, slots=True)
class Frame:
    """One message, before it is framed (and maybe encrypted)."""

    format: Format
    seq: int  # 1-9999; a retransmission keeps its number
    account: str  # 3-16 hex digits
    line: str  # the line prefix, 1-6 hex digits
    receiver: str | None  # the receiver number, 1-6 hex digits, or none
    data: str  # "1120 01 015" / "Nri1/PA015"; "" for NULL
    at: datetime  # the timestamp sent (the receiver's time after a resync)

    def header(self, encrypted: bool) -> str:
        star = "*" if encrypted else ""
        receiver = f"R{self.receiver}" if self.receiver is not None else ""
        return f'"{star}{self.format}"{self.seq:04d}{receiver}L{self.line}#{self.account}['

    def body(self) -> str:
        """What follows ``[``: the account block and data, ``]``, the timestamp."""
        block = f"#{self.account}|{self.data}" if self.data else ""
        return f"{block}]_{timestamp(self.at)}"


def _frame(message: str) -> bytes:
    raw = message.encode("ascii")
    return b"\n" + f"{crc16(raw):04X}{len(raw):04X}".encode() + raw + b"\r"


def encode(frame: Frame, key: bytes | None, pad: Callable[[int], str]) -> bytes:
    """The bytes on the wire. ``pad(n)`` gives n pad characters (random in the shell)."""
    if key is None:
        return _frame(frame.header(False) + frame.body())
    body = frame.body()
    filler = pad(pad_length(len(body)))
    if len(filler) != pad_length(len(body)) or PAD_FORBIDDEN & set(filler):
        raise ValueError("the pad has the wrong length or a forbidden character")
    return _frame(frame.header(True) + encrypt(f"{filler}|{body}", key))


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    seq: int | None  # None: a bare ``"NAK"`` without a frame
    account: str | None
    at: datetime | None  # the receiver's clock (a NAK's timestamp, for the resync)


@dataclass(frozen=True, slots=True)
class BadReply:
    """Not a reply we can trust (wrong CRC, length, garbage): counts as no answer."""

    reason: str


_FRAMED = re.compile(r"^([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})(\".*)$", re.S)
_HEAD = re.compile(r'^"(\*?)(ACK|NAK|DUH|RSP)"(\d{4})([^#\[]*)(?:#([0-9A-Fa-f]{3,16}))?\[(.*)$')
_STAMP = re.compile(r"_(\d\d:\d\d:\d\d,\d\d-\d\d-\d{4})$")


def _stamp(text: str) -> datetime | None:
    found = _STAMP.search(text)
    if found is None:
        return None
    try:
        return datetime.strptime(found.group(1), TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_reply(raw: bytes, key: bytes | None) -> Reply | BadReply:
    """Read a receiver's answer to one message."""
    try:
        text = raw.decode("ascii").strip("\r\n\0 ")
    except UnicodeDecodeError:
        return BadReply("not ASCII")
    if text == '"NAK"':
        return Reply("NAK", None, None, None)  # pysiaalarm's answer to an unknown account
    framed = _FRAMED.match(text)
    if framed is None:
        return BadReply(f"not a DC-09 frame: {text[:60]!r}")
    crc, length, message = framed.groups()
    if int(crc, 16) != crc16(message.encode("ascii")):
        return BadReply(f"wrong CRC {crc} (expected {crc16(message.encode('ascii')):04X})")
    if int(length, 16) != len(message):
        return BadReply(f"wrong length {length} (message has {len(message)} characters)")
    head = _HEAD.match(message)
    if head is None:
        return BadReply(f"not an ACK, NAK, DUH or RSP: {message[:60]!r}")
    star, kind, seq, _prefix, account, rest = head.groups()
    if star:
        if key is None:
            return BadReply("an encrypted reply to a plain account")
        try:
            rest = decrypt(rest, key)
        except ValueError as err:
            return BadReply(f"cannot decrypt the reply: {err}")
    kind_: ReplyKind = kind  # type: ignore[assignment]  # the regex allows these four only
    return Reply(kind_, int(seq), account.upper() if account else None, _stamp(rest))
