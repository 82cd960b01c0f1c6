"""A window app (:class:`desktop.gui.app.DeskApp`) wired for tests: a hand-moved clock, a
recording speaker, fast reconnects, and a trigger socket name of its own."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from pydantic import SecretStr
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from desktop.config import DeskSettings, Language
from desktop.core import Backoff, Presence
from desktop.gui.app import DeskApp
from desktop.gui.presence_view import system_tray
from desktop.i18n import load_translations
from tests.desktop.qt_support import TOKEN, CentralThread, Clock, RecordingPlayer

WAIT_MS = 10_000


def settings(server: str, **extra: object) -> DeskSettings:
    fields: dict[str, object] = {
        "server": server,
        "token": SecretStr(TOKEN),
        "location": {"site": "oslo-sentrum", "room": "Kontor 3.12", "floor": "3. etasje"},
    }
    fields.update(extra)
    return DeskSettings.model_validate(fields)


class Desk:
    def __init__(
        self,
        qtbot: QtBot,
        central: CentralThread,
        trigger_user: str = "",
        *,
        tray: Callable[[], QSystemTrayIcon | None] = system_tray,
        **extra: object,
    ) -> None:
        self.qtbot = qtbot
        self.central = central
        self.clock = Clock()
        self.player = RecordingPlayer()
        self.app = DeskApp(
            settings(central.central.url, **extra),
            load_translations(Language(str(extra.get("language", "nb")))),
            trigger_name=f"trygg-desk-{trigger_user or uuid4().hex[:12]}",
            backoff=Backoff(initial_s=0.05, maximum_s=0.2),
            player=self.player,
            tray=tray,
            clock=self.clock,
        )
        self.app.start()

    def wait(self, predicate: Callable[[], object], what: str) -> None:
        def check() -> None:
            assert predicate(), what

        self.qtbot.waitUntil(check, timeout=WAIT_MS)

    def connected(self) -> None:
        self.wait(lambda: self.app.presence.state is Presence.CONNECTED, "connected")
