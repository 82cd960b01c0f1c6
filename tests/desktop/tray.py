"""A tray icon that records what the desk asks of it.

Qt's offscreen platform has no system tray, so the desk would make none and show its small
status window instead; the tray's messages could not be seen. :class:`RecordingTray` is Qt's own
:class:`QSystemTrayIcon` (every call still goes to Qt), which also keeps the messages it was
given, so a test sees the calls the desk really makes on a tray."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QSystemTrayIcon


@dataclass(frozen=True)
class TrayMessage:
    title: str
    text: str
    icon: QSystemTrayIcon.MessageIcon
    msecs: int


class RecordingTray(QSystemTrayIcon):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[TrayMessage] = []

    def showMessage(  # type: ignore[override]  # the one of Qt's two overloads the desk uses
        self,
        title: str,
        msg: str,
        icon: QSystemTrayIcon.MessageIcon = QSystemTrayIcon.MessageIcon.Information,
        msecs: int = 10_000,
    ) -> None:
        self.messages.append(TrayMessage(title, msg, icon, msecs))
        super().showMessage(title, msg, icon, msecs)
