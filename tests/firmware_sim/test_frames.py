"""The simulator's frame writer against the shared vectors (tests/vectors/serial.json)."""

from __future__ import annotations

import binascii
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim import frames
from tests.firmware_sim.conftest import frame_ok

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "serial.json").read_text())
CASES = VECTORS["cases"]


def test_crc_check_value() -> None:
    check = VECTORS["crc_check"]
    assert f"{frames.crc16_ccitt_false(check['input'].encode()):04X}" == check["crc"] == "29B1"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_writer_produces_the_vector_bytes_of_every_frame(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["input_hex"])
    written = [frames.encode_frame(f["seq"], f["type"], f["fields"]) for f in case["frames"]]
    for frame in written:
        # The board writes "\n"; a vector may show the "\r\n" a receiver must also accept.
        assert frame in data or frame[:-1] + b"\r\n" in data, (frame, data)
    if not case["rejected"] and not case["name"].startswith("partial"):
        assert b"".join(written) == data.replace(b"\r\n", b"\n") or b"boot" in data


def test_the_documented_examples() -> None:
    assert frames.encode_frame(1, "HB", ["12", "1.0.3"]) == b"$1,HB,12,1.0.3*A515\n"
    assert frames.encode_frame(4, "PEND", ["p-17", "83", "PRESS"]) == (
        b"$4,PEND,p-17,83,PRESS*533A\n"
    )
    assert frames.encode_frame(5, "PONG", ["a1b2"]) == b"$5,PONG,a1b2*3700\n"


@pytest.mark.parametrize(
    ("seq", "kind", "fields"),
    [
        (65536, "HB", []),
        (-1, "HB", []),
        (1, "door", ["1"]),
        (1, "DOOR", ["a,b"]),
        (1, "DOOR", ["$"]),
        (1, "DOOR", ["x*"]),
        (1, "DOOR", ["\n"]),
        (1, "HB", ["x" * 90]),
    ],
)
def test_writer_refuses_what_the_protocol_cannot_carry(
    seq: int, kind: str, fields: list[str]
) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.|must be|exceeds"):
        frames.encode_frame(seq, kind, fields)


def test_broken_frames_are_broken_the_documented_way() -> None:
    bad = frames.bad_checksum_frame(7, "DOOR", ["1"])
    good = frames.encode_frame(7, "DOOR", ["1"])
    assert bad[:-6] == good[:-6]
    assert bad != good
    assert frame_ok(bad[:-1]) is None
    assert int(bad[-5:-1], 16) == int(good[-5:-1], 16) ^ 0xFFFF

    cut = frames.truncated_frame(8, "DOOR", ["1"])
    assert cut.startswith(b"$8,")
    assert b"\n" not in cut
    assert b"*" not in cut

    big = frames.oversized_frame(9)
    assert len(big) == 120 > frames.MAX_FRAME_BYTES
    assert big.endswith(b"\n")
    assert frame_ok(big[:-1]) == (9, "HB", ["0", "x" * (120 - len(b"$9,HB,0,*XXXX\n"))])


def test_ping_reader_answers_only_valid_pings() -> None:
    reader = frames.PingReader()
    ping = frames.encode_frame(3, "PING", ["a1b2"])
    stream = (
        b"\x00noise\n"
        + frames.bad_checksum_frame(1, "PING", ["bad"])
        + b"$2,PI"  # truncated by the next "$"
        + ping
        + frames.encode_frame(4, "PING", ["a-b"])  # token outside [A-Za-z0-9]
        + frames.encode_frame(5, "PONG", ["zz"])
        + b"$6,PING,x"
        + b"y" * 200
        + b"\n"  # oversized
        + ping[:-1]
        + b"\r\n"
    )
    found = []
    for i in range(0, len(stream), 7):  # split across reads
        found += reader.feed(stream[i : i + 7])
    assert found == [frames.Ping(3, "a1b2"), frames.Ping(3, "a1b2")]


@given(
    seq=st.integers(0, 65535),
    kind=st.sampled_from(["HB", "DOOR", "PIR", "SND", "TAMP", "PEND", "PONG"]),
    fields=st.lists(
        st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="$*,"),
            max_size=12,
        ),
        max_size=3,
    ),
)
def test_every_written_frame_carries_an_independently_checked_crc(
    seq: int, kind: str, fields: list[str]
) -> None:
    frame = frames.encode_frame(seq, kind, fields)
    checked = frame[1 : frame.index(b"*")]
    assert frame[-6:-4] != b""
    assert frame[-6] == ord("*")
    assert frame[-5:-1] == f"{binascii.crc_hqx(checked, 0xFFFF):04X}".encode()
    assert frame_ok(frame[:-1]) == (seq, kind, fields)
    assert len(frame) <= frames.MAX_FRAME_BYTES


@given(token=st.from_regex(r"\A[A-Za-z0-9]{1,16}\Z"), noise=st.binary(max_size=64))
def test_ping_found_in_any_noise(token: str, noise: bytes) -> None:
    reader = frames.PingReader()
    clean = noise.replace(b"$", b"")
    assert reader.feed(clean + b"\n" + frames.encode_frame(1, "PING", [token]) + clean) == [
        frames.Ping(1, token)
    ]
