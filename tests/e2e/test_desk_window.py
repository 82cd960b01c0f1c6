"""The window client (issue 4's "Done when") against a real ``trygg-central``, a real Mosquitto
and the real edge agent on gpiozero mock pins; Qt offscreen, driven with pytest-qt.

What a colleague sees when a button is pressed, what central learns from it (who saw the alarm,
who is coming), the silent alarm from the desk, and what the desk says when central is gone.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything creates the QApplication

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop.core import Presence
from tests.e2e.gui_support import (
    HeadlessDesk,
    LoopThread,
    ThreadedEdge,
    WindowDesk,
    events,
    routine_steps,
)
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, script

USERS = {"kari": "Kari Nordmann", "ola": "Ola Hansen", "per": "Per Olsen"}
DESK_PIN, WALL_PIN = 17, 22  # edge_config: "desk" is acute, "wall" is assist; room Møterom 101
NOT_RECEIVING_MS = 10_000  # the bound for saying "NOT receiving alarms"


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[Central]:
    made = Central(broker, tmp_path, USERS)
    made.start()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def edge(loop: LoopThread, broker: Broker, tmp_path: Path) -> Iterator[ThreadedEdge]:
    made = ThreadedEdge(loop, broker, tmp_path)
    made.start()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def window_desk(qtbot: QtBot, central: Central) -> Iterator[Callable[[str], WindowDesk]]:
    """Starts a user's window client when asked; all of them stop at the end."""
    started: list[WindowDesk] = []

    def start(user: str) -> WindowDesk:
        desk = WindowDesk(qtbot, central, user)
        desk.start()
        started.append(desk)
        return desk

    yield start
    for desk in started:
        desk.stop()


@pytest.fixture
def headless(
    loop: LoopThread, central: Central, tmp_path: Path
) -> Iterator[Callable[[str], HeadlessDesk]]:
    started: list[HeadlessDesk] = []

    def start(user: str) -> HeadlessDesk:
        desk = HeadlessDesk(loop, central, user, tmp_path)
        desk.start()
        started.append(desk)
        return desk

    yield start
    for desk in started:
        desk.stop()


def wait_screens(desk: WindowDesk, central: Central, count: int) -> None:
    desk.wait(lambda: central.health()["screens"] >= count, f"{count} screens at central")


def only_alarm(desk: WindowDesk) -> UUID:
    desk.wait(lambda: len(desk.app.windows) == 1, f"{desk.user}: an alarm window")
    [alarm_id] = desk.app.windows
    return alarm_id


def test_an_edge_alarm_opens_the_window_and_im_coming_reaches_central_and_colleagues(
    window_desk: Callable[[str], WindowDesk],
    headless: Callable[[str], HeadlessDesk],
    edge: ThreadedEdge,
    central: Central,
) -> None:
    kari = window_desk("kari")
    ola = headless("ola")
    kari.wait_connected()
    wait_screens(kari, central, 2)

    edge.press(DESK_PIN)
    alarm_id = only_alarm(kari)
    window = kari.app.windows[alarm_id]
    kari.qtbot.waitExposed(window)
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.title.text() == "AKUTT ALARM"  # Norwegian by default, level in words
    assert window.room.text() == "Møterom 101"
    assert window.place.text() == f"Site {SITE}"  # the site's name from central's config
    assert window.raised_by.text() == "Utløst med alarmknappen «desk» (rom-101)"
    assert window.routine_title.text() == "Akutt – pågående vold eller trusler"
    assert [step.text() for step in window.steps] == routine_steps("acute")
    assert window.coming_button.text() == "Jeg kommer"
    assert window.responders.text() == "Ingen har svart ennå."
    assert not window.exercise_band.isVisible()  # a real alarm, not a drill
    assert kari.player.playing

    QTest.mouseClick(window.coming_button, Qt.MouseButton.LeftButton)
    kari.wait(lambda: "kari" in {a for _, a in events(central, "kari", "coming")}, "coming")
    assert events(central, "kari", "coming") == [(str(alarm_id), "kari")]
    kari.wait(
        lambda: ola.seen(
            lambda ln: (
                ln["alarm_id"] == str(alarm_id)
                and [r["user"] for r in ln["responders"]] == ["kari"]
            )
        ),
        "ola's desk to show kari as coming",
    )
    kari.wait(lambda: window.responders.text().startswith("Kommer: Kari Nordmann"), "responders")
    assert window.own_answer.text() == "Du har svart: Jeg kommer."
    assert not kari.player.playing  # answered: the sound stops


def test_shown_receipts_are_recorded_per_user_and_only_for_desks_that_showed_it(
    window_desk: Callable[[str], WindowDesk],
    headless: Callable[[str], HeadlessDesk],
    edge: ThreadedEdge,
    central: Central,
) -> None:
    kari = window_desk("kari")
    per = headless("per")  # no window: the line it prints is what it shows
    kari.wait_connected()
    wait_screens(kari, central, 2)

    edge.press(WALL_PIN)
    alarm_id = str(only_alarm(kari))
    kari.wait(lambda: len(events(central, "kari", "shown")) == 2, "kari's and per's receipts")
    kari.wait(lambda: "per" in {a for _, a in events(central, "kari", "delivered")}, "per's")
    assert per.seen(lambda ln: ln["alarm_id"] == alarm_id) is not None
    assert sorted(events(central, "kari", "shown")) == [(alarm_id, "kari"), (alarm_id, "per")]
    [stored] = central.alarms("kari")
    assert "ola" not in {e["actor"] for e in stored["events"]}  # ola's desk was not connected
    assert stored["shown_at"] is not None  # the first screen's: the edge was told so

    # Ola's desk starts later: the active alarm is shown to her, and now she has a receipt.
    ola = window_desk("ola")
    assert only_alarm(ola) == UUID(alarm_id)
    ola.wait(lambda: len(events(central, "ola", "shown")) == 3, "ola's shown receipt")
    assert sorted(events(central, "ola", "shown")) == [
        (alarm_id, "kari"),
        (alarm_id, "ola"),
        (alarm_id, "per"),
    ]


def test_the_hotkey_trigger_raises_after_the_countdown_and_nothing_shows_on_the_raisers_screen(
    window_desk: Callable[[str], WindowDesk],
    headless: Callable[[str], HeadlessDesk],
    central: Central,
) -> None:
    kari = window_desk("kari")
    ola = headless("ola")
    kari.wait_connected()
    wait_screens(kari, central, 2)

    # What a desktop shortcut bound to the hotkey runs: the running client is poked over IPC.
    poke = subprocess.Popen(
        [script("trygg-desk"), "silent-alarm"],
        env={**os.environ, "USER": kari.session_user},
        stderr=subprocess.PIPE,
    )
    kari.wait(lambda: poke.poll() is not None, "`trygg-desk silent-alarm` to finish")
    _, errors = poke.communicate(timeout=5)
    assert poke.returncode == 0, errors.decode(errors="replace")
    kari.wait(lambda: central.alarms("kari"), "the alarm at central, after the countdown")
    [stored] = central.alarms("kari")
    assert (stored["source"], stored["raised_by"], stored["raised_by_name"]) == (
        "desktop",
        "kari",
        "Kari Nordmann",
    )
    assert (stored["room"], stored["floor"], stored["level"], stored["input"]) == (
        "Kontor 3.12",
        "3. etasje",
        "acute",
        "hotkey",
    )
    kari.wait(lambda: ola.seen(lambda ln: ln["alarm_id"] == stored["alarm_id"]), "ola sees it")
    seen = ola.seen(lambda ln: ln["alarm_id"] == stored["alarm_id"])
    assert seen is not None
    assert seen["raised_by_name"] == "Kari Nordmann"
    alarm_id = UUID(stored["alarm_id"])
    kari.wait(lambda: alarm_id in kari.app.own_alarms, "central's broadcast back to the raiser")
    assert kari.app.windows == {}
    assert not kari.player.playing
    assert not kari.app.countdown.isVisible()

    ola.send(f"coming {alarm_id}")
    kari.wait(lambda: kari.app.toast.isVisible(), "the discreet confirmation")
    assert kari.app.toast.label.text() == "✓ Hjelp er på vei (1)"
    assert kari.app.windows == {}


def test_cancelling_the_hotkey_inside_the_countdown_raises_nothing(
    window_desk: Callable[[str], WindowDesk],
    headless: Callable[[str], HeadlessDesk],
    central: Central,
) -> None:
    kari = window_desk("kari")
    ola = headless("ola")
    kari.wait_connected()
    wait_screens(kari, central, 2)
    countdown_ms = int(kari.settings.hotkey.countdown_s * 1000)

    kari.hotkeys.press(kari.settings.hotkey.sequence)  # what the global hotkey calls
    assert kari.app.countdown.isVisible()
    assert kari.app.countdown.label.text() == "Sender om 1 s"
    QTest.mouseClick(kari.app.countdown.cancel_button, Qt.MouseButton.LeftButton)
    assert not kari.app.countdown.isVisible()
    kari.qtbot.wait(countdown_ms + 1500)  # well past when the raise would have gone
    assert central.alarms("kari") == []
    assert ola.seen(lambda _ln: True) is None
    assert kari.app.own_alarms == set()


def test_killing_central_says_not_receiving_and_a_restart_shows_the_alarms_still_active(
    window_desk: Callable[[str], WindowDesk],
    edge: ThreadedEdge,
    central: Central,
) -> None:
    kari = window_desk("kari")
    kari.wait_connected()
    edge.press(DESK_PIN)
    before = only_alarm(kari)
    kari.wait(lambda: events(central, "kari", "shown"), "stored at central")
    window = kari.app.windows[before]
    view = kari.app.view
    assert view.text == "Trygg: tilkoblet – mottar alarmer"
    assert not view.banner.isVisible()

    central.kill()
    kari.wait(
        lambda: kari.app.presence.state is Presence.NOT_RECEIVING,
        "NOT receiving alarms",
        timeout_ms=NOT_RECEIVING_MS,
    )
    assert view.text.startswith("Trygg mottar IKKE alarmer")
    assert view.banner.isVisible()  # loud: a banner across the screen, not just an icon
    assert view.banner.label.text().startswith("Trygg mottar IKKE alarmer: ")
    assert window.isVisible()  # the alarm is not forgotten while central is away

    ola = window_desk("ola")  # a desk started while central is down says so too
    ola.wait(lambda: ola.app.presence.state is Presence.NOT_RECEIVING, "ola: NOT receiving")
    edge.press(WALL_PIN)  # raised while central is down: it waits at the broker

    central.start()
    kari.wait(lambda: kari.app.presence.state is Presence.CONNECTED, "connected again")
    assert view.text == "Trygg: tilkoblet – mottar alarmer"
    assert not view.banner.isVisible()
    kari.wait(lambda: len(kari.app.windows) == 2, "the alarm raised while central was down")
    assert kari.app.windows[before] is window
    assert window.isVisible()
    [meanwhile] = set(kari.app.windows) - {before}
    assert kari.app.windows[meanwhile].title.text() == "BISTAND TRENGS"
    states = {a["alarm_id"]: a["state"] for a in central.alarms("kari")}
    assert set(states) == {str(before), str(meanwhile)}
    assert "resolved" not in states.values()
    # Ola's desk never saw either alarm live: both come to her from the snapshot at connect.
    ola.wait(lambda: set(ola.app.windows) == {before, meanwhile}, "ola: both alarms")
    assert shiboken6.isValid(window)
