"""What the silent alarm shows its own user: as little as possible.

The countdown is a small grey box in a screen corner with neutral words ("Sending in 3 s",
"Cancel") — nothing red, nothing that says "alarm" to the person across the desk or on the
video call. After the raise, nothing at all, until colleagues are coming: then an equally quiet
"help is on the way" for a few seconds.
"""

from __future__ import annotations

import gettext

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

_QUIET_STYLE = (
    "#quiet { background: #f2f2f2; border: 1px solid #b0b0b0; border-radius: 4px; }"
    " QLabel { color: #333333; } QPushButton { padding: 2px 10px; }"
)
TOAST_MS = 8000


class _Quiet(QWidget):
    def __init__(self) -> None:
        super().__init__(
            None,
            Qt.WindowType.Tool
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowDoesNotAcceptFocus,
        )
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setObjectName("quiet")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(_QUIET_STYLE)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.row.addWidget(self.label)

    def show_in_corner(self) -> None:
        self.adjustSize()
        area = self.screen().availableGeometry()
        self.move(area.right() - self.width() - 16, area.bottom() - self.height() - 80)
        self.show()


class CountdownBox(_Quiet):
    cancelled = Signal()

    def __init__(self, translations: gettext.NullTranslations) -> None:
        super().__init__()
        self._ = translations.gettext
        self.cancel_button = QPushButton(self._("Cancel"))
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancelled)
        self.row.addWidget(self.cancel_button)

    def show_remaining(self, seconds: float) -> None:
        self.label.setText(self._("Sending in {n} s").format(n=max(1, round(seconds + 0.49))))
        if not self.isVisible():
            self.show_in_corner()


class HelpComingToast(_Quiet):
    def __init__(self, translations: gettext.NullTranslations) -> None:
        super().__init__()
        self._ = translations.gettext
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)

    def show_count(self, responders: int) -> None:
        self.label.setText(self._("✓ Help is on the way ({n})").format(n=responders))
        self.show_in_corner()
        self._timer.start(TOAST_MS)
