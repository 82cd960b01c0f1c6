"""The desk's connection state where the user always sees it: the tray icon (or, where there is
no system tray, a small status window) and, when alarms are NOT being received, a red banner
across the top of the screen. The banner is the loud part: an icon turning red is easy to miss.

A facility manager's open faults are listed here too (tooltip, a menu section, the status
window) and a new one is announced with a tray message: faults are not alarms, so they never
get a window, a colour of their own or a sound.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core import Presence
from desktop.gui.icons import presence_icon, presence_pixmap

_NO_FOCUS = (
    Qt.WindowType.WindowStaysOnTopHint
    | Qt.WindowType.WindowDoesNotAcceptFocus
    | Qt.WindowType.FramelessWindowHint
)


class ConnectionBanner(QWidget):
    """Red band at the top of the screen while this desk cannot receive alarms."""

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Tool | _NO_FOCUS)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setObjectName("banner")
        self.setStyleSheet("#banner { background: #b00020; } QLabel { color: #ffffff; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 10, 16, 10)
        icon = QLabel()
        icon.setPixmap(presence_pixmap(Presence.NOT_RECEIVING, 40))
        row.addWidget(icon)
        self.label = QLabel()
        self.label.setWordWrap(True)
        font = QFont(self.label.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.label.setFont(font)
        row.addWidget(self.label, 1)

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        area = self.screen().availableGeometry()
        width = min(area.width(), max(600, int(area.width() * 0.6)))
        self.setFixedWidth(width)
        self.adjustSize()
        self.move(area.x() + (area.width() - width) // 2, area.y())
        self.show()
        self.raise_()


class StatusWindow(QWidget):
    """Stands in for the tray icon where there is no system tray (some desktops, offscreen)."""

    def __init__(self, menu: QMenu) -> None:
        super().__init__(None, Qt.WindowType.Tool | _NO_FOCUS)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setWindowTitle("Trygg")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        self.icon = QLabel()
        row.addWidget(self.icon)
        column = QVBoxLayout()
        self.label = QLabel()
        self.label.setWordWrap(True)
        column.addWidget(self.label)
        self.faults_label = QLabel()
        self.faults_label.setWordWrap(True)
        self.faults_label.hide()
        column.addWidget(self.faults_label)
        row.addLayout(column, 1)
        self.menu_button = QToolButton()
        self.menu_button.setText("…")
        self.menu_button.setMenu(menu)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        row.addWidget(self.menu_button)

    def show_state(self, presence: Presence, text: str) -> None:
        self.icon.setPixmap(presence_pixmap(presence, 28))
        self.label.setText(text)
        self._place()

    def show_faults(self, text: str) -> None:
        self.faults_label.setText(text)
        self.faults_label.setVisible(bool(text))
        self._place()

    def _place(self) -> None:
        self.adjustSize()
        area = self.screen().availableGeometry()
        self.move(area.right() - self.width() - 12, area.bottom() - self.height() - 12)
        self.show()


def system_tray() -> QSystemTrayIcon | None:
    """The system's tray icon, where the desktop has a tray (none offscreen, on some desktops)."""
    return QSystemTrayIcon() if QSystemTrayIcon.isSystemTrayAvailable() else None


class PresenceView(QObject):
    silent_alarm_requested = Signal()
    show_alarms_requested = Signal()
    quit_requested = Signal()
    fault_announced = Signal(str)  # the text of a tray message about a new fault
    attention_message = Signal(str)  # the text of the tray message about a new alarm
    announce_requested = Signal(str)  # evacuate, lockdown or all_clear (the app confirms)
    routines_requested = Signal()  # open the console's routines page (read, and confirm)

    def __init__(
        self,
        translations: gettext.NullTranslations,
        *,
        silent_alarm_reason: str | None,
        tray: Callable[[], QSystemTrayIcon | None] = system_tray,
    ):
        """``tray`` makes the tray icon, or None where there is no tray (then a small status
        window stands in); a test passes a QSystemTrayIcon of its own that records its calls."""
        super().__init__()
        _ = self._ = translations.gettext
        self.menu = QMenu()
        self.silent_action = QAction(_("Silent alarm"), self.menu)
        self.silent_action.triggered.connect(self.silent_alarm_requested)
        if silent_alarm_reason:
            self.silent_action.setEnabled(False)
            self.silent_action.setToolTip(silent_alarm_reason)
        self.menu.addAction(self.silent_action)
        show = QAction(_("Show alarms"), self.menu)
        show.triggered.connect(self.show_alarms_requested)
        self.menu.addAction(show)
        # The office's routines and measures (3.6), read and confirmed on the console's page.
        self.routines_action = QAction(_("Routines and measures"), self.menu)
        self.routines_action.triggered.connect(self.routines_requested)
        self.menu.addAction(self.routines_action)
        # Evacuation and lockdown (central decides whether this user may); the app confirms.
        self.announce_menu = QMenu(_("Evacuation and lockdown"), self.menu)
        self.announce_actions: dict[str, QAction] = {}
        for kind, text in (
            ("evacuate", _("Evacuate…")),
            ("lockdown", _("Lock down…")),
            ("all_clear", _("All clear…")),
        ):
            action = QAction(text, self.announce_menu)
            action.triggered.connect(lambda _checked=False, k=kind: self.announce_requested.emit(k))
            self.announce_menu.addAction(action)
            self.announce_actions[kind] = action
        self.menu.addMenu(self.announce_menu)
        # Filled with one disabled entry per open fault; hidden while there are none.
        self.faults_menu = QMenu(self.menu)
        self.menu.addMenu(self.faults_menu)
        self.faults_menu.menuAction().setVisible(False)
        self.menu.addSeparator()
        leave = QAction(_("Quit Trygg"), self.menu)
        leave.triggered.connect(self.quit_requested)
        self.menu.addAction(leave)
        self.banner = ConnectionBanner()
        self.tray: QSystemTrayIcon | None = tray()
        self.status_window: StatusWindow | None = None
        if self.tray is not None:
            self.tray.setContextMenu(self.menu)
            self.tray.show()
        else:
            self.status_window = StatusWindow(self.menu)
        self.state = Presence.CONNECTING
        self.text = ""
        self.faults: tuple[tuple[str, str], ...] = ()  # (line, tooltip) per open fault

    def describe(self, presence: Presence, reason: str | None) -> str:
        _ = self._
        if presence is Presence.CONNECTED:
            return _("Trygg: connected – receiving alarms")
        if presence is Presence.CONNECTING:
            return _("Trygg: connecting…")
        if presence is Presence.RECONNECTING:
            return _("Trygg: connection lost – reconnecting…")
        return _("Trygg is NOT receiving alarms: {reason}").format(
            reason=reason or _("no connection to central")
        )

    def show_state(self, presence: Presence, reason: str | None) -> None:
        self.state, self.text = presence, self.describe(presence, reason)
        if self.tray is not None:
            self.tray.setIcon(presence_icon(presence))
            self.tray.setToolTip(self.tooltip())
        if self.status_window is not None:
            self.status_window.show_state(presence, self.text)
        if presence is Presence.NOT_RECEIVING:
            retrying = self._("Trying again automatically.")
            self.banner.show_text(f"{self.text}\n{retrying}")
        else:
            self.banner.hide()

    def faults_heading(self) -> str:
        return self._("Faults ({count})").format(count=len(self.faults))

    def faults_text(self) -> str:
        """The open faults as a heading and one line each; empty when there are none."""
        if not self.faults:
            return ""
        return "\n".join([self.faults_heading(), *(f"• {line}" for line, _detail in self.faults)])

    def tooltip(self) -> str:
        return "\n\n".join(t for t in (self.text, self.faults_text()) if t)

    def show_faults(self, faults: tuple[tuple[str, str], ...]) -> None:
        """List the open faults: ``(line, detail)`` each, the detail as the entry's tooltip."""
        self.faults = faults
        self.faults_menu.clear()
        self.faults_menu.setTitle(self.faults_heading())
        for line, detail in faults:
            entry = self.faults_menu.addAction(line)
            entry.setToolTip(detail)
            entry.setEnabled(False)  # information, nothing to do from here
        self.faults_menu.menuAction().setVisible(bool(faults))
        if self.tray is not None:
            self.tray.setToolTip(self.tooltip())
        if self.status_window is not None:
            self.status_window.show_faults(self.faults_text())

    def announce_fault(self, line: str) -> None:
        """A new fault: a tray message where there is a tray (the status window lists it)."""
        if self.tray is not None:
            title = self._("Trygg – new fault")
            self.tray.showMessage(title, line, QSystemTrayIcon.MessageIcon.Information, 10_000)
        self.fault_announced.emit(line)

    def call_attention(self) -> None:
        """A new alarm: a tray message, where there is a tray, saying where to look. It names
        no level and no room: a notification may show in a shared screen."""
        text = self._("Trygg needs your answer: see the Trygg window.")
        if self.tray is not None:
            self.tray.showMessage("Trygg", text, QSystemTrayIcon.MessageIcon.Information, 15_000)
        self.attention_message.emit(text)

    def close(self) -> None:
        self.banner.close()
        if self.tray is not None:
            self.tray.hide()
        if self.status_window is not None:
            self.status_window.close()
