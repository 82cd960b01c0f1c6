"""The audit trail's hash chain, pure: rows in, hashes and verdicts out.

Why a chain: an audit log kept in the same SQLite file as everything else can be edited by
anyone who can write that file. Each row's hash covers the row *and the hash before it*, so
changing one row (or deleting one) breaks every hash after it, and ``verify`` names the first
row that no longer fits. Together with ``seq`` (AUTOINCREMENT: never reused) a deleted row in
the middle shows as a gap, and a deleted tail as a last ``seq`` below the highest ever given.

The canonical form is JSON with sorted keys, no spaces, UTF-8: the same row hashes the same
on every machine and in every Python version. No I/O here; ``central.audit.log`` writes rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS = "0" * 64  # the "previous hash" of the first row


@dataclass(frozen=True, slots=True)
class Entry:
    """What happened, before it has a place in the chain."""

    at: str  # ISO 8601, UTC
    actor: str  # a user id, "cli:<os user>", "central", or "?" for an unknown login name
    action: str  # e.g. login_failed, token_revoked, user_disabled, round_started
    target: str = ""  # the account, token id, round or alarm acted upon
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Broken:
    """The first row that does not fit the chain, and why."""

    seq: int
    reason: str  # "edited", "deleted", "reordered"

    def __str__(self) -> str:
        return f"row {self.seq}: {self.reason}"


def canonical(seq: int, entry: Entry, prev_hash: str) -> bytes:
    fields = {
        "seq": seq,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "prev_hash": prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(seq: int, entry: Entry, prev_hash: str) -> str:
    return hashlib.sha256(canonical(seq, entry, prev_hash)).hexdigest()


def link(seq: int, entry: Entry, prev_hash: str) -> Row:
    """``entry`` as row ``seq`` of the chain, after a row whose hash is ``prev_hash``."""
    return Row(
        seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        prev_hash,
        row_hash(seq, entry, prev_hash),
    )


def _entry(row: Row) -> Entry:
    return Entry(row.at, row.actor, row.action, row.target, row.detail)


def verify(rows: Iterable[Row], highest_seq: int | None = None) -> Broken | None:
    """The first broken row of ``rows`` (in ``seq`` order), or None if the chain holds.

    ``highest_seq``: the highest ``seq`` ever handed out (SQLite's sqlite_sequence); a chain
    that ends below it has lost its last rows.
    """
    prev_hash = GENESIS
    expected_seq = 1
    for row in rows:
        if row.seq > expected_seq:
            return Broken(expected_seq, "deleted")
        if row.seq < expected_seq:
            return Broken(row.seq, "reordered")
        if row.hash != row_hash(row.seq, _entry(row), row.prev_hash):
            return Broken(row.seq, "edited")
        if row.prev_hash != prev_hash:
            # The row itself is intact but does not follow the one before: the one before
            # was edited and re-hashed to hide it.
            return Broken(row.seq - 1, "edited")
        prev_hash = row.hash
        expected_seq += 1
    if highest_seq is not None and highest_seq >= expected_seq:
        return Broken(expected_seq, "deleted")
    return None
