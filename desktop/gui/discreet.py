"""What the silent alarm shows its own user: as little as possible.

The countdown is a small grey box in a screen corner with neutral words ("Sending in 3 s",
"Cancel") — nothing red, nothing that says "alarm" to the person across the desk or on the
video call. After the raise, nothing at all, until colleagues are coming: then an equally quiet
"help is on the way" for a few seconds (and as quietly "nobody is coming yet" if they all
withdraw).

Except when it did NOT go (:mod:`desktop.core.raising`): then the user must know at once, and
what to do instead, so :class:`NotSentNotice` says both, in the same quiet box (the visitor
must not learn of it either), and stays until the user closes it.
"""

from __future__ import annotations

import gettext

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.core import RaiseFailed, RaiseFailure

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

    def show_withdrawn(self) -> None:
        """Nobody is coming any more (those who were withdrew): said as quietly, and it stays
        until the user has seen it long enough to act (call 112, press the button)."""
        self.label.setText(
            self._("Nobody is coming yet: get help another way (call 112, the alarm button).")
        )
        self.show_in_corner()
        self._timer.start(TOAST_MS * 3)


def not_sent_text(
    failed: RaiseFailed, translations: gettext.NullTranslations, *, confirm_within_s: float
) -> str:
    """What went wrong with the user's silent alarm, then what to do instead."""
    _ = translations.gettext
    if failed.failure is RaiseFailure.REFUSED:
        what = _("Your silent alarm did NOT go: central refused it ({reason}).").format(
            reason=failed.reason
        )
    elif failed.failure is RaiseFailure.NO_ANSWER:
        what = _(
            "Your silent alarm is NOT confirmed: central has not answered in {n} s. "
            "It may not have gone."
        ).format(n=f"{confirm_within_s:g}")
    else:
        what = _(
            "Your silent alarm has NOT gone: this PC has no connection to central. "
            "It is sent when the connection is back."
        )
    return (
        what
        + "\n"
        + _("Get help another way: call 112, press the alarm button, or call a colleague.")
    )


class NotSentNotice(_Quiet):
    """Stays until closed: a user who looked away must still find it."""

    def __init__(self, translations: gettext.NullTranslations) -> None:
        super().__init__()
        self._ = translations.gettext
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(360)
        self.close_button = QPushButton(self._("Close"))
        self.close_button.setAutoDefault(False)
        self.close_button.clicked.connect(self.hide)
        self.row.addWidget(self.close_button)

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.show_in_corner()
