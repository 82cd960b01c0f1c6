"""encode/decode between message models and MQTT (topic, payload) pairs.

Checks run cheapest first: size before parsing, topic before JSON, version before fields, so
a hostile payload costs as little as possible and always gets one specific error.
"""

from __future__ import annotations

import json
from typing import Any, cast

from pydantic import ValidationError

from protocol.errors import (
    BadJson,
    InvalidMessage,
    PayloadTooLarge,
    TopicMismatch,
    UnknownVersion,
)
from protocol.messages import KIND_FOR_MODEL, MODEL_FOR_KIND, PROTOCOL_VERSION, Message
from protocol.topics import Topic

MAX_PAYLOAD_BYTES = 4096


def encode(message: Message) -> tuple[str, bytes]:
    """The topic and UTF-8 JSON payload that carry ``message``."""
    topic = Topic(message.site, message.device, KIND_FOR_MODEL[type(message)])
    payload = message.model_dump_json(exclude_none=True).encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"encoded {topic.kind} is {len(payload)} bytes")
    return str(topic), payload


def decode(topic: str | Topic, payload: bytes | bytearray | str) -> Message:
    """The message on ``topic``, or a :class:`protocol.errors.ProtocolError` saying why not."""
    raw = payload.encode() if isinstance(payload, str) else bytes(payload)
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    parsed_topic = topic if isinstance(topic, Topic) else Topic.parse(topic)
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadJson(f"payload is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadJson(f"payload is JSON {type(data).__name__}, not an object")
    version = data.get("v")
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise UnknownVersion(
            f"payload version v={version!r}; this side speaks v={PROTOCOL_VERSION}"
        )
    for field in ("site", "device"):
        value = data.get(field)
        expected = getattr(parsed_topic, field)
        if value is not None and value != expected:
            raise TopicMismatch(
                f"payload {field} {value!r} differs from topic {field} {expected!r}"
            )
    model = MODEL_FOR_KIND[parsed_topic.kind]
    try:
        return cast(Message, model.model_validate(data))
    except ValidationError as exc:
        raise InvalidMessage(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
