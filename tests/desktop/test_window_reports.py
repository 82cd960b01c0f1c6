"""The incident-report notice in the desk window (offscreen): quiet and not on top, "Write
incident report" opens the console's form in the browser, a withdrawn ask closes it, and a new
report is told to a leader with "Open the report"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.core.reports import ReportEvent
from tests.desktop.desk_app import Desk
from tests.desktop.qt_support import CentralThread
from tests.desktop.test_core_reports import ALARM, ASK, FILED, REPORT


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def test_the_ask_is_a_quiet_notice_that_opens_the_form(desk: Desk) -> None:
    desk.app.on_event(ReportEvent(ASK))
    notice = desk.app.report_notices[ALARM]
    desk.wait(notice.isVisible, "the notice")
    assert not notice.isModal()
    assert not notice.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert notice.windowTitle() == "Trygg – hendelsesrapport"
    assert notice.text().startswith("Alarmen i Møterom 101 kl. ")
    assert (notice.write.text(), notice.later.text()) == ("Skriv hendelsesrapport", "Senere")
    assert notice.url.endswith(f"/reports/new?alarm={ALARM}")
    assert notice.url.startswith("http://")
    opened: list[str] = []
    notice._opened = opened.append  # the browser, as the user's click would open it
    notice.write.click()
    assert opened == [notice.url]
    desk.wait(lambda: ALARM not in desk.app.report_notices, "the notice done")


def test_a_withdrawn_ask_closes_its_notice(desk: Desk) -> None:
    desk.app.on_event(ReportEvent(ASK))
    notice = desk.app.report_notices[ALARM]
    desk.wait(notice.isVisible, "the notice")
    desk.app.on_event(ReportEvent(ASK.model_copy(update={"closed": True})))
    desk.wait(lambda: not notice.isVisible(), "the notice closed")
    assert ALARM not in desk.app.report_notices


def test_a_new_report_is_told_with_open(desk: Desk) -> None:
    desk.app.on_event(ReportEvent(FILED))
    notice = desk.app.report_notices[REPORT]
    desk.wait(notice.isVisible, "the notice")
    assert notice.windowTitle() == "Trygg – ny hendelsesrapport"
    assert notice.write.text() == "Åpne rapporten"
    assert notice.url.endswith(f"/reports/{REPORT}")
