"""The visit timer's notice in the desk window (offscreen): a box on top, in Norwegian by
default, saying whom to call; a second notice for the same visit replaces the first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.desktop.desk_app import Desk
from tests.desktop.qt_support import CentralThread
from tests.desktop.test_core_visits import NOTICE


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def test_a_colleague_overdue_from_a_home_visit_is_shown_on_top(desk: Desk) -> None:
    desk.app.on_event(NOTICE)
    box = desk.app.visit_notices[NOTICE.visit_id]
    desk.wait(box.isVisible, "the notice")
    assert box.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert box.windowTitle() == "Trygg – hjemmebesøk ikke avsluttet"
    assert box.text().startswith(
        "Kari Nordmann har ikke sjekket ut av hjemmebesøket (Storgata 1, til "
    )
    assert box.text().endswith(") – ring vedkommende.")

    desk.app.on_event(NOTICE)  # the same notice again: one box, the new one
    assert list(desk.app.visit_notices) == [NOTICE.visit_id]
    desk.wait(lambda: not box.isVisible(), "the old box closed")
    desk.wait(desk.app.visit_notices[NOTICE.visit_id].isVisible, "the new box")
