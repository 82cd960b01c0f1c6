"""One judgement, for every config, of whether a secret is real or left as a placeholder.

An alarm system that starts with ``password = "changeme"`` is an open door; each part refuses
such values at start-up and in ``validate-config``. The words live here once so that the edge,
central and the desk refuse the same things.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Equal to one of these (ignoring case and punctuation): somebody forgot to set it.
PLACEHOLDER_WORDS = frozenset(
    {
        "changeme",
        "password",
        "passwd",
        "passw0rd",
        "secret",
        "token",
        "example",
        "todo",
        "replaceme",
        "default",
        "test",
        "admin",
        "fixme",
        "xxx",
        "xxxxxxxx",
        "12345678",
    }
)
# Containing one of these (after the same squashing, or as typed for the brackets and dots).
PLACEHOLDER_MARKERS = (
    "changeme",
    "replaceme",
    "placeholder",
    "yourtoken",
    "tokenhere",
    "yourpassword",
    "fixme",
    "xxxx",
)
TYPED_MARKERS = ("<", ">", "…", "...")


class Placeholder(StrEnum):
    PLACEHOLDER = "placeholder"  # a word or marker that means "not set yet"
    REPETITIVE = "repetitive"  # "aaaaaaaa", "abababab", "********": nobody's real secret


def placeholder_kind(value: str) -> Placeholder | None:
    """Why ``value`` cannot be a real secret, or ``None`` when nothing says so."""
    squashed = re.sub(r"[^a-z0-9]", "", value.lower())
    if squashed in PLACEHOLDER_WORDS or any(m in squashed for m in PLACEHOLDER_MARKERS):
        return Placeholder.PLACEHOLDER
    if any(marker in value for marker in TYPED_MARKERS):
        return Placeholder.PLACEHOLDER
    if len(set(squashed)) <= 3:
        return Placeholder.REPETITIVE
    return None
