"""The desk's way to the routines (STANDARD 3.6, 1.1): the tray menu's "Routines and measures"
opens the console's routines page, where the employee reads and confirms them; and central's
``routines`` frame, through a real socket and the desk's client, asks a person who has not
confirmed the current version with a quiet notice (offscreen) that opens that page and stays
until central says they have confirmed; the notice is kept out of screen sharing."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from pydantic import SecretStr
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.config import DeskSettings, Language
from desktop.core import Backoff, Presence
from desktop.core.routines import RoutinesEvent
from desktop.gui.app import DeskApp
from desktop.gui.capture import WDA_EXCLUDEFROMCAPTURE, WindowsScreenShareGuard
from desktop.i18n import load_translations
from protocol.screen import encode_frame
from tests.desktop.desk_app import WAIT_MS, Desk
from tests.desktop.qt_support import TOKEN, CentralThread, Clock, RecordingPlayer
from tests.desktop.test_capture import User32
from tests.desktop.test_core_routines import ASK, FIRST, READ


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central, trigger_user=f"test-{uuid4().hex[:10]}")
    made.connected()
    yield made
    made.app.stop()


def routines_page(desk: Desk) -> str:
    server = desk.central.central.url  # ws://127.0.0.1:PORT/ws
    return server.replace("ws://", "http://").removesuffix("/ws") + "/routines"


def asks(desk: Desk) -> list[RoutinesEvent]:
    """Every routines event the desk's client hands the window app, from now on."""
    found: list[RoutinesEvent] = []
    desk.app.bridge.received.connect(
        lambda event: found.append(event) if isinstance(event, RoutinesEvent) else None
    )
    return found


def send(desk: Desk, text: str) -> None:
    """``text`` from the fake central to the desk, over its socket (once it is listening)."""
    fake = desk.central.central
    desk.wait(lambda: fake.connections, "the desk's socket registered")
    desk.central.run(fake.send_raw(text))


def test_the_tray_menu_opens_the_consoles_routines_page(desk: Desk) -> None:
    opened: list[str] = []
    desk.app.open_url = opened.append
    action = desk.app.view.routines_action
    assert action in desk.app.view.menu.actions()
    assert action.text() == "Rutiner og tiltak"  # bokmål, from the shared catalogue
    action.trigger()
    assert opened == [routines_page(desk)]


def test_a_changed_routine_asks_quietly_until_central_says_confirmed(desk: Desk) -> None:
    opened: list[str] = []
    desk.app.open_url = opened.append
    told = asks(desk)
    send(desk, encode_frame(ASK))
    desk.wait(lambda: desk.app.routines_notice is not None, "the ask")
    notice = desk.app.routines_notice
    assert notice is not None
    desk.wait(notice.isVisible, "the notice shown")
    assert not notice.isModal()
    assert notice.testAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)  # keeps typing
    assert not notice.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert not desk.player.playing  # no sound: nothing is wrong
    assert notice.windowTitle() == "Trygg – rutiner"
    assert notice.text().startswith("Rutinene er endret – les og bekreft\n")
    assert (notice.read.text(), notice.later.text()) == ("Les rutinene", "Senere")

    notice.read.click()  # the browser opens the page; the ask stays until confirmed
    assert opened == [routines_page(desk)]
    assert notice.isVisible()
    assert desk.app.routines_notice is notice
    send(desk, encode_frame(ASK))  # a reconnect's copy: no second notice
    send(desk, encode_frame(READ))  # confirmed in the console: central says so
    desk.wait(lambda: not notice.isVisible(), "the notice closed")
    assert desk.app.routines_notice is None
    assert told == [RoutinesEvent(ASK), RoutinesEvent(READ)]


def test_later_puts_the_ask_away_and_a_new_version_asks_again(desk: Desk) -> None:
    told = asks(desk)
    send(desk, encode_frame(FIRST))
    desk.wait(lambda: desk.app.routines_notice is not None, "the ask")
    notice = desk.app.routines_notice
    assert notice is not None
    assert notice.text().startswith("Les rutinene og bekreft\n")  # never confirmed any
    notice.later.click()
    desk.wait(lambda: desk.app.routines_notice is None, "put away")
    assert not notice.isVisible()
    send(desk, encode_frame(FIRST))  # asked again at a reconnect: not by this desk process
    newer = ASK.model_copy(update={"version": "b7e2c44a0f1d9e35"})
    send(desk, encode_frame(newer))  # the routines changed (central restarted with them)
    desk.wait(lambda: desk.app.routines_notice is not None, "asked again")
    assert desk.app.routines_notice is not None
    assert desk.app.routines_notice.frame == newer
    assert told == [RoutinesEvent(FIRST), RoutinesEvent(newer)]


def test_the_notice_is_kept_out_of_screen_sharing(qtbot: QtBot, central: CentralThread) -> None:
    user32 = User32()
    settings = DeskSettings.model_validate(
        {"server": central.central.url, "token": SecretStr(TOKEN), "language": "en"}
    )
    app = DeskApp(
        settings,
        load_translations(Language.EN),
        trigger_name=f"trygg-desk-routines-{uuid4().hex[:10]}",
        backoff=Backoff(initial_s=0.05, maximum_s=0.2),
        player=RecordingPlayer(),
        screen_share=lambda: WindowsScreenShareGuard(user32.api()),
        clock=Clock(),
    )
    app.start()
    try:
        qtbot.waitUntil(lambda: app.presence.state is Presence.CONNECTED, timeout=WAIT_MS)
        app.on_event(RoutinesEvent(ASK))
        notice = app.routines_notice
        assert notice is not None
        qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
        assert (int(notice.winId()), WDA_EXCLUDEFROMCAPTURE) in user32.calls
        assert notice.text().startswith("The routines have changed – read and confirm\n")
        assert notice.read.text() == "Read the routines"
    finally:
        app.stop()
