"""Topic names as validated value objects: ``trygg/v1/{site}/{device}/{kind}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from protocol.errors import BadTopic

ROOT = "trygg"
TOPIC_VERSION = "v1"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_ID_RE = re.compile(ID_PATTERN)

SiteId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
DeviceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class TopicKind(StrEnum):
    STATUS = "status"
    HEARTBEAT = "heartbeat"
    ALARM = "alarm"
    ACK = "ack"
    EVENT = "event"
    SELFTEST_RUN = "selftest/run"
    SELFTEST_RESULT = "selftest/result"
    ANNOUNCE = "announce"  # central → device, retained: evacuate / lock down / all clear
    ANNOUNCE_REQUEST = "announce/request"  # device → central: an input configured to announce


def valid_id(value: str) -> bool:
    """True if ``value`` may be used as a site or device id."""
    return bool(_ID_RE.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed, valid topic. Construct with :meth:`parse` or directly; both validate."""

    site: str
    device: str
    kind: TopicKind

    def __post_init__(self) -> None:
        for name, value in (("site", self.site), ("device", self.device)):
            if not valid_id(value):
                raise BadTopic(f"{name} id {value!r} does not match {ID_PATTERN}")

    @classmethod
    def parse(cls, topic: str) -> Topic:
        parts = topic.split("/", 4)
        if len(parts) != 5 or parts[0] != ROOT:
            raise BadTopic(
                f"topic {topic!r} is not {ROOT}/{TOPIC_VERSION}/{{site}}/{{device}}/{{kind}}"
            )
        if parts[1] != TOPIC_VERSION:
            raise BadTopic(f"topic {topic!r} has unknown version segment {parts[1]!r}")
        try:
            kind = TopicKind(parts[4])
        except ValueError:
            raise BadTopic(f"topic {topic!r} has unknown kind {parts[4]!r}") from None
        return cls(site=parts[2], device=parts[3], kind=kind)

    def __str__(self) -> str:
        return f"{ROOT}/{TOPIC_VERSION}/{self.site}/{self.device}/{self.kind.value}"


def subscription(kind: TopicKind, site: str = "+", device: str = "+") -> str:
    """A subscription filter for ``kind``; ``+`` matches every site or device."""
    return f"{ROOT}/{TOPIC_VERSION}/{site}/{device}/{kind.value}"
