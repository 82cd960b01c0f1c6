"""The alarm from a phone (issue 13, docs/mobile.md) in the pure lifecycle: raised with or
without a position, re-sent, forged, and its position updated while it is active."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError

from central.core import (
    DEFAULT_RETENTION,
    AckEdge,
    AlarmBook,
    AlarmEvent,
    Broadcast,
    EventKind,
    Persist,
    Refusal,
)
from central.escalator import Escalator
from central.store.rows import alarm_row, alarm_view
from protocol import AlarmLevel, AlarmSource
from protocol.mobile import PhoneRaise
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, AlarmView, CommandKind, Position
from tests.central.test_core_alarms import KARI, OLA, PER, SITE, T0, at, command, commit_all, only
from tests.central.test_core_escalated_alarms import ROUTINE

ALARM = UUID("6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f")
DETAIL = "stage=1; to=neighbours,guards; reason=not_shown; after_s=10"
HERE = Position(lat=59.9127, lon=10.7461, accuracy_m=12.5, at=T0)


def phone(position: Position | None = HERE, **extra: object) -> PhoneRaise:
    data: dict[str, object] = {
        "level": "assist",
        "silent": True,
        "raised_at": T0,
        "site": SITE,
        "position": position,
    }
    data.update(extra)
    return PhoneRaise.model_validate(data)


def raised_view(position: Position | None = HERE, rev: int = 1) -> AlarmView:
    return AlarmView(
        alarm_id=ALARM,
        site=SITE,
        site_name="NAV Oslo sentrum",
        device="mobile",
        room="Mobil – Kari Nordmann",
        level=AlarmLevel.ASSIST,
        source=AlarmSource.MOBILE,
        input="phone",
        raised_at=T0,
        state=AlarmState.RAISED,
        raised_by="kari",
        raised_by_name="Kari Nordmann",
        position=position,
        silent=True,
        rev=rev,
    )


def book(retention: timedelta = DEFAULT_RETENTION) -> AlarmBook:
    return AlarmBook(retention, site_names={SITE: "NAV Oslo sentrum"})


def test_phone_alarm_is_written_and_on_screens_at_once_with_its_position() -> None:
    alarms = book()
    actions = alarms.raise_from_phone(KARI, ALARM, phone(), at(0))
    detail = f"assist mobile:phone in 'Mobil – Kari Nordmann', raised_at {T0.isoformat()}"
    stored_row = raised_view().model_copy(update={"state": AlarmState.RECEIVED})
    assert actions == [
        Persist(
            ALARM,
            stored_row,
            (AlarmEvent(ALARM, EventKind.RAISED, at(0), "kari", detail),),
            insert=True,
        ),
        Broadcast(SITE, AlarmNew(alarm=raised_view(rev=0))),
    ]
    assert not alarms.stored(ALARM)
    commit_all(alarms, actions, at(0.01))
    assert alarms.stored(ALARM)


def test_phone_alarm_without_position_says_so_in_its_timeline() -> None:
    [persist, _] = book().raise_from_phone(KARI, ALARM, phone(position=None), at(0))
    assert isinstance(persist, Persist)
    assert persist.alarm is not None
    assert persist.alarm.position is None
    assert persist.events[0].detail.endswith("; no position")


def test_phone_alarm_resent_changes_nothing_and_no_edge_is_ever_acked() -> None:
    alarms = book()
    first = alarms.raise_from_phone(KARI, ALARM, phone(), at(0))
    assert alarms.raise_from_phone(KARI, ALARM, phone(), at(0.001)) == []  # before the commit
    later = commit_all(alarms, first, at(0.01))
    assert alarms.raise_from_phone(KARI, ALARM, phone(level="acute"), at(2)) == []
    later += commit_all(
        alarms, alarms.command(OLA, command(CommandKind.COMING, ALARM), at(3)), at(3.01)
    )
    assert only(later, AckEdge) == []
    view = alarms.get(ALARM)
    assert view is not None
    assert (view.state, view.level, [r.user for r in view.responders]) == (
        AlarmState.ACKNOWLEDGED,
        AlarmLevel.ASSIST,
        ["ola"],
    )


def test_phone_alarm_id_of_someone_else_or_of_a_desk_is_taken() -> None:
    alarms = book()
    alarms.raise_from_phone(KARI, ALARM, phone(), at(0))
    before = alarms.get(ALARM)
    assert alarms.raise_from_phone(OLA, ALARM, phone(), at(1)) == [Refusal(ALARM, "alarm_id_taken")]
    assert alarms.get(ALARM) == before


def test_phone_alarm_refused_for_a_site_the_person_does_not_cover() -> None:
    alarms = book()
    assert alarms.raise_from_phone(PER, ALARM, phone(), at(0)) == [Refusal(ALARM, "not_your_site")]
    assert alarms.raise_from_phone(KARI, ALARM, phone(site=None), at(0)) == [
        Refusal(ALARM, "not_your_site")
    ]
    assert len(alarms) == 0


def test_newer_position_is_written_and_told_to_screens_at_once() -> None:
    alarms = book()
    commit_all(alarms, alarms.raise_from_phone(KARI, ALARM, phone(), at(0)), at(0.01))
    moved = Position(lat=59.92, lon=10.75, accuracy_m=30.0, at=at(5))
    actions = alarms.position(KARI, ALARM, moved, at(5.1))
    stored = raised_view(moved, rev=1).model_copy(update={"state": AlarmState.RECEIVED})
    assert actions == [
        Persist(ALARM, stored, ()),
        Broadcast(SITE, AlarmUpdate(alarm=stored)),
    ]
    commit_all(alarms, actions, at(5.2))
    assert alarms.get(ALARM) == stored


def test_older_or_same_position_changes_nothing() -> None:
    alarms = book()
    alarms.raise_from_phone(KARI, ALARM, phone(), at(0))
    earlier = Position(lat=1.0, lon=1.0, accuracy_m=1.0, at=at(-5))
    assert alarms.position(KARI, ALARM, earlier, at(1)) == []
    assert alarms.position(KARI, ALARM, HERE, at(1)) == []
    view = alarms.get(ALARM)
    assert view is not None
    assert view.position == HERE


def test_position_only_from_the_raiser_and_only_while_active() -> None:
    alarms = book()
    moved = Position(lat=59.92, lon=10.75, accuracy_m=30.0, at=at(5))
    assert alarms.position(KARI, ALARM, moved, at(1)) == [Refusal(ALARM, "unknown_alarm")]
    commit_all(alarms, alarms.raise_from_phone(KARI, ALARM, phone(), at(0)), at(0.01))
    assert alarms.position(OLA, ALARM, moved, at(1)) == [Refusal(ALARM, "unknown_alarm")]
    commit_all(alarms, alarms.command(OLA, command(CommandKind.RESOLVE, ALARM), at(2)), at(2.1))
    assert alarms.position(KARI, ALARM, moved, at(6)) == [Refusal(ALARM, "already_resolved")]
    view = alarms.get(ALARM)
    assert view is not None
    assert view.position == HERE


def test_the_escalation_routine_takes_a_phone_alarm_like_any_other() -> None:
    alarms = book()
    escalator = Escalator(ROUTINE, {SITE: ("bergen",)})
    raised = alarms.raise_from_phone(KARI, ALARM, phone(level="acute"), at(0))
    for persist in only(raised, Persist):
        escalator.wrote(persist, covered=lambda alarm: alarm.site == SITE)
        commit_all(alarms, [persist], at(0.1))
    assert escalator.tick(alarms, at(9)) == []
    # Nobody's screen showed it within the routine's 10 s: its first stage at once.
    [persist] = only(escalator.tick(alarms, at(10)), Persist)
    assert persist.events[0].detail == DETAIL
    assert persist.alarm is not None
    assert (persist.alarm.stage, persist.alarm.escalated_sites, persist.alarm.position) == (
        1,
        ("bergen",),
        HERE,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"lat": 91.0, "lon": 10.0, "accuracy_m": 5.0},
        {"lat": 59.0, "lon": -180.5, "accuracy_m": 5.0},
        {"lat": 59.0, "lon": 10.0, "accuracy_m": -1.0},
        {"lat": 59.0, "lon": 10.0, "accuracy_m": 100_001.0},
        {"lat": float("nan"), "lon": 10.0, "accuracy_m": 5.0},
    ],
)
def test_implausible_positions_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        Position.model_validate({**bad, "at": T0})


def test_the_record_keeps_position_and_silence_and_older_rows_read_without() -> None:
    view = raised_view().model_copy(update={"state": AlarmState.RECEIVED})
    row = alarm_row(view)
    assert (json.loads(row["position"]), row["silent"]) == (HERE.model_dump(mode="json"), 1)
    assert alarm_view(row) == view
    older = {**alarm_row(make_alarm_view()), "position": None, "silent": None}
    assert (alarm_view(older).position, alarm_view(older).silent) == (None, False)


def make_alarm_view() -> AlarmView:
    return raised_view(position=None).model_copy(
        update={"source": AlarmSource.BUTTON, "silent": False, "raised_by": None}
    )


def test_a_position_from_the_future_is_no_position() -> None:
    alarms = book()
    ahead = Position(lat=59.9, lon=10.7, accuracy_m=5.0, at=at(301))
    [persist, _] = alarms.raise_from_phone(KARI, ALARM, phone(position=ahead), at(0))
    assert isinstance(persist, Persist)
    assert persist.alarm is not None
    assert persist.alarm.position is None
    assert persist.events[0].detail.endswith(
        "; no position (measured 2025-01-06T09:05:01+00:00: ahead)"
    )
    assert alarms.position(KARI, ALARM, ahead, at(0.5)) == [Refusal(ALARM, "position_ahead")]
    assert alarms.get(ALARM).position is None  # type: ignore[union-attr]
    just = ahead.model_copy(update={"at": at(300)})
    assert len(alarms.position(KARI, ALARM, just, at(0))) == 2


def test_a_late_resend_after_retention_is_stale_and_opens_nothing() -> None:
    """The phone never read ``stored``; the alarm was resolved and, a retention later, pruned
    from the book. Its resend must not open it again (the record has it once)."""
    alarms = book()
    commit_all(alarms, alarms.raise_from_phone(KARI, ALARM, phone(), at(0)), at(0.01))
    commit_all(alarms, alarms.command(OLA, command(CommandKind.RESOLVE, ALARM), at(2)), at(2.1))
    late = at(2.1 + DEFAULT_RETENTION.total_seconds() + 1)
    assert alarms.raise_from_phone(KARI, ALARM, phone(), late) == [Refusal(ALARM, "stale")]
    assert (alarms.get(ALARM), len(alarms)) == (None, 0)


def test_an_unknown_alarm_raised_longer_ago_than_retention_is_stale() -> None:
    alarms = book()
    retention = DEFAULT_RETENTION.total_seconds()
    assert alarms.raise_from_phone(KARI, ALARM, phone(), at(retention + 0.001)) == [
        Refusal(ALARM, "stale")
    ]
    assert len(alarms) == 0
    # Exactly the retention old is still an alarm (the book would still know it resolved).
    [persist, _] = alarms.raise_from_phone(KARI, ALARM, phone(), at(retention))
    assert isinstance(persist, Persist)
    assert persist.events[0].kind is EventKind.RAISED


def test_a_stale_alarm_the_record_does_not_have_is_raised_all_the_same() -> None:
    """The shell looked the id up in the record and did not find it: a phone whose clock is
    behind. A phone's clock never stops an alarm."""
    alarms = book()
    late = at(DEFAULT_RETENTION.total_seconds() + 3600)
    [persist, _] = alarms.raise_from_phone(KARI, ALARM, phone(), late, not_in_record=True)
    assert isinstance(persist, Persist)
    assert persist.insert
    assert persist.events[0].kind is EventKind.RAISED
    assert alarms.get(ALARM) is not None


def test_a_known_alarm_resent_long_after_is_answered_as_it_stands() -> None:
    alarms = book(retention=timedelta(hours=1))
    commit_all(alarms, alarms.raise_from_phone(KARI, ALARM, phone(), at(0)), at(0.01))
    assert alarms.raise_from_phone(KARI, ALARM, phone(), at(7200)) == []  # still active
    assert alarms.stored(ALARM)
