"""One exception tree for everything the wire can get wrong.

Each error carries a short machine-readable ``reason`` (used as a counter name by central and
the edge) and a human message that says what was wrong with the input.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """A topic or payload that does not follow the wire contract."""

    reason = "invalid"


class BadTopic(ProtocolError):
    """The topic is not ``trygg/v1/{site}/{device}/{kind}`` with valid ids and a known kind."""

    reason = "bad_topic"


class PayloadTooLarge(ProtocolError):
    """The payload is over the size limit; it is rejected before it is parsed."""

    reason = "too_large"


class BadJson(ProtocolError):
    """The payload is not UTF-8 JSON, or not a JSON object."""

    reason = "bad_json"


class UnknownVersion(ProtocolError):
    """The payload's ``v`` field is missing or names a version this code does not speak."""

    reason = "unknown_version"


class InvalidMessage(ProtocolError):
    """A field is missing or has the wrong type or value."""

    reason = "invalid_message"


class TopicMismatch(ProtocolError):
    """The payload names another site or device than its topic (a spoofing attempt or a bug)."""

    reason = "topic_mismatch"
