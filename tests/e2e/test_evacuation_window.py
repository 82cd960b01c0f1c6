"""Evacuation on the real desk window (issue 11, item 4): full screen above everything with the
site's routine until all clear, on a desk that was connected and on one that connects
mid-evacuation; the tray menu's "All clear…" (confirmed) ends it everywhere, and is accepted
with nothing on too; a role that may not announce is told so. A real ``trygg-central`` and
Mosquitto; Qt offscreen, driven with pytest-qt.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything creates the QApplication

import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import shiboken6
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from tests.e2e.gui_support import WindowDesk
from tests.support.broker import Broker
from tests.support.stack import SITE, Central

USERS = {"kari": "Kari Nordmann", "ola": "Ola Hansen", "lise": "Lise Berg"}
ROUTINE = Path(__file__).resolve().parents[2] / "routines" / "evacuation.toml"


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[Central]:
    made = Central(broker, tmp_path, USERS, roles={"lise": ("employee",)})
    made.start()
    try:
        yield made
    finally:
        made.stop()


def evacuation_routine() -> dict[str, object]:
    with ROUTINE.open("rb") as file:
        return dict(tomllib.load(file)["evacuate"])


def test_the_window_shows_an_evacuation_full_screen_until_all_clear_from_the_menu(
    qtbot: QtBot, central: Central
) -> None:
    kari = WindowDesk(qtbot, central, "kari")
    kari.start()
    ola: WindowDesk | None = None
    lise: WindowDesk | None = None
    try:
        kari.wait_connected()
        answer = httpx.post(
            f"{central.url}/api/announcements",
            json={"site": SITE, "kind": "evacuate"},
            headers={"Authorization": f"Bearer {central.tokens['ola']}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        kari.wait(lambda: SITE in kari.app.announcement_windows, "kari: the evacuation window")
        window = kari.app.announcement_windows[SITE]
        kari.wait(window.isVisible, "kari: the evacuation window visible")
        assert window.isFullScreen()
        routine = evacuation_routine()
        assert window.title.text() == routine["title"]["nb"]  # type: ignore[index]
        steps = routine["steps"]["nb"]  # type: ignore[index]
        assert window.steps.text().splitlines()[0] == f"1. {steps[0]}"
        assert "Ola Hansen" in window.who.text()
        assert window.where.text() == f"Site {SITE}"
        window.close()  # only all clear closes it
        assert window.isVisible()

        # A desk that connects mid-evacuation shows it at once.
        ola = WindowDesk(qtbot, central, "ola")
        ola.start()
        ola.wait(lambda: SITE in ola.app.announcement_windows, "ola: the evacuation window")
        ola.wait(ola.app.announcement_windows[SITE].isVisible, "ola: visible")

        # Kari's menu: "Evacuate…" cancelled sends nothing; "All clear…" confirmed ends it.
        kari.app.view.announce_actions["evacuate"].trigger()
        box = kari.app.announce_confirm
        assert box is not None
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Cancel).click()
        kari.wait(lambda: kari.app.announce_confirm is None, "kari: confirm closed")
        kari.app.view.announce_actions["all_clear"].trigger()
        box = kari.app.announce_confirm
        assert box is not None
        box.button(QMessageBox.StandardButton.Yes).click()
        kari.wait(lambda: not kari.app.announcement_windows, "kari: all clear closes it")
        ola.wait(lambda: not ola.app.announcement_windows, "ola: all clear closes it")
        assert not shiboken6.isValid(window) or not window.isVisible()  # closed, then deleted
        # "All clear" with nothing on is accepted (it ends whatever may still show out there).
        kari.app.view.announce_actions["all_clear"].trigger()
        box = kari.app.announce_confirm
        assert box is not None
        box.button(QMessageBox.StandardButton.Yes).click()

        def history() -> list[tuple[str, str, str]]:
            answer = httpx.get(
                f"{central.url}/api/announcements",
                headers={"Authorization": f"Bearer {central.tokens['kari']}"},
                timeout=10,
            )
            return [(a["kind"], a["by"], a["origin"]) for a in answer.json()["history"]]

        kari.wait(lambda: len(history()) == 3, "kari: the second all clear recorded")
        assert history() == [
            ("all_clear", "kari", "desk"),
            ("all_clear", "kari", "desk"),
            ("evacuate", "ola", "console"),
        ]
        assert kari.app.announce_refused is None
        # Central's "no" is told to the user: an employee may not announce.
        lise = WindowDesk(qtbot, central, "lise")
        lise.start()
        lise.wait_connected()
        lise.app.view.announce_actions["evacuate"].trigger()
        box = lise.app.announce_confirm
        assert box is not None
        box.button(QMessageBox.StandardButton.Yes).click()
        lise.wait(lambda: lise.app.announce_refused is not None, "lise: told it was refused")
        refused = lise.app.announce_refused
        assert refused is not None
        assert refused.text() == (
            "Sentralen varslet det ikke: rollen din kan ikke varsle evakuering eller innelåsing."
        )
        assert len(history()) == 3
    finally:
        for desk in (lise, ola):
            if desk is not None:
                desk.stop()
        kari.stop()
