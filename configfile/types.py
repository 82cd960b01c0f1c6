"""Value types that several parts' config files share."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use e.g. Europe/Oslo)") from None
    return value


#: An IANA time zone name that exists on this machine, e.g. ``Europe/Oslo``.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
