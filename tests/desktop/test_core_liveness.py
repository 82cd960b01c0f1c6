"""The desk's silence watch without I/O, with a monotonic ``now`` passed in; and the core's
answer to central's ``ping``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from desktop.core import DeskCore, Liveness, Reaction
from desktop.core.presence import Presence, PresenceTracker
from protocol.screen import Ping, Pong, encode_frame


def test_a_connection_is_watched_from_its_first_ping() -> None:
    live = Liveness(silence_s=5.0)
    live.opened(10.0)
    assert live.deadline() is None  # a central without pings: not watched
    assert live.silent(100.0) is None
    live.heard(11.0)  # hello, snapshot: not a ping
    assert live.deadline() is None
    live.heard(12.0, ping=True)
    assert live.deadline() == 17.0
    live.heard(13.5)  # any frame counts as central talking
    assert live.deadline() == 18.5
    assert live.silent(18.4) is None
    assert live.silent(18.5) == "central not answering: nothing heard for 5 s"


def test_a_new_connection_starts_unwatched_again() -> None:
    live = Liveness(silence_s=5.0)
    live.opened(0.0)
    live.heard(1.0, ping=True)
    live.closed()
    assert live.deadline() is None
    assert live.silent(60.0) is None
    live.opened(60.0)
    assert live.deadline() is None


def test_the_core_answers_a_ping_with_its_number() -> None:
    core = DeskCore()
    assert core.receive_text(encode_frame(Ping(seq=41))) == Reaction(pong=Pong(seq=41))
    assert encode_frame(Pong(seq=41)) == '{"type":"pong","seq":41}'


def test_a_silent_central_is_not_receiving_at_once_without_the_reconnect_grace() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    presence = PresenceTracker(started_at=t0, grace_s=3.0)
    presence.connected(t0)
    reason = "central not answering: nothing heard for 5 s"
    assert presence.lost(reason, t0 + timedelta(seconds=5), silent=True)
    assert (presence.state, presence.reason) == (Presence.NOT_RECEIVING, reason)
    # A plain drop still gets its grace first.
    other = PresenceTracker(started_at=t0, grace_s=3.0)
    other.connected(t0)
    assert other.lost("connection lost", t0)
    assert other.state is Presence.RECONNECTING
