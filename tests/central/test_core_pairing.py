"""Pairing a desk (RFC 8628) as pure logic (central.core.pairing): codes, expiry, single use,
and the pace of polling, with ``now`` passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from central.core.addresses import address_key, same_place
from central.core.pairing import (
    ALPHABET,
    INTERVAL_S,
    LIFETIME,
    Pairing,
    Poll,
    Refusal,
    State,
    decide,
    new,
    normalize,
    open_for_approval,
    poll,
    shown,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fresh() -> Pairing:
    return new("kari-pc", "10.0.0.7", T0)


@pytest.mark.parametrize("typed", ["BCDF-GHJK", "bcdfghjk", " bcdf ghjk ", "Bcdf-Ghjk"])
def test_a_code_is_read_in_any_case_with_or_without_its_dash(typed: str) -> None:
    assert normalize(typed) == "BCDFGHJK"
    assert shown("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.parametrize(
    "typed", ["", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "BCDF_GHJK", "x" * 41]
)
def test_a_malformed_code_is_no_code(typed: str) -> None:
    assert normalize(typed) is None


def test_the_alphabet_has_no_vowels_or_look_alikes() -> None:
    assert len(ALPHABET) == 20
    assert not set(ALPHABET) & set("AEIOUY01")


def test_a_label_is_one_printable_line() -> None:
    assert new("kari\x00-pc\n\tand more", "a", T0).label == "kari -pc and more"
    assert new("", "a", T0).label == "?"
    assert len(new("x" * 500, "a", T0).label) == 60


def test_approval_once_before_expiry() -> None:
    approved = decide(fresh(), "kari", True, at(60))
    assert isinstance(approved, Pairing)
    assert (approved.state, approved.user_id) == (State.APPROVED, "kari")
    assert decide(approved, "ola", True, at(61)) is Refusal.USED  # used
    assert decide(approved, "kari", False, at(61)) is Refusal.USED
    assert decide(fresh(), "kari", True, T0 + LIFETIME) is Refusal.EXPIRED
    assert open_for_approval(fresh(), at(1)) is None
    assert open_for_approval(fresh(), T0 + LIFETIME) is Refusal.EXPIRED
    assert open_for_approval(approved, at(1)) is Refusal.USED


def test_a_poll_waits_until_approved_then_delivers_once() -> None:
    pairing = fresh()
    answer, pairing_after = poll(pairing, at(2))
    assert answer is Poll.PENDING
    assert pairing_after is not None
    approved = decide(pairing_after, "kari", True, at(3))
    assert isinstance(approved, Pairing)
    answer, delivered = poll(approved, at(4))
    assert answer is Poll.DELIVER
    assert delivered is not None
    assert delivered.state is State.DELIVERED
    # The same device code again: nothing more, ever.
    assert poll(delivered, at(10)) == (Poll.EXPIRED, None)


def test_polling_too_fast_is_slow_down_and_changes_nothing() -> None:
    _, polled = poll(fresh(), at(2))
    assert polled is not None
    assert poll(polled, at(2.5)) == (Poll.SLOW_DOWN, None)
    answer, again = poll(polled, at(2 + INTERVAL_S))
    assert answer is Poll.PENDING
    assert again is not None


def test_denied_expired_and_unknown_codes_end_the_polling() -> None:
    denied = decide(fresh(), "kari", False, at(5))
    assert isinstance(denied, Pairing)
    assert poll(denied, at(6)) == (Poll.DENIED, None)
    assert poll(fresh(), T0 + LIFETIME) == (Poll.EXPIRED, None)
    assert poll(None, at(1)) == (Poll.EXPIRED, None)
    # Approved but collected too late: expired, and no token.
    late = replace(fresh(), state=State.APPROVED, user_id="kari")
    assert poll(late, T0 + LIFETIME + timedelta(seconds=1)) == (Poll.EXPIRED, None)


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("2001:db8:1:2::5", "2001:db8:1:2:ffff:ee:dd:cc", True),  # one /64: one client
        ("2001:db8:1:2::5", "2001:db8:1:3::5", False),
        ("::ffff:10.0.0.7", "10.0.0.7", True),  # a dual-stack socket's IPv4 client
        ("10.0.0.7", "10.0.0.8", False),
        ("fe80::1%eth0", "fe80::2", True),
        ("testclient", "testclient", True),  # not an address: still one key
    ],
)
def test_limits_count_an_ipv6_client_by_its_64(one: str, other: str, same: bool) -> None:
    assert same_place(one, other) is same
    assert (address_key(one) == address_key(other)) is same
