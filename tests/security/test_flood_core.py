"""The flood rule (central.core.flood), by exact equality with an injected clock: the token
bucket per device and per desk user, and its resumption after a restart. The one card per
flooding source is tested in test_flood_cards_core.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central.core.flood import (
    DESK_BURST,
    DESK_RATE_PER_S,
    QUIET,
    FloodEnded,
    FloodGuard,
    FloodStarted,
    Verdict,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_a_burst_is_shown_then_one_flood_starts_and_the_rest_is_coalesced() -> None:
    guard = FloodGuard(rate_per_s=0.5, burst=3, quiet=10 * S)
    shown = [guard.alarm("a", "rom-101", T0) for _ in range(3)]
    assert shown == [Verdict(show=True)] * 3
    assert guard.alarm("a", "rom-101", T0) == Verdict(
        show=False, actions=(FloodStarted("a", "rom-101", T0),)
    )
    assert guard.alarm("a", "rom-101", T0 + S) == Verdict(show=False)
    assert guard.flooding() == [("a", "rom-101")]
    # Another device (and the same id at another site) is not held back by rom-101's flood.
    assert guard.alarm("a", "rom-102", T0) == Verdict(show=True)
    assert guard.alarm("b", "rom-101", T0) == Verdict(show=True)


def test_the_bucket_refills_at_its_rate() -> None:
    guard = FloodGuard(rate_per_s=0.5, burst=2, quiet=60 * S)
    assert [guard.alarm("a", "d", T0).show for _ in range(2)] == [True, True]
    assert guard.alarm("a", "d", T0 + 2 * S).show  # one token back after 2 s
    assert guard.alarm("a", "d", T0 + 2 * S).actions == (FloodStarted("a", "d", T0 + 2 * S),)


def test_a_flood_ends_after_quiet_and_says_how_many_it_held() -> None:
    guard = FloodGuard(rate_per_s=0.1, burst=1, quiet=10 * S)
    guard.alarm("a", "d", T0)
    guard.alarm("a", "d", T0)  # starts the flood
    guard.alarm("a", "d", T0 + 5 * S)
    assert guard.tick(T0 + 14 * S) == []  # 9 s since the last alarm
    assert guard.tick(T0 + 15 * S) == [FloodEnded("a", "d", T0 + 15 * S, 2)]
    assert guard.flooding() == []
    assert guard.alarm("a", "d", T0 + 16 * S) == Verdict(show=True)  # shown again


def test_a_quiet_device_without_flood_is_forgotten_silently() -> None:
    guard = FloodGuard(burst=5, quiet=10 * S)
    guard.alarm("a", "d", T0)
    assert guard.tick(T0 + 10 * S) == []
    assert guard.flooding() == []


def test_a_desk_s_silent_alarms_have_a_tighter_bucket_per_site_and_user() -> None:
    desks = FloodGuard(rate_per_s=DESK_RATE_PER_S, burst=DESK_BURST, quiet=QUIET)
    verdicts = [desks.alarm("a", "kari", T0) for _ in range(DESK_BURST + 2)]
    assert verdicts == [Verdict(show=True)] * DESK_BURST + [
        Verdict(show=False, actions=(FloodStarted("a", "kari", T0),)),
        Verdict(show=False),
    ]
    assert desks.alarm("a", "ola", T0) == Verdict(show=True)  # per user
    assert desks.tick(T0 + QUIET) == [FloodEnded("a", "kari", T0 + QUIET, 2)]
    # Once the flood has ended, the desk's alarms are counted afresh.
    assert desks.alarm("a", "kari", T0 + QUIET + 60 * S) == Verdict(show=True)


def test_a_flood_resumed_after_a_restart_stands_until_quiet_with_an_empty_bucket() -> None:
    guard = FloodGuard(rate_per_s=0.1, burst=3, quiet=10 * S)
    assert guard.resume("a", "d", T0) == [FloodStarted("a", "d", T0)]
    assert guard.resume("a", "d", T0) == []  # once
    assert guard.alarm("a", "d", T0 + S) == Verdict(show=False)  # still flooding
    assert guard.tick(T0 + 11 * S) == [FloodEnded("a", "d", T0 + 11 * S, 1)]
