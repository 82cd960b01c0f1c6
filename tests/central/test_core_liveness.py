"""Screen liveness's pure core, with a monotonic ``now`` passed in: pings, stale screens, and
central's own pause."""

from __future__ import annotations

from central.core.liveness import Beat, ScreenLiveness


def test_one_ping_per_interval_with_rising_numbers() -> None:
    live: ScreenLiveness[str] = ScreenLiveness(interval_s=1.0, timeout_s=7.0)
    assert live.tick(100.0) == Beat(ping=1)
    assert live.tick(100.5) == Beat()
    assert live.tick(101.0) == Beat(ping=2)
    assert live.tick(101.5) == Beat()
    assert live.tick(102.25) == Beat(ping=3)
    assert live.seq == 3


def test_a_screen_that_answers_stays_and_one_that_does_not_is_stale_after_the_timeout() -> None:
    live: ScreenLiveness[str] = ScreenLiveness(interval_s=1.0, timeout_s=7.0)
    live.joined("answers", 100.0)
    live.joined("frozen", 100.0)
    beats = []
    for step in range(1, 17):  # ticks every 0.5 s up to 108.0
        now = 100.0 + step * 0.5
        beat = live.tick(now)
        beats.append(beat)
        if beat.ping is not None:
            assert live.pong("answers", beat.ping, now + 0.01)
    stale = [(100.0 + (i + 1) * 0.5, b.stale) for i, b in enumerate(beats) if b.stale]
    assert stale == [(107.5, ("frozen",))]  # exactly 7 s is still alive; past it, stale
    assert len(live) == 1
    assert not live.pong("frozen", live.seq, 108.1)  # gone: a late pong brings nothing back


def test_a_pong_for_a_ping_never_sent_proves_nothing() -> None:
    live: ScreenLiveness[str] = ScreenLiveness(timeout_s=7.0)
    live.joined("a", 0.0)
    assert live.tick(0.5) == Beat(ping=1)
    assert not live.pong("a", 2, 6.0)  # not sent yet
    assert not live.pong("a", 0, 6.0)
    assert not live.pong("nobody", 1, 6.0)
    assert live.tick(3.5) == Beat(ping=2)
    assert live.tick(6.5) == Beat(ping=3)
    assert live.tick(7.5) == Beat(ping=4, stale=("a",))


def test_a_screen_that_leaves_is_forgotten() -> None:
    live: ScreenLiveness[str] = ScreenLiveness(timeout_s=7.0)
    live.joined("a", 0.0)
    live.left("a")
    live.left("a")  # twice is harmless
    assert live.tick(100.0) == Beat(ping=1)
    assert len(live) == 0


def test_after_central_own_pause_every_screen_gets_a_fresh_timeout() -> None:
    live: ScreenLiveness[str] = ScreenLiveness(interval_s=1.0, timeout_s=7.0, pause_s=3.0)
    live.joined("a", 0.0)
    assert live.tick(0.5) == Beat(ping=1)
    assert live.pong("a", 1, 0.6)
    # SIGSTOP for 20 s: the next tick comes at 20.5. "a" could not have answered meanwhile.
    assert live.tick(20.5) == Beat(ping=2, paused_s=20.0)
    for step in range(1, 15):  # ticks every 0.5 s again, "a" still silent
        assert live.tick(20.5 + step * 0.5).stale == ()  # up to 7 s from the resumption
    assert live.tick(28.0) == Beat(stale=("a",))  # and then the usual timeout applies


def test_a_gap_up_to_the_pause_limit_is_not_a_pause() -> None:
    live: ScreenLiveness[str] = ScreenLiveness(interval_s=1.0, timeout_s=7.0, pause_s=3.0)
    live.joined("a", 0.0)
    assert live.tick(4.0) == Beat(ping=1)
    assert live.tick(7.0) == Beat(ping=2)  # a 3 s gap: the loop was busy, not stopped
    assert live.tick(7.5) == Beat(stale=("a",))
