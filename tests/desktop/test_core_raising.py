"""Did the silent alarm go? :mod:`desktop.core.raising` and DeskCore's part, by exact equality."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from desktop.core import DeskCore, RaiseFailed, RaiseFailure, RaiseWatch, refused_raise
from protocol.screen import ErrorFrame, Hello, RaiseRequest, Snapshot

A = UUID("00000000-0000-4000-8000-00000000000a")
B = UUID("00000000-0000-4000-8000-00000000000b")


def test_refusals_are_read_from_centrals_error_frames() -> None:
    assert refused_raise(f"not_your_site: raise {A}") == (A, "not_your_site")
    assert refused_raise(f"forbidden: raise {A}") == (A, "forbidden")
    assert refused_raise(f"unknown_alarm: coming {A}") is None  # not a raise
    assert refused_raise("bad_json") is None  # a bad frame names no alarm


def test_no_connection_fails_at_once_and_once() -> None:
    watch = RaiseWatch(confirm_within_s=5.0)
    assert watch.sent(A, now=100.0, connected=False) == RaiseFailed(A, RaiseFailure.NOT_CONNECTED)
    assert watch.waiting == frozenset()
    assert watch.due(1000.0) == ()


def test_unconfirmed_fails_when_its_time_is_up_and_confirmed_never() -> None:
    watch = RaiseWatch(confirm_within_s=5.0)
    assert watch.sent(A, now=100.0, connected=True) is None
    assert watch.sent(B, now=101.0, connected=True) is None
    assert watch.next_deadline() == 105.0
    assert watch.due(104.9) == ()
    watch.confirmed(B)
    assert watch.due(105.0) == (RaiseFailed(A, RaiseFailure.NO_ANSWER),)
    assert watch.due(200.0) == ()
    assert watch.next_deadline() is None


def test_a_refusal_ends_the_wait_and_is_told_even_after_a_timeout() -> None:
    watch = RaiseWatch(confirm_within_s=5.0)
    watch.sent(A, now=0.0, connected=True)
    assert watch.refused(A, "forbidden") == RaiseFailed(A, RaiseFailure.REFUSED, "forbidden")
    assert watch.due(10.0) == ()


def request(alarm_id: UUID) -> RaiseRequest:
    return RaiseRequest.model_validate(
        {
            "alarm_id": str(alarm_id),
            "level": "acute",
            "site": "bergen",
            "room": "Kontor 3.12",
            "raised_at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC).isoformat(),
        }
    )


def connected_core() -> DeskCore:
    core = DeskCore()
    core.connection_opened()
    core.receive(Hello(user="kari", name="Kari", sites=["oslo-sentrum"]))
    core.receive(Snapshot(alarms=[]))
    return core


def test_the_core_drops_a_refused_raise_and_reports_it() -> None:
    core = connected_core()
    assert core.raise_alarm(request(A)) == (request(A),)
    reaction = core.receive(ErrorFrame(reason=f"not_your_site: raise {A}"))
    assert reaction.raise_refused == ((A, "not_your_site"),)
    assert (
        reaction.problem
        == f"central refused the silent alarm raised here: not_your_site: raise {A}"
    )
    assert core.unconfirmed_raises == {}
    # Not re-sent after a reconnect: central would only refuse it again.
    core.connection_opened()
    assert core.receive(Snapshot(alarms=[])).commands == ()


def test_an_error_for_someone_elses_alarm_is_no_refused_raise() -> None:
    core = connected_core()
    reaction = core.receive(ErrorFrame(reason=f"not_your_site: raise {B}"))
    assert reaction.raise_refused == ()
    assert reaction.problem == f"central reported an error: not_your_site: raise {B}"
