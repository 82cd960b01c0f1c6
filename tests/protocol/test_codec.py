"""The wire contract: every rejection reason, round trips, and the documented examples."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    MAX_PAYLOAD_BYTES,
    AckMessage,
    AlarmMessage,
    BadJson,
    BadTopic,
    HeartbeatMessage,
    InvalidMessage,
    Message,
    PayloadTooLarge,
    ProtocolError,
    StatusMessage,
    Topic,
    TopicKind,
    TopicMismatch,
    UnknownVersion,
    decode,
    encode,
)
from protocol.topics import subscription

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TOPIC = "trygg/v1/oslo-sentrum/rom-101/alarm"


def alarm(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "v": 1,
        "site": "oslo-sentrum",
        "device": "rom-101",
        "alarm_id": str(uuid4()),
        "level": "acute",
        "room": "Møterom 101",
        "source": "button",
        "input": "desk",
        "raised_at": "2026-11-27T09:23:38.710Z",
    }
    data.update(overrides)
    return data


def raw(data: object) -> bytes:
    return json.dumps(data).encode()


def test_valid_alarm_decodes_with_defaults() -> None:
    msg = decode(TOPIC, raw(alarm()))
    assert isinstance(msg, AlarmMessage)
    assert msg.presses == 1
    assert msg.test is False
    assert msg.drill is False
    assert msg.raised_at.tzinfo is not None


def test_unknown_fields_are_ignored() -> None:
    msg = decode(TOPIC, raw(alarm(colour="red")))
    assert isinstance(msg, AlarmMessage)
    assert not hasattr(msg, "colour")


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"{not json", BadJson),
        (b"\xff\xfe", BadJson),
        (b"[1, 2]", BadJson),
        (b"x" * (MAX_PAYLOAD_BYTES + 1), PayloadTooLarge),
        (b"x" * (1024 * 1024), PayloadTooLarge),
        (raw(alarm(v=2)), UnknownVersion),
        (raw({k: v for k, v in alarm().items() if k != "v"}), UnknownVersion),
        (raw(alarm(v=True)), UnknownVersion),
        (raw(alarm(level="panic")), InvalidMessage),
        (raw(alarm(presses="many")), InvalidMessage),
        (raw(alarm(alarm_id="not-a-uuid")), InvalidMessage),
        (raw(alarm(raised_at="2026-11-27T09:23:38")), InvalidMessage),
        (raw({k: v for k, v in alarm().items() if k != "room"}), InvalidMessage),
        (raw(alarm(device="rom-999")), TopicMismatch),
        (raw(alarm(site="bergen")), TopicMismatch),
    ],
)
def test_rejections_are_specific(payload: bytes, error: type[ProtocolError]) -> None:
    with pytest.raises(error) as info:
        decode(TOPIC, payload)
    assert info.value.reason == error.reason
    assert str(info.value)


@pytest.mark.parametrize(
    "topic",
    [
        "trygg/v1/oslo/rom-1",
        "trygg/v2/oslo/rom-1/alarm",
        "other/v1/oslo/rom-1/alarm",
        "trygg/v1/Oslo/rom-1/alarm",
        "trygg/v1/oslo/-rom/alarm",
        "trygg/v1/oslo/rom-1/launch",
        "trygg/v1/oslo/" + "a" * 64 + "/alarm",
    ],
)
def test_bad_topics(topic: str) -> None:
    with pytest.raises(BadTopic):
        decode(topic, raw(alarm()))


def test_size_is_checked_before_anything_else() -> None:
    # A huge payload on a bad topic is still "too large": the cheapest check runs first.
    with pytest.raises(PayloadTooLarge):
        decode("nonsense", b"{" * (MAX_PAYLOAD_BYTES + 1))


def test_topic_value_object_round_trip() -> None:
    topic = Topic.parse("trygg/v1/oslo/rom-1/selftest/result")
    assert topic.kind is TopicKind.SELFTEST_RESULT
    assert str(topic) == "trygg/v1/oslo/rom-1/selftest/result"
    assert subscription(TopicKind.ALARM) == "trygg/v1/+/+/alarm"
    with pytest.raises(BadTopic):
        Topic("Oslo", "rom-1", TopicKind.ALARM)


ids = st.from_regex(re.compile(r"[a-z0-9][a-z0-9-]{0,20}"), fullmatch=True)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(
    site=ids,
    device=ids,
    level=st.sampled_from(["assist", "acute"]),
    room=st.text(min_size=1, max_size=120),
    presses=st.integers(min_value=1, max_value=1000),
    raised_at=times,
    test=st.booleans(),
)
def test_alarm_round_trips(
    site: str, device: str, level: str, room: str, presses: int, raised_at: datetime, test: bool
) -> None:
    msg = AlarmMessage(
        site=site,
        device=device,
        alarm_id=uuid4(),
        level=level,
        room=room,
        source="button",
        input="desk",
        raised_at=raised_at,
        presses=presses,
        test=test,
    )
    topic, payload = encode(msg)
    assert topic == f"trygg/v1/{site}/{device}/alarm"
    assert decode(topic, payload) == msg


@given(st.binary(max_size=MAX_PAYLOAD_BYTES + 10))
def test_arbitrary_bytes_never_escape_the_error_tree(payload: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(TOPIC, payload)


def test_other_kinds_round_trip() -> None:
    now = datetime.now(UTC)
    messages: list[Message] = [
        AckMessage(site="s", device="d", alarm_id=uuid4(), state="received", at=now),
        StatusMessage(site="s", device="d", state="offline"),
        HeartbeatMessage(site="s", device="d", at=now, interval_s=10),
    ]
    for msg in messages:
        assert decode(*encode(msg)) == msg


ACK_TOPIC = "trygg/v1/oslo-sentrum/rom-101/ack"


def ack(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "v": 1,
        "site": "oslo-sentrum",
        "device": "rom-101",
        "alarm_id": str(uuid4()),
        "state": "received",
        "at": "2026-11-27T09:23:41.010Z",
    }
    data.update(overrides)
    return data


def test_ack_presses_is_optional_within_v1() -> None:
    """An ack from a central that predates ``presses`` still decodes, as None."""
    old = decode(ACK_TOPIC, raw(ack()))
    new = decode(ACK_TOPIC, raw(ack(presses=3)))
    assert isinstance(old, AckMessage)
    assert old.presses is None
    assert isinstance(new, AckMessage)
    assert new.presses == 3
    assert decode(*encode(new)) == new


@pytest.mark.parametrize("presses", [0, -1, 1_000_001, "many"])
def test_ack_presses_out_of_range_is_rejected(presses: object) -> None:
    with pytest.raises(InvalidMessage):
        decode(ACK_TOPIC, raw(ack(presses=presses)))


def test_every_json_example_in_the_docs_decodes() -> None:
    """docs/protocol.md is what third parties build on: its examples must be valid."""
    text = DOCS.read_text()
    examples = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(examples) >= 7
    for example in examples:
        data = json.loads(example)
        kind = {
            "alarm_id" in data and "level" in data: "alarm",
            "state" in data and "alarm_id" in data: "ack",
            "state" in data and "alarm_id" not in data: "status",
            "interval_s" in data: "heartbeat",
            "sensor" in data: "event",
            "deadline" in data: "selftest/run",
            "results" in data: "selftest/result",
            "announcement_id" in data: "announce",
            "request_id" in data: "announce/request",
        }[True]
        topic = f"trygg/v1/{data['site']}/{data['device']}/{kind}"
        decoded = decode(topic, example.encode())
        assert decoded.site == data["site"]
    # The mosquitto_pub example in the docs, too.
    pub = re.search(r"-t (trygg/\S+) \\\n\s+-m '([^']+)'", text)
    assert pub is not None
    decoded = decode(pub.group(1), pub.group(2).encode())
    assert isinstance(decoded, AlarmMessage)
    assert decoded.alarm_id == UUID("5d1c6bba-7c4e-4a5f-9a8e-0f4c1e2d3b4a")
