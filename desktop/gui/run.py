"""``trygg-desk --config FILE``: the window client's main loop, and the trigger subcommands."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from desktop.config import DeskSettings
from desktop.gui.app import DeskApp
from desktop.gui.triggers import default_server_name, send_trigger
from desktop.i18n import load_translations


def run_window(settings: DeskSettings) -> int:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Trygg")
    app.setQuitOnLastWindowClosed(False)  # the tray stays when the last alarm window closes
    desk = DeskApp(
        settings, load_translations(settings.language), trigger_name=default_server_name()
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: app.quit())
    # Python runs signal handlers only between bytecodes; a timer lets it in now and then.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(300)
    desk.start()
    try:
        return app.exec()
    finally:
        desk.stop()


def trigger(word: str) -> bool:
    """``trygg-desk silent-alarm`` / ``focus-alarm``: tell the running client."""
    QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    return send_trigger(default_server_name(), word)
