"""The desk's routines notice (STANDARD 1.1, 3.6): "the routines have changed – read and confirm".

Non-modal, without sound and not kept on top, like the incident-report notice: nothing is
wrong, and an ask must not get in the way of a meeting. "Read the routines" opens the console's
routines page in the default browser, where the person reads them and confirms at the bottom;
the notice stays (behind the browser) until central says they have confirmed, then the desk
closes it. "Later" closes it for now (central asks again when the desk next starts).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QPushButton, QWidget

from desktop.core.routines import routines_text
from protocol.screen import RoutinesStatus


class RoutinesNotice(QMessageBox):
    """The ask for one version; ``opened(url)`` is how the browser is opened (a test's hook)."""

    def __init__(
        self,
        frame: RoutinesStatus,
        url: str,
        translations: gettext.NullTranslations,
        opened: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        _ = translations.gettext
        super().__init__(parent)
        self.frame = frame
        self.url = url
        self.setWindowTitle(_("Trygg – routines"))
        self.setIcon(QMessageBox.Icon.Information)
        self.setText(routines_text(frame, _))
        self.setModal(False)
        # Shown without taking the keyboard: whatever the person is typing stays where it is.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.read: QPushButton = self.addButton(
            _("Read the routines"), QMessageBox.ButtonRole.ActionRole
        )
        self.later: QPushButton = self.addButton(_("Later"), QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.read)
        self._opened = opened or (lambda link: QDesktopServices.openUrl(QUrl(link)))
        self.read.clicked.connect(lambda: self._opened(self.url))
        # Every button of a message box closes it; "Read the routines" must not: the ask stays
        # until central says the person has confirmed. The box says which button was clicked
        # just before it closes itself (``buttonClicked``, then ``done``).
        self._keep_open = False
        self.buttonClicked.connect(self._clicked)

    def _clicked(self, button: QAbstractButton) -> None:
        self._keep_open = button is self.read

    def done(self, result: int) -> None:
        if self._keep_open:  # "Read the routines": the browser opens, the ask stays
            self._keep_open = False
            return
        super().done(result)
