"""The notice a colleague's standby request shows on the desk (STANDARD 2.2): who asks, where
and when, how worried they are, and two buttons — "I stand by" and "I can't". The answer goes
to central (``desktop.core.standby``), which checks that this user was asked; central's copy
with the answer comes back and replaces the notice, so it always shows what central has."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import tzinfo
from uuid import UUID

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from protocol.screen import StandbyFrame

_CONCERN = {"low": "low", "medium": "medium", "high": "high"}
_ANSWER = {"asked": "asked", "confirmed": "confirmed", "declined": "declined"}


def notice_text(frame: StandbyFrame, _: Callable[[str], str], zone: tzinfo) -> str:
    """The request in the reader's language and time zone."""
    where = frame.room or _("Outside the office") + f": {frame.address}"
    start, end = frame.start.astimezone(zone), frame.end.astimezone(zone)
    lines = [
        _("{name} asks you to stand by for a meeting.").format(name=frame.owner_name),
        f"{where} · {start:%d.%m %H:%M}–{end:%H:%M}",
        _("Concern") + f": {_(_CONCERN.get(frame.concern, frame.concern))}",
    ]
    if frame.note:
        lines.append(frame.note)
    lines.append(_("Your answer") + f": {_(_ANSWER.get(frame.answer, frame.answer))}")
    return "\n".join(lines)


class StandbyNotice(QMessageBox):
    """One meeting's request; ``answered(meeting_id, confirm)`` when a button is pressed."""

    def __init__(
        self,
        frame: StandbyFrame,
        translations: gettext.NullTranslations,
        zone: tzinfo,
        answered: Callable[[UUID, bool], None],
        parent: QWidget | None = None,
    ) -> None:
        _ = translations.gettext
        super().__init__(parent)
        self.frame = frame
        title = _("Trygg – reminder: standby") if frame.reminder else _("Trygg – standby")
        self.setWindowTitle(title)
        self.setIcon(QMessageBox.Icon.Question)
        self.setText(notice_text(frame, _, zone))
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.yes: QPushButton = self.addButton(_("I stand by"), QMessageBox.ButtonRole.YesRole)
        self.no: QPushButton = self.addButton(_("I can't"), QMessageBox.ButtonRole.NoRole)
        self.yes.clicked.connect(lambda: answered(frame.meeting_id, True))
        self.no.clicked.connect(lambda: answered(frame.meeting_id, False))
