"""The audit trail's hash chain, pure: exact hashes, and the first broken row named."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from central.audit.chain import GENESIS, Broken, Entry, Row, canonical, link, row_hash, verify

A = Entry("2025-03-01T08:00:00+00:00", "admin", "login", "admin", "from 10.0.0.7")
B = Entry("2025-03-01T08:01:00+00:00", "admin", "user_disabled", "kari")
C = Entry("2025-03-01T08:02:00+00:00", "cli:root", "token_revoked", "0a1b2c3d4e5f", "of ola")


def chain() -> list[Row]:
    rows: list[Row] = []
    prev = GENESIS
    for seq, entry in enumerate((A, B, C), start=1):
        row = link(seq, entry, prev)
        rows.append(row)
        prev = row.hash
    return rows


def test_the_canonical_row_is_sorted_compact_json() -> None:
    assert canonical(1, B, GENESIS) == (
        b'{"action":"user_disabled","actor":"admin","at":"2025-03-01T08:01:00+00:00",'
        b'"detail":"","prev_hash":"' + GENESIS.encode() + b'","seq":1,"target":"kari"}'
    )


def test_a_row_hash_is_sha256_of_the_canonical_row_with_the_previous_hash() -> None:
    first = link(1, A, GENESIS)
    assert first.prev_hash == GENESIS
    assert first.hash == hashlib.sha256(canonical(1, A, GENESIS)).hexdigest()
    second = link(2, B, first.hash)
    assert second.prev_hash == first.hash
    assert second.hash == row_hash(2, B, first.hash)
    assert second.hash != link(2, B, GENESIS).hash  # the chain is in the hash


def test_an_intact_chain_verifies() -> None:
    assert verify(chain()) is None
    assert verify(chain(), highest_seq=3) is None
    assert verify([]) is None


def test_an_edited_row_is_named() -> None:
    rows = chain()
    rows[1] = replace(rows[1], target="ola")
    assert verify(rows) == Broken(2, "edited")


def test_an_edited_and_rehashed_row_is_named_by_its_successor() -> None:
    rows = chain()
    edited = replace(rows[1], target="ola")
    rows[1] = replace(edited, hash=row_hash(2, replace(B, target="ola"), edited.prev_hash))
    assert verify(rows) == Broken(2, "edited")


def test_a_deleted_row_is_named() -> None:
    rows = chain()
    assert verify([rows[0], rows[2]]) == Broken(2, "deleted")
    assert verify(rows[1:]) == Broken(1, "deleted")


def test_a_deleted_last_row_is_named_from_the_highest_seq() -> None:
    assert verify(chain()[:2], highest_seq=3) == Broken(3, "deleted")
    assert str(Broken(3, "deleted")) == "row 3: deleted"
