"""The silent alarm and the connection state, through the window app against the fake central."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from uuid import uuid4

import pytest
import shiboken6
from pytestqt.qtbot import QtBot

from desktop.core import Presence, TriggerSource
from protocol.messages import AlarmLevel, Responder
from protocol.screen import AlarmState
from tests.desktop.desk_app import Desk
from tests.desktop.desk_process import TRYGG_DESK
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import CentralThread


@pytest.fixture
def user() -> str:
    return f"test-{uuid4().hex[:10]}"


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread, user: str) -> Iterator[Desk]:
    made = Desk(qtbot, central, trigger_user=user)
    made.connected()
    yield made
    made.app.stop()


def test_the_command_line_trigger_raises_after_the_countdown_and_nothing_shows(
    desk: Desk, central: CentralThread, user: str
) -> None:
    env = {**os.environ, "USER": user}
    poke = subprocess.Popen([TRYGG_DESK, "silent-alarm"], env=env, stderr=subprocess.PIPE)
    desk.wait(lambda: desk.app.countdown.isVisible(), "the countdown")
    desk.wait(lambda: poke.poll() is not None, "the trigger command to finish")
    assert poke.returncode == 0
    assert desk.app.countdown.label.text() == "Sender om 3 s"  # small, neutral, no "alarm"
    assert "alarm" not in desk.app.countdown.label.text().lower()
    desk.clock.advance(1.0)
    desk.wait(lambda: desk.app.countdown.label.text() == "Sender om 2 s", "the countdown ticks")
    assert central.central.raises == []

    desk.clock.advance(2.0)
    desk.wait(lambda: central.central.raises, "the raise")
    [(raiser, request)] = central.central.raises
    assert raiser == "kari"
    assert (request.site, request.room, request.floor) == (
        "oslo-sentrum",
        "Kontor 3.12",
        "3. etasje",
    )
    assert (request.level, request.input) == (AlarmLevel.ACUTE, "hotkey")
    assert request.raised_at == desk.clock.now
    assert not desk.app.countdown.isVisible()
    desk.wait(lambda: request.alarm_id in desk.app.own_alarms, "central's broadcast back")
    assert desk.app.windows == {}
    assert not desk.player.playing

    alarm = central.central.alarms[request.alarm_id]
    ola = Responder(user="ola", name="Ola", at=desk.clock.now)
    central.run(central.central.update(alarm.model_copy(update={"responders": (ola,)})))
    desk.wait(lambda: desk.app.toast.isVisible(), "the discreet confirmation")
    assert desk.app.toast.label.text() == "✓ Hjelp er på vei (1)"
    assert desk.app.windows == {}

    # Ola presses "Can't come": nobody is coming any more, and the raiser is told as quietly.
    desk.app.toast.hide()
    withdrawn = alarm.model_copy(update={"responders": (), "declined": (ola,)})
    central.run(central.central.update(withdrawn))
    desk.wait(lambda: desk.app.toast.isVisible(), "the discreet withdrawal")
    assert desk.app.toast.label.text() == (
        "Ingen kommer ennå: skaff hjelp på en annen måte (ring 112, alarmknappen)."
    )
    assert desk.app.windows == {}
    assert not desk.player.playing


def test_cancelling_inside_the_countdown_raises_nothing(desk: Desk, central: CentralThread) -> None:
    desk.app.view.silent_action.trigger()  # the tray menu's "Silent alarm"
    desk.wait(lambda: desk.app.countdown.isVisible(), "the countdown")
    desk.clock.advance(2.0)
    desk.app.trigger_silent(TriggerSource.HOTKEY)  # pressed again in panic: keeps counting
    desk.app.countdown.cancel_button.click()
    assert not desk.app.countdown.isVisible()
    desk.clock.advance(10.0)
    desk.qtbot.wait(600)  # a few of the app's ticks, each of which would raise if due
    assert central.central.raises == []
    assert desk.app.silent is not None
    assert not desk.app.silent.counting


def test_a_raise_made_while_central_is_down_is_sent_when_it_is_back(
    desk: Desk, central: CentralThread
) -> None:
    central.run(central.central.stop())
    desk.wait(lambda: desk.app.presence.state is Presence.NOT_RECEIVING, "not receiving")
    desk.app.trigger_silent(TriggerSource.TRAY)
    desk.clock.advance(3.0)
    desk.wait(lambda: desk.app.own_alarms, "the raise to be made")
    central.run(central.central.start())
    desk.wait(lambda: central.central.raises, "the raise, after the reconnect")
    [(_, request)] = central.central.raises
    assert request.input == "tray"
    assert request.alarm_id in desk.app.own_alarms


def test_losing_central_says_not_receiving_loudly_and_reconnecting_shows_active_alarms(
    desk: Desk, central: CentralThread
) -> None:
    fake = central.central
    stays, ends = make_alarm(room="Rom 1"), make_alarm(room="Rom 2")
    for alarm in (stays, ends):
        central.run(fake.raise_alarm(alarm))
    desk.wait(lambda: len(desk.app.windows) == 2, "both windows")
    ending = desk.app.windows[ends.alarm_id]
    assert not desk.app.view.banner.isVisible()

    central.run(fake.stop())
    desk.wait(lambda: desk.app.presence.state is Presence.NOT_RECEIVING, "not receiving")
    assert desk.app.view.banner.isVisible()  # loud: a banner on the screen, not just an icon
    assert desk.app.view.banner.label.text().startswith("Trygg mottar IKKE alarmer: ")
    assert desk.app.view.text.startswith("Trygg mottar IKKE alarmer")

    # Meanwhile at central: one alarm is resolved, another is raised.
    fake.alarms[ends.alarm_id] = ends.model_copy(update={"state": AlarmState.RESOLVED})
    new = make_alarm(room="Rom 3")
    fake.alarms[new.alarm_id] = new
    central.run(fake.start())
    desk.wait(lambda: desk.app.presence.state is Presence.CONNECTED, "connected again")
    assert not desk.app.view.banner.isVisible()
    assert desk.app.view.text == "Trygg: tilkoblet – mottar alarmer"
    desk.wait(lambda: new.alarm_id in desk.app.windows, "the alarm raised meanwhile")
    desk.wait(lambda: ends.alarm_id not in desk.app.windows, "the resolved one to close")
    assert not shiboken6.isValid(ending) or not ending.isVisible()
    assert set(desk.app.windows) == {stays.alarm_id, new.alarm_id}


def test_a_refused_silent_alarm_says_it_did_not_go_and_what_to_do(
    desk: Desk, central: CentralThread
) -> None:
    central.central.refuse_raises = "not_your_site"
    try:
        desk.app.trigger_silent(TriggerSource.TRAY)
        desk.clock.advance(3.0)
        desk.wait(lambda: central.central.raises, "the raise")
        desk.wait(lambda: desk.app.not_sent.isVisible(), "the notice that it did not go")
    finally:
        central.central.refuse_raises = None
    assert desk.app.not_sent.label.text() == (
        "Den stille alarmen din gikk IKKE: sentralen avviste den (not_your_site).\n"
        "Skaff hjelp på annen måte: ring 112, trykk på alarmknappen eller ring en kollega."
    )
    desk.app.not_sent.close_button.click()
    assert not desk.app.not_sent.isVisible()
