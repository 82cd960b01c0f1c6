"""Reaching a colleague whose screen is covered by a full-screen presentation, as far as it can
be seen offscreen: the window asks to stay on top, the sound rings, the taskbar entry is asked
to flash (QApplication.alert) and the tray message is given, again when the alarm escalates;
and the message names neither level nor room (a notification may show in a shared screen).
Whether a window manager honours "on top" over a full-screen app is the OS's (docs/desk.md)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from protocol.messages import AlarmLevel
from tests.desktop.desk_app import Desk
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import CentralThread


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def test_a_new_alarm_flashes_the_taskbar_and_gives_a_discreet_tray_message(
    desk: Desk, central: CentralThread
) -> None:
    called: list[UUID] = []
    messages: list[str] = []
    desk.app.attention_called.connect(called.append)
    desk.app.view.attention_message.connect(messages.append)
    alarm = make_alarm(level=AlarmLevel.ACUTE, room="Møterom 101")
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: called == [alarm.alarm_id], "attention called for the alarm")
    window = desk.app.windows[alarm.alarm_id]
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert desk.player.playing
    assert messages == ["Trygg venter på svaret ditt: se Trygg-vinduet."]
    for revealing in ("Møterom 101", "AKUTT", "alarm", window.title.text()):
        assert revealing.lower() not in messages[0].lower()

    escalated = alarm.model_copy(update={"stage": 1, "escalated_to": ("neighbours",)})
    central.run(central.central.update(escalated))
    desk.wait(lambda: called == [alarm.alarm_id] * 2, "attention called again on escalation")
    assert len(messages) == 2

    pressed = escalated.model_copy(update={"presses": 2})  # an ordinary update: no new call
    central.run(central.central.update(pressed))
    desk.wait(lambda: desk.app.windows[alarm.alarm_id].alarm.presses == 2, "the update")
    assert called == [alarm.alarm_id] * 2


def test_english_tray_message(qtbot: QtBot, central: CentralThread) -> None:
    desk = Desk(qtbot, central, language="en")
    try:
        desk.connected()
        messages: list[str] = []
        desk.app.view.attention_message.connect(messages.append)
        central.run(central.central.raise_alarm(make_alarm()))
        desk.wait(lambda: messages, "the tray message")
        assert messages == ["Trygg needs your answer: see the Trygg window."]
    finally:
        desk.app.stop()
