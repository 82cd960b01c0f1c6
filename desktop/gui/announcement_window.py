"""Evacuation or lockdown: one window per site, full screen above everything, until all clear.

What it must do is be impossible to miss and say what to do: the kind in large letters on a
colour of its own (red for evacuate, purple for lockdown, neither an alarm level's colour),
where (the site, the zone), who announced it and when, and the site's routine in the desk's
language. It has no button that ends it: only central's "All clear" does (the desk's menu can
send one, for those allowed). It opens without taking the keyboard, like the alarm window, so
a sentence being typed elsewhere cannot dismiss or answer anything.
"""

from __future__ import annotations

import gettext
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from protocol import AnnouncementKind
from protocol.screen import AnnouncementFrame

COLOURS = {AnnouncementKind.EVACUATE: "#b00020", AnnouncementKind.LOCKDOWN: "#4a148c"}


def _label(text: str, scale: float = 1.0, bold: bool = False, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)  # texts from central are never markup
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    label.setFont(font)
    if name:
        label.setObjectName(name)
    return label


class AnnouncementWindow(QWidget):
    def __init__(
        self,
        frame: AnnouncementFrame,
        *,
        translations: gettext.NullTranslations,
        language: str,
        site_name: str | None,
    ) -> None:
        super().__init__(
            None,
            Qt.WindowType.Window
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowDoesNotAcceptFocus,
        )
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self._ending = False  # only :meth:`end` (all clear) closes it
        self._ = translations.gettext
        self.language = language
        self.site_name = site_name
        self.setObjectName("announcement")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 36, 48, 36)
        self.title = _label("", 3.0, bold=True, name="title")
        self.where = _label("", 1.6, bold=True, name="where")
        self.who = _label("", 1.2, name="who")
        self.steps = _label("", 1.5, name="steps")
        self.until = _label(self._("This stays on the screen until all clear."), 1.1, name="until")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.steps)
        scroll.setStyleSheet("background: transparent;")
        for widget in (self.title, self.where, self.who):
            layout.addWidget(widget)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.until)
        self.frame = frame
        self.update_frame(frame)

    def update_frame(self, frame: AnnouncementFrame) -> None:
        _ = self._
        self.frame = frame
        colour = COLOURS.get(frame.kind, "#b00020")
        self.setStyleSheet(f"#announcement {{ background: {colour}; }} QLabel {{ color: #fff; }}")
        routine = frame.routine
        if routine is not None:
            title = routine.title.get(self.language) or routine.title.get("en", "")
            steps = routine.steps.get(self.language) or routine.steps.get("en", ())
        else:
            title = _("EVACUATE") if frame.kind is AnnouncementKind.EVACUATE else _("LOCK DOWN")
            steps = ()
        self.title.setText(title)
        site = self.site_name or frame.site
        where = frame.zone_name or frame.zone
        self.where.setText(
            _("{site}, zone {zone}").format(site=site, zone=where) if where else site
        )
        at = frame.at.astimezone().strftime("%H:%M") if isinstance(frame.at, datetime) else "–"
        self.who.setText(
            _("Announced by {name} at {time}.").format(name=frame.by_name or frame.by, time=at)
        )
        self.steps.setText("\n\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1)))
        self.setWindowTitle(f"Trygg – {title}")

    def show_over_everything(self) -> None:
        self.setGeometry(self.screen().geometry())
        self.showFullScreen()
        self.raise_()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._ending:
            event.ignore()  # only all clear ends it
            return
        super().closeEvent(event)

    def end(self) -> None:
        self._ending = True
        self.close()
