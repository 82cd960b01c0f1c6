"""The window client against the fake central, offscreen: what the colleague sees and does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from desktop.config import Language
from desktop.gui.alarm_window import AlarmWindow
from desktop.i18n import load_translations
from protocol.messages import AlarmLevel, Responder
from protocol.screen import AlarmState, AlarmView, CommandKind
from tests.desktop.desk_app import WAIT_MS, Desk
from tests.desktop.fake_central import load_routines, make_alarm
from tests.desktop.qt_support import CentralThread, Clock


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def test_an_alarm_opens_the_window_with_level_place_texts_and_routine(
    desk: Desk, central: CentralThread
) -> None:
    alarm = make_alarm(
        level=AlarmLevel.ACUTE,
        room="Møterom 101",
        floor="1. etasje",
        raised_at=datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
    )
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: alarm.alarm_id in desk.app.windows, "the window")
    window = desk.app.windows[alarm.alarm_id]
    assert window.isVisible()
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.title.text() == "AKUTT ALARM"  # Norwegian by default, level in words
    assert window.room.text() == "Møterom 101"
    assert window.place.text() == "NAV Oslo sentrum · 1. etasje"
    assert "alarmknappen «desk» (rom-101)" in window.raised_by.text()
    assert "for 40 s siden" in window.since.text()  # the test clock is 40 s past raised_at
    assert window.routine_title.text() == "Akutt – pågående vold eller trusler"
    steps = [s.text() for s in window.steps]
    assert steps[0] == "1. Ring politiet på 112 – oppgi adresse, etasje og rom."
    assert len(steps) == len(central.central.routines[AlarmLevel.ACUTE].steps["nb"])
    assert not window.exercise_band.isVisible()
    assert desk.player.playing  # rings until answered
    assert central.central.received(CommandKind.DELIVERED, alarm.alarm_id)


def test_im_coming_is_sent_the_list_updates_and_the_sound_stops(
    desk: Desk, central: CentralThread
) -> None:
    alarm = make_alarm(level=AlarmLevel.ASSIST, drill=True)
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: alarm.alarm_id in desk.app.windows, "the window")
    window = desk.app.windows[alarm.alarm_id]
    assert window.title.text() == "BISTAND TRENGS"
    assert window.exercise_band.isVisible()
    assert window.exercise_band.text() == "ØVELSE – ikke en ekte alarm"
    assert window.responders.text() == "Ingen har svart ennå."
    assert desk.player.playing

    QTest.mouseClick(window.coming_button, Qt.MouseButton.LeftButton)
    desk.wait(lambda: central.central.received(CommandKind.COMING, alarm.alarm_id), "coming")
    desk.wait(lambda: window.responders.text().startswith("Kommer: Kari"), "the responder list")
    assert not desk.player.playing
    assert window.own_answer.text() == "Du har svart: Jeg kommer."
    assert not window.coming_button.isEnabled()
    assert window.close_button.isEnabled()

    ola = Responder(user="ola", name="Ola Nordmann", at=datetime.now(UTC))
    updated = central.central.alarms[alarm.alarm_id]
    central.run(central.central.update(updated.model_copy(update={"declined": (ola,)})))
    desk.wait(lambda: "Ola Nordmann" in window.declined.text(), "the declined list")
    assert window.declined.text().startswith("Kan ikke komme: Ola Nordmann")


def test_the_sound_stops_when_enough_colleagues_are_coming(
    desk: Desk, central: CentralThread
) -> None:
    alarm = make_alarm()
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: desk.player.playing, "ringing")
    at = datetime.now(UTC)
    one = (Responder(user="ola", name="Ola", at=at),)
    central.run(central.central.update(alarm.model_copy(update={"responders": one})))
    desk.wait(lambda: "Ola" in desk.app.windows[alarm.alarm_id].responders.text(), "one coming")
    assert desk.player.playing  # one is not enough (enough_responders = 2)
    two = (*one, Responder(user="per", name="Per", at=at))
    central.run(central.central.update(alarm.model_copy(update={"responders": two})))
    desk.wait(lambda: not desk.player.playing, "the sound to stop")


def test_resolve_closes_the_window(desk: Desk, central: CentralThread) -> None:
    alarm = make_alarm()
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: alarm.alarm_id in desk.app.windows, "the window")
    window = desk.app.windows[alarm.alarm_id]
    resolved = alarm.model_copy(update={"state": AlarmState.RESOLVED})
    central.run(central.central.update(resolved))
    desk.wait(lambda: alarm.alarm_id not in desk.app.windows, "the window to go")
    assert not shiboken6.isValid(window) or not window.isVisible()
    assert not desk.player.playing


def test_shown_is_sent_once_and_only_when_the_window_is_visible(
    desk: Desk, central: CentralThread
) -> None:
    alarm = make_alarm()
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: central.central.received(CommandKind.SHOWN, alarm.alarm_id), "shown")
    window = desk.app.windows[alarm.alarm_id]
    window.hide()
    window.show()
    window.report_if_visible()
    desk.qtbot.wait(100)
    assert len(central.central.received(CommandKind.SHOWN, alarm.alarm_id)) == 1


def window_for(alarm: AlarmView, qtbot: QtBot) -> AlarmWindow:
    window = AlarmWindow(
        alarm,
        translations=load_translations(Language.EN),
        language="en",
        routine=load_routines()[alarm.level],
        site_name="NAV Oslo sentrum",
        user="kari",
        focus_hotkey="Ctrl+Shift+F11",
        clock=Clock(),
    )
    qtbot.addWidget(window)
    return window


def test_a_hidden_or_minimised_window_is_not_reported_shown(qtbot: QtBot) -> None:
    window = window_for(make_alarm(), qtbot)
    seen: list[UUID] = []
    window.visible_to_user.connect(seen.append)
    window.report_if_visible()
    assert seen == []  # never shown
    window.showMinimized()
    qtbot.wait(50)
    window.report_if_visible()
    assert window.isMinimized()
    assert seen == []
    window.showNormal()
    qtbot.waitUntil(lambda: seen == [window.alarm_id], timeout=WAIT_MS)
    window.hide()
    window.show()
    qtbot.wait(50)
    assert seen == [window.alarm_id]  # once per alarm


def test_the_window_takes_no_keystrokes_until_the_user_gives_it_the_keyboard(
    qtbot: QtBot,
) -> None:
    typing = QLineEdit()
    qtbot.addWidget(typing)
    typing.show()
    typing.activateWindow()
    typing.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is typing, timeout=WAIT_MS)
    window = window_for(make_alarm(), qtbot)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert not window.isActiveWindow()
    assert not window.has_keyboard
    assert QApplication.focusWidget() is typing  # the user's typing still goes where it went
    QTest.keyClicks(typing, "hei ")
    assert typing.text() == "hei "
    assert window.answer_given is None

    QTest.mouseClick(window.place, Qt.MouseButton.LeftButton)  # a click in the window
    qtbot.waitUntil(lambda: window.coming_button.hasFocus(), timeout=WAIT_MS)
    assert window.has_keyboard
    answers: list[object] = []
    window.answered.connect(lambda kind, _id: answers.append(kind))
    qtbot.keyClick(window.coming_button, Qt.Key.Key_Space)
    assert answers == [CommandKind.COMING]


def test_english_texts_and_the_test_band(qtbot: QtBot) -> None:
    window = window_for(make_alarm(level=AlarmLevel.ASSIST, test=True), qtbot)
    assert window.title.text() == "ASSISTANCE NEEDED"
    assert window.exercise_band.text() == "TEST – not a real alarm"
    assert window.routine_title.text() == "Assistance – a colleague asks for help"
    assert window.coming_button.text() == "I'm coming"
    window.show()
    assert window.exercise_band.isVisible()
