"""The window client against the fake central, offscreen: an alarm already on screen that
escalates (nobody answered) says so and asks for attention again; the sound starts over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from tests.desktop.desk_app import Desk
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import CentralThread


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def test_a_rising_stage_is_shown_and_rings_again(desk: Desk, central: CentralThread) -> None:
    alarm = make_alarm()
    central.run(central.central.raise_alarm(alarm))
    desk.wait(lambda: alarm.alarm_id in desk.app.windows, "the window")
    window = desk.app.windows[alarm.alarm_id]
    assert not window.escalated.isVisible()
    starts = desk.player.starts
    assert desk.player.playing

    window.showMinimized()  # pushed aside: the escalation brings it back
    escalated = alarm.model_copy(update={"stage": 1, "escalated_to": ("neighbours",)})
    central.run(central.central.update(escalated))
    desk.wait(lambda: window.escalated.isVisible(), "the escalation line")
    assert window.escalated.text() == (
        "Eskalert (trinn 1): ingen svarte i tide, så flere er varslet."
    )
    assert desk.player.starts == starts + 1  # the sound starts over
    assert desk.player.playing
    assert not window.isMinimized()

    pressed = escalated.model_copy(update={"presses": 2})  # same stage: no new alert
    central.run(central.central.update(pressed))
    desk.wait(lambda: desk.app.windows[alarm.alarm_id].alarm.presses == 2, "the update")
    assert desk.player.starts == starts + 1
