"""An alarm from a meeting with standby (central.core.standby) in the alarm book: it names the
confirmed colleagues, who get it and may answer it wherever their site (``reaches``)."""

from __future__ import annotations

from central.core import AlarmBook, Broadcast, Persist, Person
from central.core.alarms import reaches
from protocol.messages import Responder
from protocol.screen import AlarmState, AlarmUpdate, CommandKind
from tests.central.test_core_alarms import PER, alarm, at, command, only

KARI_AWAY = Person("kari", "Kari Nordmann", "k" * 24, frozenset({"bergen"}))
STANDBY = (Responder(user="kari", name="Kari Nordmann", at=at(-600)),)


def test_a_new_alarm_names_its_standby_and_reaches_them_on_any_site() -> None:
    book = AlarmBook()
    message = alarm()
    book.alarm(message, at(0))
    before = book.get(message.alarm_id)
    assert before is not None
    assert not reaches(KARI_AWAY, before)
    shown = book.stand_by(message.alarm_id, STANDBY)
    assert shown == before.model_copy(update={"standby": STANDBY})
    assert book.get(message.alarm_id) == shown
    assert reaches(KARI_AWAY, shown)
    assert not reaches(PER, shown)
    assert book.active_for(KARI_AWAY) == (shown,)
    assert book.active_for(PER) == ()


def test_the_standby_colleague_may_answer_and_every_later_view_names_them() -> None:
    book = AlarmBook()
    message = alarm()
    [persist] = only(book.alarm(message, at(0)), Persist)
    book.stand_by(message.alarm_id, STANDBY)
    book.committed(persist, at(0.1))
    [coming] = only(
        book.command(KARI_AWAY, command(CommandKind.COMING, message.alarm_id), at(1)), Persist
    )
    assert coming.alarm is not None
    assert coming.alarm.standby == STANDBY
    assert coming.alarm.state is AlarmState.ACKNOWLEDGED
    [update] = only(book.committed(coming, at(1.1)), Broadcast)
    assert isinstance(update.frame, AlarmUpdate)
    assert update.frame.alarm.standby == STANDBY
    assert [r.user for r in update.frame.alarm.responders] == ["kari"]


def test_nobody_or_a_test_alarm_or_an_unknown_alarm_gets_no_standby() -> None:
    book = AlarmBook()
    message = alarm()
    book.alarm(message, at(0))
    assert book.stand_by(message.alarm_id, ()) is None
    test = alarm()
    book.alarm(test, at(0), test_for=frozenset({"ola"}))
    assert book.stand_by(test.alarm_id, STANDBY) is None
    assert book.stand_by(alarm().alarm_id, STANDBY) is None
    assert book.get(message.alarm_id).standby == ()  # type: ignore[union-attr]
