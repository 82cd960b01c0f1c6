"""The watchdog's pure core (shared by central and the edge), on an injected monotonic clock:
when to feed systemd, which part to blame, and when to say so. The parts are a service's
usual three: the event loop, a writer thread and a link task probed through the loop."""

from __future__ import annotations

import pytest

from trygg_systemd.watchdog import LOOP, Part, Stale, WatchdogCore, describe, stale_parts

STORE, LINK = "store writer", "mqtt link"
PARTS = (Part(LOOP), Part(STORE, via=LOOP), Part(LINK, via=LOOP))

T0 = 1000.0  # the watchdog starts; WatchdogSec 4 s: ticks every 1 s, stale after 2 s


def alive(now: float) -> dict[str, float]:
    return {LOOP: now, STORE: now, LINK: now}


def test_timing_follows_the_watchdog_seconds() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    assert (core.tick_s, core.feed_every_s, core.stale_after_s) == (1.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="positive"):
        WatchdogCore(PARTS, 0.0, T0)
    with pytest.raises(ValueError, match="at least one part"):
        WatchdogCore((), 4.0, T0)


def test_all_alive_feeds_about_every_half_of_the_timeout_and_says_nothing_new() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    decisions = [core.tick(alive(T0 + step), T0 + step) for step in range(1, 9)]
    assert [d.feed for d in decisions] == [True, False, True, False, True, False, True, False]
    assert all(d.stale == () and d.status is None for d in decisions)


def test_a_late_tick_still_feeds_within_the_slack() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    assert core.tick(alive(T0 + 1), T0 + 1).feed
    # The next feed is due 2 s later; a tick that comes 0.4 s early (loaded machine) feeds.
    assert not core.tick(alive(T0 + 1.9), T0 + 1.9).feed
    assert core.tick(alive(T0 + 2.6), T0 + 2.6).feed


def test_a_stalled_store_writer_stops_the_feed_and_is_named_once() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    assert core.tick(alive(T0 + 1), T0 + 1).feed
    beats = {LOOP: T0 + 3, LINK: T0 + 3, STORE: T0 + 1}  # the writer's last beat at +1
    fresh = core.tick(beats, T0 + 3)  # 2.0 s silent: not yet past the limit
    assert fresh.feed
    assert fresh.stale == ()
    stalled = core.tick({**beats, LOOP: T0 + 3.5, LINK: T0 + 3.5}, T0 + 3.5)
    assert not stalled.feed
    assert stalled.stale == (Stale(STORE, 2.5),)
    assert stalled.status == "STALE: store writer silent for 2.5 s; watchdog not fed"
    later = core.tick({LOOP: T0 + 4.5, LINK: T0 + 4.5, STORE: T0 + 1}, T0 + 4.5)
    assert not later.feed
    assert later.status is None


def test_recovery_feeds_at_once_and_says_so() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    core.tick(alive(T0 + 1), T0 + 1)
    assert core.tick({LOOP: T0 + 4, LINK: T0 + 4, STORE: T0 + 1}, T0 + 4).stale
    back = core.tick(alive(T0 + 5), T0 + 5)
    assert back.feed
    assert back.status == "running; all parts alive"


def test_a_dead_link_task_is_named_and_a_connected_flag_plays_no_part() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    decision = core.tick({LOOP: T0 + 3, STORE: T0 + 3, LINK: T0 + 0.5}, T0 + 3)
    assert not decision.feed
    assert [s.part for s in decision.stale] == [LINK]


def test_a_blocked_loop_is_blamed_alone_for_the_parts_probed_through_it() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    core.tick(alive(T0 + 1), T0 + 1)
    decision = core.tick(alive(T0 + 1), T0 + 4)  # nothing beat for 3 s
    assert not decision.feed
    assert decision.stale == (Stale(LOOP, 3.0),)
    assert decision.status == "STALE: event loop silent for 3.0 s; watchdog not fed"


def test_a_part_that_never_beat_counts_from_the_start() -> None:
    core = WatchdogCore(PARTS, 4.0, T0)
    assert core.tick({LOOP: T0 + 1, LINK: T0 + 1}, T0 + 1).feed  # grace: within 2 s of start
    decision = core.tick({LOOP: T0 + 2.5, LINK: T0 + 2.5}, T0 + 2.5)
    assert decision.stale == (Stale(STORE, 2.5),)


def test_two_independent_stale_parts_are_both_named_in_order() -> None:
    parts = (Part("a"), Part("b"), Part("c", via="a"))
    stale = stale_parts(parts, {"a": 0.0, "b": 0.0, "c": 0.0}, 10.0, 0.0, 2.0)
    assert [s.part for s in stale] == ["a", "b"]  # c is probed through a: not blamed
    assert describe(stale) == "STALE: a silent for 10.0 s, b silent for 10.0 s; watchdog not fed"
    assert stale_parts(parts, {"a": 9.0, "b": 9.0, "c": 5.0}, 10.0, 0.0, 2.0) == (Stale("c", 5.0),)
