"""Reaching a colleague whose screen is covered by a full-screen presentation: the window asks to
stay on top, the sound rings, the taskbar entry is asked to flash and the tray message is
given, again when the alarm escalates; and the message names neither level nor room (a
notification may show in a shared screen).

The calls are seen where they land. The tray is Qt's own QSystemTrayIcon (offscreen has no
tray, so the desk is handed one that also records its messages: tests/desktop/tray.py). The
taskbar flash (``QApplication.alert``) goes nowhere offscreen, so it is watched on a real X
server: a probe process opens the alarm on Xvfb and listens on the root window, as a window
manager does, for Qt's request to mark the window as demanding attention. Whether a window
manager then honours "on top" over a full-screen app is the OS's (docs/desk.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from protocol.messages import AlarmLevel
from tests.desktop.desk_app import Desk
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import CentralThread
from tests.desktop.tray import RecordingTray
from tests.desktop.xvfb import x_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central, tray=RecordingTray)
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
    # The message really went to the system tray, for 15 s, with the desk's menu on the icon.
    tray = desk.app.view.tray
    assert isinstance(tray, RecordingTray)
    assert tray.isVisible()
    assert tray.contextMenu() is desk.app.view.menu
    assert [(m.title, m.text, m.msecs) for m in tray.messages] == [("Trygg", messages[0], 15_000)]
    assert desk.app.view.status_window is None  # a tray: no stand-in window

    escalated = alarm.model_copy(update={"stage": 1, "escalated_to": ("neighbours",)})
    central.run(central.central.update(escalated))
    desk.wait(lambda: called == [alarm.alarm_id] * 2, "attention called again on escalation")
    assert len(messages) == 2
    assert len(tray.messages) == 2

    pressed = escalated.model_copy(update={"presses": 2})  # an ordinary update: no new call
    central.run(central.central.update(pressed))
    desk.wait(lambda: desk.app.windows[alarm.alarm_id].alarm.presses == 2, "the update")
    assert called == [alarm.alarm_id] * 2
    assert len(tray.messages) == 2


def test_on_x11_the_window_manager_is_asked_to_flash_the_alarm_window() -> None:
    """``QApplication.alert`` as it reaches a window manager: the alarm window's
    ``_NET_WM_STATE_DEMANDS_ATTENTION`` (the taskbar entry flashes, the urgency hint), and
    ``_NET_WM_STATE_ABOVE`` for "stay on top"."""
    with x_server() as display:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
        env |= {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        probe = subprocess.run(
            [sys.executable, "-m", "tests.desktop.attention_probe"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert probe.returncode == 0, (
        f"{probe.stderr}\n(Qt's xcb platform needs libxcb-cursor0, libxcb-icccm4 and "
        "libxcb-keysyms1: `make system-deps` installs them)"
    )
    said = json.loads(probe.stdout)
    asked = {
        (r["state"], r["set"]) for r in said["requests"] if r["window"] == said["alarm_window"]
    }
    assert ("_NET_WM_STATE_DEMANDS_ATTENTION", True) in asked, said
    assert ("_NET_WM_STATE_ABOVE", True) in asked, said


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
