"""The sensor-line parser against the shared vectors, edge cases, and Hypothesis properties.

What is recoverable (and so what the property test demands): a ``$`` always starts a frame and
a ``\\n`` always ends one, so noise placed *between* frames — any bytes at all, ``$`` and
``\\n`` included — can never cost a good frame: the next frame's own ``$`` restarts framing.
Noise inside a frame destroys just that frame. The one thing noise could do besides is *be*
a valid frame by chance (a CRC hit); such noise is excluded with ``assume`` because it is, by
definition, indistinguishable from the board speaking.
"""

from __future__ import annotations

import binascii
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from edge.core.serial_frames import (
    MAX_FRAME_BYTES,
    Door,
    DropReason,
    Frame,
    FrameParser,
    Heartbeat,
    Pendant,
    PendantEvent,
    Pong,
    Presence,
    Sound,
    Tamper,
    crc16,
    encode_frame,
    encode_ping,
    parse_body,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "serial.json").read_text("utf-8")
)
CASES = VECTORS["cases"]


def as_vector(frame: Frame) -> dict[str, Any]:
    """A typed frame in the vectors' neutral form {seq, type, fields}."""
    match frame:
        case Heartbeat():
            kind, fields = "HB", [str(frame.uptime_s), frame.firmware]
        case Door():
            kind, fields = "DOOR", [str(int(frame.open))]
        case Presence():
            kind, fields = "PIR", [str(int(frame.present))]
        case Sound():
            kind, fields = "SND", [str(frame.db)]
        case Tamper():
            kind, fields = "TAMP", [str(int(frame.open))]
        case Pendant():
            kind = "PEND"
            fields = [frame.pendant_id, str(frame.battery_pct), frame.event.value]
        case Pong():
            kind, fields = "PONG", [frame.token]
    return {"seq": frame.seq, "type": kind, "fields": fields}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("split", ["whole", "byte-by-byte"])
def test_shared_vectors(case: dict[str, Any], split: str) -> None:
    data = bytes.fromhex(case["input_hex"])
    parser = FrameParser()
    if split == "whole":
        frames = parser.feed(data)
    else:
        frames = [f for i in range(len(data)) for f in parser.feed(data[i : i + 1])]
    assert [as_vector(f) for f in frames] == case["frames"]
    assert parser.drops == case["rejected"]


def test_crc_check_value() -> None:
    check = VECTORS["crc_check"]
    assert f"{crc16(check['input'].encode()):04X}" == check["crc"] == "29B1"


@given(st.binary(max_size=200))
def test_crc_agrees_with_an_independent_implementation(data: bytes) -> None:
    assert crc16(data) == binascii.crc_hqx(data, 0xFFFF)


def test_doc_examples_are_what_the_encoder_writes() -> None:
    assert encode_frame(1, "HB", ("12", "1.0.3")) == b"$1,HB,12,1.0.3*A515\n"
    assert encode_frame(2, "DOOR", ("1",)) == b"$2,DOOR,1*33DC\n"
    assert encode_frame(4, "PEND", ("p-17", "83", "PRESS")) == b"$4,PEND,p-17,83,PRESS*533A\n"
    assert encode_frame(5, "PONG", ("a1b2",)) == b"$5,PONG,a1b2*3700\n"


def test_encode_ping() -> None:
    frame = encode_ping("a1b2", seq=7)
    body = b"7,PING,a1b2"
    assert frame == b"$" + body + b"*" + f"{crc16(body):04X}".encode() + b"\n"
    assert encode_ping("x").startswith(b"$0,PING,x*")
    for bad in ("", "a-b", "x" * 17):
        with pytest.raises(ValueError, match="token"):
            encode_ping(bad)


@pytest.mark.parametrize(
    ("seq", "kind", "fields"),
    [(65536, "HB", ()), (-1, "HB", ()), (1, "ping", ()), (1, "HB", ("a,b",)), (1, "X", ("é",))],
)
def test_encoder_refuses_what_the_line_cannot_carry(
    seq: int, kind: str, fields: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.65535|not allowed on the line"):
        encode_frame(seq, kind, fields)


def test_encoder_refuses_oversized() -> None:
    with pytest.raises(ValueError, match="exceeds 96"):
        encode_frame(1, "HB", ("1", "x" * 90))


def frame_of_length(total: int, seq: int = 1) -> bytes:
    """A valid HB frame exactly ``total`` bytes long (padding the firmware text)."""
    bare = len(encode_frame(seq, "HB", ("1", "")))
    return encode_frame_unchecked(seq, "HB", ("1", "v" * (total - bare)))


def encode_frame_unchecked(seq: int, kind: str, fields: tuple[str, ...]) -> bytes:
    body = ",".join((str(seq), kind, *fields)).encode()
    return b"$" + body + b"*" + f"{crc16(body):04X}".encode() + b"\n"


def test_a_frame_of_exactly_96_bytes_is_accepted_and_97_is_oversized() -> None:
    parser = FrameParser()
    exact = frame_of_length(MAX_FRAME_BYTES, seq=1)
    too_long = frame_of_length(MAX_FRAME_BYTES + 1, seq=2)
    assert len(exact) == 96
    assert len(too_long) == 97
    frames = parser.feed(exact + too_long + encode_frame(3, "SND", ("5",)))
    assert [f.seq for f in frames] == [1, 3]
    assert parser.drops == {"oversized": 1, "seq_gap": 1}
    # "\r\n": the "\r" counts towards the 96 bytes.
    crlf = frame_of_length(MAX_FRAME_BYTES, seq=4)[:-1] + b"\r\n"
    assert parser.feed(crlf) == []
    assert parser.drops["oversized"] == 2


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"$\n", "bad_frame"),  # nothing at all
        (b"$1,DOOR,1*33D\n", "bad_frame"),  # three hex digits
        (b"$1,DOOR,1*33DCC\n", "bad_frame"),
        (b"$1,DOOR,1*33DC\r\r\n", "bad_frame"),  # only one "\r" is a line ending
        (b"$1,DOOR,1*33DC*\n", "bad_frame"),
        (b"$2,DOOR,1*33DD\n", "bad_checksum"),
    ],
)
def test_malformed_lines(line: bytes, reason: str) -> None:
    parser = FrameParser()
    assert parser.feed(line) == []
    assert parser.drops == {reason: 1}


@pytest.mark.parametrize(
    "body",
    [
        b"1,DOOR,\x01",  # non-printable
        b"1,DOOR",  # no fields
        b"1",  # no type
        b",DOOR,1",  # no seq
        b"+1,DOOR,1",  # int() would take it; the grammar does not
        b"123456,DOOR,1",
        b"1,Door,1",
        b"1,HB,-1,fw",
        b"1,HB,12345678901,fw",
        b"1,PIR,x",
        b"1,TAMP,01",
        b"1,PEND,,5,PRESS",
        b"1,PEND," + b"p" * 17 + b",5,PRESS",
        b"1,PEND,p_1,5,PRESS",
        b"1,PONG,",
        b"1,SND,64,1",
    ],
)
def test_checked_but_unparseable_frames_are_bad_frames(body: bytes) -> None:
    parser = FrameParser()
    line = b"$" + body + b"*" + f"{crc16(body):04X}".encode() + b"\n"
    assert parser.feed(line) == []
    assert parser.drops == {"bad_frame": 1}


def test_typed_frames() -> None:
    assert parse_body(b"3,HB,0,") == Heartbeat(3, 0, "")
    assert parse_body(b"3,PIR,1") == Presence(3, True)
    assert parse_body(b"3,TAMP,0") == Tamper(3, False)
    assert parse_body(b"3,SND,150") == Sound(3, 150)
    assert parse_body(b"3,PEND,-x-,0,BATT") == Pendant(3, "-x-", 0, PendantEvent.BATT)
    assert parse_body(b"00007,DOOR,0") == Door(7, False)


def test_reset_counts_a_cut_off_frame_and_accepts_any_next_seq() -> None:
    parser = FrameParser()
    assert [f.seq for f in parser.feed(encode_frame(100, "SND", ("1",)) + b"$101,SN")] == [100]
    assert parser.last_seq == 100
    parser.reset()  # unplugged mid-frame
    assert parser.drops == {"truncated": 1}
    assert parser.last_seq is None
    # The replugged board starts again at 0 (or repeats 100): neither a gap nor a duplicate.
    assert [f.seq for f in parser.feed(encode_frame(100, "SND", ("2",)))] == [100]
    parser.reset()  # between frames: nothing is lost
    assert [f.seq for f in parser.feed(encode_frame(0, "SND", ("3",)))] == [0]
    assert parser.drops == {"truncated": 1}


def test_backward_jump_is_a_gap_not_a_duplicate() -> None:
    parser = FrameParser()
    data = b"".join(encode_frame(s, "SND", ("1",)) for s in (10, 11, 3, 4))
    assert [f.seq for f in parser.feed(data)] == [10, 11, 3, 4]
    assert parser.drops == {"seq_gap": 1}


def test_drop_reasons_are_the_documented_ones() -> None:
    assert {r.value for r in DropReason} == {
        "bad_checksum",
        "bad_frame",
        "truncated",
        "oversized",
        "duplicate",
        "seq_gap",
    }


# -- properties ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(max_size=400), st.lists(st.integers(1, 50), max_size=20))
@example(b"$" * 200 + b"\n" * 3, [1])
@example(b"$1,HB,1,x" + b"y" * 200 + b"*0000\r\n", [7])
def test_arbitrary_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    parser = FrameParser()
    position = 0
    for cut in [*cuts, len(data)]:
        for frame in parser.feed(data[position : position + cut]):
            assert 0 <= frame.seq <= 65535
        position += cut
    parser.reset()
    assert all(n > 0 for n in parser.drops.values())


_pendant_ids = st.from_regex(r"[A-Za-z0-9-]{1,16}", fullmatch=True)
_tokens = st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True)
_payloads = st.one_of(
    st.tuples(st.just("HB"), st.tuples(st.integers(0, 10**9).map(str), st.just("1.0.3"))),
    st.tuples(st.sampled_from(["DOOR", "PIR", "TAMP"]), st.tuples(st.sampled_from("01"))),
    st.tuples(st.just("SND"), st.tuples(st.integers(0, 150).map(str))),
    st.tuples(
        st.just("PEND"),
        st.tuples(_pendant_ids, st.integers(0, 100).map(str), st.sampled_from(["PRESS", "BATT"])),
    ),
    st.tuples(st.just("PONG"), st.tuples(_tokens)),
)


@st.composite
def frames_in_noise(draw: st.DrawFn) -> tuple[list[bytes], list[bytes], list[int]]:
    """Valid frames (increasing seq, wrapping) with arbitrary noise before, between and after."""
    count = draw(st.integers(1, 8))
    seq = draw(st.integers(0, 65535))
    frames = []
    for _ in range(count):
        kind, fields = draw(_payloads)
        frames.append(encode_frame(seq, kind, fields))
        seq = (seq + draw(st.integers(1, 3))) % 65536  # 1 = next, more = frames lost
    noise = draw(st.lists(st.binary(max_size=120), min_size=count + 1, max_size=count + 1))
    cuts = draw(st.lists(st.integers(1, 64), max_size=30))
    return frames, noise, cuts


@settings(max_examples=300)
@given(frames_in_noise())
@example(([encode_frame(1, "DOOR", ("1",))], [b"$", b"$9,DOOR,1*"], []))
@example(([encode_frame(1, "DOOR", ("1",))], [b"$" + b"x" * 150, b"\r\n$"], [3]))
def test_every_frame_between_noise_is_recovered_once(
    case: tuple[list[bytes], list[bytes], list[int]],
) -> None:
    frames, noise, cuts = case
    for chunk in noise:  # noise that is itself a valid frame is the board talking: excluded
        assume(FrameParser().feed(chunk) == [])
    stream = noise[0] + b"".join(f + n for f, n in zip(frames, noise[1:], strict=True))
    parser = FrameParser()
    got: list[Frame] = []
    position = 0
    for cut in [*cuts, len(stream)]:
        got.extend(parser.feed(stream[position : position + cut]))
        position += cut
    assert [encode_frame(f.seq, *as_fields(f)) for f in got] == frames
    drops = parser.drops
    assert drops.get("duplicate", 0) == 0


def as_fields(frame: Frame) -> tuple[str, tuple[str, ...]]:
    vector = as_vector(frame)
    return vector["type"], tuple(vector["fields"])


@given(st.lists(st.integers(0, 65535), min_size=1, max_size=30))
def test_a_repeated_frame_is_reported_once(seqs: list[int]) -> None:
    """A board (or a flaky link) that sends a frame twice in a row yields it once."""
    parser = FrameParser()
    stream = b"".join(encode_frame(s, "SND", ("60",)) * 2 for s in seqs)
    got = [f.seq for f in parser.feed(stream)]
    expected = [s for i, s in enumerate(seqs) if i == 0 or s != seqs[i - 1]]
    assert got == expected
    assert parser.drops.get("duplicate", 0) == len(seqs) + (len(seqs) - len(expected))
