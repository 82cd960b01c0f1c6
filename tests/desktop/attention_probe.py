"""Opens an alarm in the desk's window app on a real X server and prints, as JSON, the window
state requests that reached the root window (where a window manager takes them).

Offscreen, ``QApplication.alert`` has nowhere to go; on X11 Qt asks the window manager to mark
the window as demanding attention (the taskbar entry flashes) with a ``_NET_WM_STATE`` client
message to the root window. This probe listens there as a window manager would, so
tests/desktop/test_window_attention.py sees the request the desk really makes. Qt picks its
platform once per process, hence a process of its own on Xvfb:

    DISPLAY=:N QT_QPA_PLATFORM=xcb python -m tests.desktop.attention_probe
"""

from __future__ import annotations

import json
import sys
from typing import Any
from uuid import uuid4

import Xlib.display
import Xlib.X
from pydantic import SecretStr
from PySide6.QtCore import QDeadlineTimer, QThread
from PySide6.QtWidgets import QApplication

from desktop.config import DeskSettings, Language
from desktop.core import AlarmEvent, EventKind
from desktop.gui.app import DeskApp
from desktop.gui.triggers import NoGlobalHotkeys
from desktop.i18n import load_translations
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import TOKEN, Clock, RecordingPlayer


def _requests(ear: Xlib.display.Display, net_wm_state: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(ear.pending_events()):
        event = ear.next_event()
        if event.type == Xlib.X.ClientMessage and event.client_type == net_wm_state:
            _format, data = event.data
            found.append(
                {
                    "window": event.window.id,
                    "set": data[0] == 1,
                    "state": ear.get_atom_name(data[1]),
                }
            )
    return found


def main() -> int:
    ear = Xlib.display.Display()  # the window manager's place: the root window's events
    ear.screen().root.change_attributes(event_mask=Xlib.X.StructureNotifyMask)
    ear.sync()
    net_wm_state = ear.intern_atom("_NET_WM_STATE")
    app = QApplication(sys.argv[:1])
    settings = DeskSettings.model_validate(
        {"server": "ws://127.0.0.1:9/ws", "token": SecretStr(TOKEN)}  # never connected
    )
    desk = DeskApp(
        settings,
        load_translations(Language.NB),
        trigger_name=f"trygg-desk-attention-{uuid4().hex[:12]}",
        player=RecordingPlayer(),
        hotkeys=lambda: NoGlobalHotkeys("not this probe's concern"),
        clock=Clock(),
    )
    alarm = make_alarm()
    desk.on_event(AlarmEvent(EventKind.ALARM, alarm))
    window = desk.windows[alarm.alarm_id]
    wanted = {
        "window": int(window.winId()),
        "set": True,
        "state": "_NET_WM_STATE_DEMANDS_ATTENTION",
    }
    seen: list[dict[str, Any]] = []
    deadline = QDeadlineTimer(10_000)
    while wanted not in seen and not deadline.hasExpired():
        app.processEvents()
        seen += _requests(ear, net_wm_state)
        QThread.msleep(10)
    print(json.dumps({"alarm_window": wanted["window"], "requests": seen}))
    desk.stop()
    ear.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
