"""Fuzz: central's MQTT ingest takes any topic and payload without crashing, and invalid input
changes nothing — it is counted under one reason and never reaches the alarm lifecycle.

The decoder is driven through ``MqttLink.handle``, the very call the aiomqtt loop makes for every
message, with a real ``AlarmBook`` behind it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central.config import MqttSettings
from central.core import AlarmBook
from central.link import MqttLink
from protocol import AckMessage, AlarmMessage, Message, ProtocolError, SelftestRunMessage, decode
from tests.fuzz.budget import fuzz
from tests.fuzz.strategies import payloads

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SITE, DEVICE = "oslo-sentrum", "rom-101"
ALARM = {
    "v": 1,
    "site": SITE,
    "device": DEVICE,
    "alarm_id": "0b7e4f7c-3f0e-4a51-9d51-3c2a4a1d2f10",
    "level": "acute",
    "room": "Møterom 101",
    "source": "button",
    "input": "desk",
    "raised_at": "2026-11-27T09:23:38.710Z",
    "presses": 1,
}
VALID: dict[str, dict[str, Any]] = {
    "alarm": ALARM,
    "status": {
        "v": 1,
        "site": SITE,
        "device": DEVICE,
        "state": "online",
        "health": {
            "outputs": {"desk": "off"},
            "alarms": [
                {"alarm_id": ALARM["alarm_id"], "input": "desk", "presses": 1, "state": "received"}
            ],
        },
    },
    "heartbeat": {
        "v": 1,
        "site": SITE,
        "device": DEVICE,
        "at": "2026-11-27T09:24:00Z",
        "interval_s": 10,
        "health": {"faults": [], "counters": {"bad_json": 1}},
    },
    "event": {
        "v": 1,
        "site": SITE,
        "device": DEVICE,
        "at": "2026-11-27T09:24:00Z",
        "room": "Møterom 101",
        "sensor": "door",
        "kind": "open",
        "value": None,
    },
    "selftest/result": {
        "v": 1,
        "site": SITE,
        "device": DEVICE,
        "run_id": "6f1b7c2e-1d5a-4c3b-8e9f-0a1b2c3d4e5f",
        "at": "2026-11-27T06:30:00.412Z",
        "results": [{"name": "inputs", "ok": True, "detail": "2 inputs"}],
    },
    "ack": {
        "v": 1,
        "site": SITE,
        "device": DEVICE,
        "alarm_id": ALARM["alarm_id"],
        "state": "resolved",
        "at": "2026-11-27T09:24:00Z",
    },
}
REASONS = {
    "too_large",
    "bad_topic",
    "bad_json",
    "unknown_version",
    "topic_mismatch",
    "invalid_message",
}
ids = st.one_of(
    st.sampled_from([SITE, DEVICE, "bergen", "rom-102"]),
    st.text(max_size=70),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,62}", fullmatch=True),
)
topics = st.one_of(
    st.builds(
        lambda s, d, k: f"trygg/v1/{s}/{d}/{k}",
        ids,
        ids,
        st.sampled_from([*VALID, "selftest/run", "nope", ""]),
    ),
    st.text(max_size=120),
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(VALID)))
    topic = draw(st.one_of(st.just(f"trygg/v1/{SITE}/{DEVICE}/{kind}"), topics))
    return topic, draw(payloads(VALID[kind]))


class Ingest:
    """The link as central runs it, with the alarm book behind ``on_alarm``."""

    def __init__(self) -> None:
        self.book = AlarmBook()
        self.alarms: list[AlarmMessage] = []
        self.device_messages: list[Message] = []
        self.rejected: Counter[str] = Counter()
        settings = MqttSettings(password="fuzz-only-Qm3vX9kT2pL8")
        self.link = MqttLink(
            settings,
            self._on_alarm,
            self.rejected,
            lambda: NOW,
            on_device=self.device_messages.append,
        )

    def _on_alarm(self, message: AlarmMessage) -> None:
        self.alarms.append(message)
        self.book.alarm(message, NOW)


@fuzz
@given(messages())
def test_any_message_is_decoded_or_rejected_with_one_reason(case: tuple[str, bytes]) -> None:
    topic, payload = case
    try:
        expected: Message | None = decode(topic, payload)
    except ProtocolError as exc:
        assert exc.reason in REASONS
        expected = None
    ingest = Ingest()
    got = ingest.link.handle(topic, payload)
    if expected is None or isinstance(expected, AckMessage | SelftestRunMessage):
        # Invalid, or central's own kind from someone else: one count, nothing goes further.
        assert got is None
        assert sum(ingest.rejected.values()) == 1
        assert ingest.alarms == []
        assert ingest.device_messages == []
        assert len(ingest.book) == 0
    elif isinstance(expected, AlarmMessage):
        assert ingest.alarms == [expected]
        assert not ingest.rejected
        assert ingest.book.get(expected.alarm_id) is not None
    else:
        assert ingest.device_messages == [expected]
        assert not ingest.rejected


@fuzz
@given(st.text(max_size=200), st.binary(max_size=600))
def test_noise_on_any_topic_never_escapes_the_error_tree(topic: str, payload: bytes) -> None:
    ingest = Ingest()
    ingest.link.handle(topic, payload)
    assert ingest.link.received == 1
    assert len(ingest.book) == len(ingest.alarms)
