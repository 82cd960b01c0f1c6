"""The wire contract of Trygg: topics, messages, encode/decode and their limits.

Third-party devices build on this contract through ``docs/protocol.md``; keep the two true
together. This package imports nothing else of ours.
"""

from protocol.codec import MAX_PAYLOAD_BYTES, decode, encode
from protocol.errors import (
    BadJson,
    BadTopic,
    InvalidMessage,
    PayloadTooLarge,
    ProtocolError,
    TopicMismatch,
    UnknownVersion,
)
from protocol.messages import (
    PROTOCOL_VERSION,
    AckMessage,
    AckState,
    AlarmLevel,
    AlarmMessage,
    AlarmSource,
    AnnouncementKind,
    AnnounceMessage,
    AnnounceRequestMessage,
    CheckName,
    CheckResult,
    EventMessage,
    Health,
    HeartbeatMessage,
    HeldAlarm,
    HeldState,
    Message,
    SelftestResultMessage,
    SelftestRunMessage,
    StatusMessage,
)
from protocol.topics import DeviceId, SiteId, Topic, TopicKind

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "PROTOCOL_VERSION",
    "AckMessage",
    "AckState",
    "AlarmLevel",
    "AlarmMessage",
    "AlarmSource",
    "AnnounceMessage",
    "AnnounceRequestMessage",
    "AnnouncementKind",
    "BadJson",
    "BadTopic",
    "CheckName",
    "CheckResult",
    "DeviceId",
    "EventMessage",
    "Health",
    "HeartbeatMessage",
    "HeldAlarm",
    "HeldState",
    "InvalidMessage",
    "Message",
    "PayloadTooLarge",
    "ProtocolError",
    "SelftestResultMessage",
    "SelftestRunMessage",
    "SiteId",
    "StatusMessage",
    "Topic",
    "TopicKind",
    "TopicMismatch",
    "UnknownVersion",
    "decode",
    "encode",
]
