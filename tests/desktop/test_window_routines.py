"""The desk's way to the routines (STANDARD 3.6, 1.1): the tray menu's "Routines and measures"
opens the console's routines page, where the employee reads and confirms them."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from pytestqt.qtbot import QtBot

from tests.desktop.desk_app import Desk
from tests.desktop.qt_support import CentralThread


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central, trigger_user=f"test-{uuid4().hex[:10]}")
    made.connected()
    yield made
    made.app.stop()


def test_the_tray_menu_opens_the_consoles_routines_page(desk: Desk) -> None:
    opened: list[str] = []
    desk.app.open_url = opened.append
    action = desk.app.view.routines_action
    assert action in desk.app.view.menu.actions()
    assert action.text() == "Rutiner og tiltak"  # bokmål, from the shared catalogue
    action.trigger()
    server = desk.central.central.url  # ws://127.0.0.1:PORT/ws
    assert opened == [server.replace("ws://", "http://").removesuffix("/ws") + "/routines"]
