"""The desk's incident-report notice (STANDARD 2.4): "the alarm is over — please write a report"
for the person asked, "a new report was filed" for a leader or safety representative.

Non-modal and without sound, and not kept on top: the alarm is over, and a prompt must not get
in the way of a meeting that goes on. "Write incident report" (or "Open the report") opens the
console's form (or the report) in the default browser, where the person signs in as usual;
"Later" puts it away for now (central asks again when the desk next starts, until the report
is filed).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import tzinfo

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from desktop.core.reports import ReportEvent, report_text
from protocol.screen import ReportFiled


class ReportNotice(QMessageBox):
    """One ask or one new report; ``opened(url)`` is how the browser is opened (a test's hook)."""

    def __init__(
        self,
        event: ReportEvent,
        url: str,
        translations: gettext.NullTranslations,
        zone: tzinfo,
        opened: Callable[[str], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        _ = translations.gettext
        super().__init__(parent)
        self.report = event  # not "event": that is QWidget.event(), which Qt calls
        self.url = url
        filed = isinstance(event.frame, ReportFiled)
        self.setWindowTitle(
            _("Trygg – new incident report") if filed else _("Trygg – incident report")
        )
        self.setIcon(QMessageBox.Icon.Information)
        self.setText(report_text(event.frame, _, zone))
        self.setModal(False)
        action = _("Open the report") if filed else _("Write incident report")
        self.write: QPushButton = self.addButton(action, QMessageBox.ButtonRole.AcceptRole)
        self.later: QPushButton = self.addButton(_("Later"), QMessageBox.ButtonRole.RejectRole)
        self._opened = opened or (lambda link: QDesktopServices.openUrl(QUrl(link)))
        self.write.clicked.connect(lambda: self._opened(self.url))
