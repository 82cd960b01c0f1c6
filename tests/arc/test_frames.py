"""DC-09 frames as pure functions: exact bytes. The expected CRCs and frames were computed by
an independent implementation (pysiaalarm), not by the code under test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pysiaalarm.account import SIAAccount
from pysiaalarm.event import SIAEvent

from central.arc.events import ArcEvent, ArcKind, cid_data, sia_data
from central.arc.frames import (
    BadReply,
    Frame,
    Reply,
    crc16,
    decrypt,
    encode,
    encrypt,
    next_sequence,
    pad_length,
    parse_reply,
    timestamp,
)

T = datetime(2026, 12, 2, 6, 17, 8, tzinfo=UTC)
KEY = b"AAAAAAAAAAAAAAAA"  # 16 characters used as the key's bytes (pysiaalarm's reading)
HEX_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")


def pad(n: int) -> str:
    return "x" * n


def frame(form: str = "ADM-CID", data: str = "1120 01 015") -> Frame:
    return Frame(form, 7, "1234A", "0", "1", data, T)  # type: ignore[arg-type]


def test_crc16_is_crc_16_arc() -> None:
    assert crc16(b"123456789") == 0xBB3D  # the catalogue's check value of CRC-16/ARC
    assert crc16(b"") == 0


def test_timestamp_and_sequence() -> None:
    assert timestamp(T) == "06:17:08,12-02-2026"
    assert next_sequence(0) == 1
    assert next_sequence(41) == 42
    assert next_sequence(9999) == 1


def test_plain_frames() -> None:
    assert encode(frame(), None, pad) == (
        b'\n465F003F"ADM-CID"0007R1L0#1234A[#1234A|1120 01 015]_06:17:08,12-02-2026\r'
    )
    assert encode(frame("SIA-DCS", "Nri1/PA015"), None, pad) == (
        b'\n42B5003E"SIA-DCS"0007R1L0#1234A[#1234A|Nri1/PA015]_06:17:08,12-02-2026\r'
    )
    assert encode(frame("NULL", ""), None, pad) == (
        b'\n889B002A"NULL"0007R1L0#1234A[]_06:17:08,12-02-2026\r'
    )
    no_receiver = Frame("NULL", 12, "ABC", "2F", None, "", T)
    assert encode(no_receiver, None, pad) == (
        b'\n5F210027"NULL"0012L2F#ABC[]_06:17:08,12-02-2026\r'
    )


def test_encrypted_frames() -> None:
    assert encode(frame(), KEY, pad) == (
        b'\n94590079"*ADM-CID"0007R1L0#1234A['
        b"2706BC575CA9FF825B9A3D1B6B6CEC616B01EDA10AE757D5FD7B38DFE5D6AB2A"
        b"073815F3EB5AB43E7BC3E2C33645ED8B\r"
    )
    hex_part = encode(frame(), KEY, pad)[34:-1].decode()
    assert decrypt(hex_part, KEY) == "x" * 8 + "|#1234A|1120 01 015]_06:17:08,12-02-2026"
    null = encode(frame("NULL", ""), HEX_KEY, pad)
    assert null[:31] == b'\n181D0056"*NULL"0007R1L0#1234A['
    assert decrypt(null[31:-1].decode(), HEX_KEY) == "x" * 10 + "|]_06:17:08,12-02-2026"


def test_pad_fills_whole_blocks_and_is_never_empty() -> None:
    assert [pad_length(n) for n in (0, 14, 15, 16, 31)] == [15, 1, 16, 15, 16]


def test_bad_pad_and_key_are_refused() -> None:
    with pytest.raises(ValueError, match="pad"):
        encode(frame(), KEY, lambda n: "|" * n)
    with pytest.raises(ValueError, match="pad"):
        encode(frame(), KEY, lambda n: "x" * (n + 1))
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        encode(frame(), b"short", pad)
    with pytest.raises(ValueError, match="whole blocks"):
        encrypt("abc", KEY)
    with pytest.raises(ValueError, match="whole AES blocks"):
        decrypt("ABCD", KEY)


@pytest.mark.parametrize("key", [None, "AAAAAAAAAAAAAAAA", "0123456789abcdef0123456789abcdef"])
@pytest.mark.parametrize(
    ("form", "data", "code"),
    [("ADM-CID", "1120 01 015", "PA"), ("SIA-DCS", "Nri1/PA015", "PA"), ("NULL", "", "RP")],
)
def test_pysiaalarm_reads_our_frames(key: str | None, form: str, data: str, code: str) -> None:
    """The independent parser decodes the account and code and would ACK (not only the
    real-process tests: this runs every combination of format and key size in-process)."""
    now = datetime.now(UTC)
    sent = Frame(form, 7, "1234A", "0", "1", data, now)  # type: ignore[arg-type]
    raw = encode(sent, key.encode() if key else None, pad)
    event = SIAEvent.from_line(raw.decode().strip(), {"1234A": SIAAccount("1234A", key)})
    assert (event.account, event.code, event.valid_message, event.response is not None) == (
        "1234A",
        code,
        True,
        True,
    )
    assert event.response.value == "ACK"  # type: ignore[union-attr]
    answer = parse_reply(event.create_response(), key.encode() if key else None)
    assert isinstance(answer, Reply)
    assert (answer.kind, answer.seq, answer.account) == ("ACK", 7, "1234A")


def test_replies() -> None:
    assert parse_reply(b'\nEE750015"ACK"0007R1L0#1234A[]\r', None) == Reply("ACK", 7, "1234A", None)
    nak = b'\nD6980025"NAK"0000R1L0A0[]_06:27:08,12-02-2026\r'
    assert parse_reply(nak, None) == Reply(
        "NAK", 0, None, datetime(2026, 12, 2, 6, 27, 8, tzinfo=UTC)
    )
    assert parse_reply(b'"NAK"', None) == Reply("NAK", None, None, None)
    assert parse_reply(b'\nB4050015"DUH"0007R1L0#1234A[]\r', None) == Reply("DUH", 7, "1234A", None)
    encrypted = (
        b'\n54D80055"*ACK"0007R1L0#1234A['
        b"47C987D4EEA5456311EE8F68A3CA5214CCA3320FBA939F188D34C8EE6752C328\r"
    )
    assert parse_reply(encrypted, KEY) == Reply("ACK", 7, "1234A", T)


def test_bad_replies_are_no_answer() -> None:
    assert parse_reply(b'\n0000015"ACK"0007R1L0#1234A[]\r', None) == BadReply(
        "not a DC-09 frame: '0000015\"ACK\"0007R1L0#1234A[]'"
    )
    assert parse_reply(b'\nEE760015"ACK"0007R1L0#1234A[]\r', None) == BadReply(
        "wrong CRC EE76 (expected EE75)"
    )
    assert parse_reply(b'\nEE750016"ACK"0007R1L0#1234A[]\r', None) == BadReply(
        "wrong length 0016 (message has 21 characters)"
    )
    assert parse_reply(b"\xff\xfe", None) == BadReply("not ASCII")
    impossible = b'"NAK"0000R1L0A0[]_99:27:08,13-02-2026'  # a time that cannot be: none
    head = f"{crc16(impossible):04X}{len(impossible):04X}".encode()
    assert parse_reply(head + impossible, None) == Reply("NAK", 0, None, None)
    odd = b'"XYZ"0007L0#1234A[]'
    assert parse_reply(b"\n" + f"{crc16(odd):04X}0013".encode() + odd + b"\r", None) == (
        BadReply("not an ACK, NAK, DUH or RSP: '\"XYZ\"0007L0#1234A[]'")
    )
    star = b'"*ACK"0007L0#1234A[00'
    head = f"{crc16(star):04X}{len(star):04X}".encode()
    assert parse_reply(head + star, None) == BadReply("an encrypted reply to a plain account")
    assert parse_reply(head + star, KEY) == BadReply(
        "cannot decrypt the reply: the encrypted part is not whole AES blocks"
    )


def event(kind: ArcKind, zone: int = 15, restore: bool = False) -> ArcEvent:
    return ArcEvent("oslo", "a1", kind, T, zone, restore)


def test_event_data_for_both_formats() -> None:
    table = [
        (event(ArcKind.PANIC), "1120 01 015", "Nri1/PA015"),
        (event(ArcKind.PANIC, restore=True), "3120 01 015", "Nri1/PH015"),
        (event(ArcKind.SILENT), "1122 01 015", "Nri1/HA015"),
        (event(ArcKind.ASSIST, 7), "1101 01 007", "Nri1/QA007"),
        (event(ArcKind.TEST, 0), "1602 01 000", "Nri1/RP000"),
        (event(ArcKind.TROUBLE, 3), "1380 01 003", "Nri1/YX003"),
        (event(ArcKind.TROUBLE, 3, restore=True), "3380 01 003", "Nri1/YZ003"),
        (event(ArcKind.EVACUATE), "1150 01 901", "Nri1/UA901"),
        (event(ArcKind.LOCKDOWN, restore=True), "3150 01 902", "Nri1/UH902"),
    ]
    assert [(cid_data(e, 1), sia_data(e, 1)) for e, _, _ in table] == [
        (cid, sia) for _, cid, sia in table
    ]
    assert event(ArcKind.PANIC).unique == "a1:panic:alarm"
    assert event(ArcKind.PANIC, restore=True).unique == "a1:panic:restore"


def test_event_checks() -> None:
    with pytest.raises(ValueError, match="outside 0-999"):
        event(ArcKind.PANIC, 1000)
    with pytest.raises(ValueError, match="needs a site and a key"):
        ArcEvent("oslo", "", ArcKind.PANIC, T)
