"""Run in a child process with QT_SCALE_FACTOR set: opens an alarm window on an offscreen
full-HD screen and prints, as JSON, every piece of text that does not fit or cannot be reached.

Qt reads the scale factor once, when the application starts, hence the separate process."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from desktop.config import Language
from desktop.gui.alarm_window import AlarmWindow
from desktop.i18n import load_translations
from protocol.messages import AlarmLevel
from tests.desktop.fake_central import load_routines, make_alarm
from tests.desktop.qt_support import Clock


def main() -> int:
    app = QApplication(sys.argv[:1])
    alarm = make_alarm(
        level=AlarmLevel.ACUTE,
        drill=True,
        room="Møterom 101 – det store rommet ved resepsjonen i første etasje",
        floor="1. etasje",
        raised_at=datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
    )
    window = AlarmWindow(
        alarm,
        translations=load_translations(Language.NB),
        language="nb",
        routine=load_routines()[AlarmLevel.ACUTE],
        site_name="NAV Oslo sentrum",
        user="kari",
        focus_hotkey="Ctrl+Shift+F11",
        clock=Clock(),
    )
    window.place_on_screen()
    window.show()
    for _ in range(5):
        app.processEvents()
    problems: list[str] = []
    area = window.screen().availableGeometry()
    if not area.contains(window.geometry()):
        problems.append(f"window {window.geometry()} is not inside the screen {area}")
    for label in window.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        needed = (
            label.heightForWidth(label.width()) if label.wordWrap() else label.sizeHint().height()
        )
        if needed > label.height():
            problems.append(f"label {label.text()[:30]!r} needs {needed}px, has {label.height()}")
    for button in window.findChildren(QPushButton):
        hint = button.sizeHint()
        if hint.width() > button.width() or hint.height() > button.height():
            problems.append(f"button {button.text()!r} needs {hint}, has {button.size()}")
        if not window.rect().contains(button.geometry().translated(window.button_bar.pos())):
            problems.append(f"button {button.text()!r} is outside the window")
    content, viewport = window.content, window.scroller.viewport()
    scrolls = content.height() > viewport.height()
    if scrolls and window.scroller.verticalScrollBar().maximum() <= 0:
        problems.append("content is taller than the window and cannot be scrolled to")
    if content.width() > viewport.width():
        problems.append("content is wider than the window (no horizontal scrolling)")
    print(
        json.dumps(
            {
                "ratio": window.devicePixelRatio(),
                "screen": [area.width(), area.height()],
                "scrolls": scrolls,
                "problems": problems,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
