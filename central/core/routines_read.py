"""Who has read the routines and measures (STANDARD 1.1, 3.6), without I/O.

Every employee confirms that they have read the routines; a change of a routine must ask them
again. So a confirmation is of a *version*, and the version is a content hash of exactly what
the person was shown (:func:`routines_version`): the routine files central runs (alarm
response, escalation, evacuation, self-tests, drills) and the rooms and measures of the
person's own sites. Editing a measure of one office asks that office's people again, and nobody
else; reformatting nothing asks nobody. The safety representative sees, per person, whether the
*current* version is confirmed (:func:`read_status`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

#: Hex digits of the hash kept as the version: enough to never collide by chance.
VERSION_LENGTH = 16


def routines_version(files: Iterable[tuple[str, bytes]], shown: object) -> str:
    """The version of the routines a person reads: the routine files (name, content) and what
    the routines page shows them besides (``shown``: JSON data, e.g. their sites' rooms and
    measures), hashed. The files' order does not matter; any byte of content does."""
    digest = hashlib.sha256()
    for name, content in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    digest.update(json.dumps(shown, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:VERSION_LENGTH]


@dataclass(frozen=True, slots=True)
class ReadStatus:
    """Whether ``user`` confirmed the version they are shown now (``current``); when they
    last confirmed any version (``last_at``; None: never)."""

    user: str
    name: str
    version: str
    current: bool
    read_at: datetime | None  # when they confirmed the current version
    last_at: datetime | None


def read_status(
    people: Iterable[tuple[str, str, str]],
    reads: Mapping[str, Mapping[str, datetime]],
) -> list[ReadStatus]:
    """Each of ``people`` (user, name, the version they are shown now) against ``reads`` (user →
    version → when confirmed): those who have not confirmed the current version first, then by
    name."""
    found = []
    for user, name, version in people:
        confirmed = reads.get(user, {})
        at = confirmed.get(version)
        last = max(confirmed.values(), default=None)
        found.append(ReadStatus(user, name, version, at is not None, at, last))
    return sorted(found, key=lambda r: (r.current, r.name, r.user))
