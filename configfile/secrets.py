"""One judgement, for every config, of whether a secret is real or left as a placeholder.

An alarm system that starts with ``password = "changeme"`` is an open door; each part refuses
such values at start-up and in ``validate-config``. The words live here once so that the edge,
central and the desk refuse the same things.

Beyond the words, a secret must be long and varied enough: :func:`entropy_bits` is a simple,
documented estimate (docs/security.md) — the characters' classes give the alphabet, and each
character adds log2(alphabet) bits unless it merely continues a run of repeats or neighbours
("aaaaaa", "abcdef", "654321" count as two characters). It does not know dictionaries, so it
over-rates a passphrase of common words; it is a floor that catches "Sommer2024", not a proof
of strength. Generate secrets with ``openssl rand -base64 32`` or
``python3 -c "import secrets; print(secrets.token_urlsafe(32))"``.
"""

from __future__ import annotations

import math
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


#: The least :func:`entropy_bits` a password, token or signing secret in a config may have.
#: ``openssl rand -base64 16`` (22 characters) gives about 130; a 24-character token of hex
#: digits about 120; "Sommer2024!" about 72.
MIN_SECRET_BITS = 80

_CLASSES = (
    (re.compile(r"[a-z]"), 26),
    (re.compile(r"[A-Z]"), 26),
    (re.compile(r"[0-9]"), 10),
    (re.compile(r"[!-/:-@\[-`{-~ ]"), 33),  # ASCII punctuation and space
    (re.compile(r"[^\x00-\x7f]"), 100),  # anything beyond ASCII
)


def entropy_bits(value: str) -> float:
    """A cautious estimate of how many bits of guessing ``value`` takes (see module doc)."""
    alphabet = sum(size for pattern, size in _CLASSES if pattern.search(value))
    if alphabet <= 1 or not value:
        return 0.0
    codes = [ord(char) for char in value]
    counted = len(codes)
    for i in range(2, len(codes)):
        step = codes[i] - codes[i - 1]
        if abs(step) <= 1 and step == codes[i - 1] - codes[i - 2]:
            counted -= 1  # a run goes on ("aaa", "abc", "321"): no new choice was made
    return counted * math.log2(alphabet)


def secret_problem(value: str, what: str, min_bits: float = MIN_SECRET_BITS) -> str | None:
    """Why ``value`` must not be used as ``what`` (a sentence for validate-config), or None."""
    kind = placeholder_kind(value)
    if kind is Placeholder.PLACEHOLDER:
        return f"{what} is a placeholder; set a real one (e.g. `openssl rand -base64 32`)"
    if kind is Placeholder.REPETITIVE:
        return f"{what} is too repetitive to be a real secret"
    bits = entropy_bits(value)
    if bits < min_bits:
        return (
            f"{what} is too weak (about {bits:.0f} bits, at least {min_bits:.0f} needed); "
            "generate one with `openssl rand -base64 32`"
        )
    return None
