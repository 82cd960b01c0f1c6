"""A facility manager's window client, offscreen, against the fake central: faults are listed
with the connection state and announced once, and never look like an alarm."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from desktop.config import Language
from desktop.gui.fault_texts import describe_kind, fault_line
from desktop.i18n import load_translations
from tests.desktop.desk_app import Desk
from tests.desktop.fake_central import make_fault
from tests.desktop.qt_support import CentralThread

SITE_NAMES = {"oslo-sentrum": "NAV Oslo sentrum"}


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def listed(desk: Desk) -> str:
    view = desk.app.view
    if view.status_window is not None:  # offscreen has no system tray
        label = view.status_window.faults_label
        return label.text() if label.isVisibleTo(view.status_window) else ""
    assert view.tray is not None
    return view.tray.toolTip()


def test_a_fault_is_listed_announced_once_and_goes_when_cleared(
    desk: Desk, central: CentralThread
) -> None:
    announced: list[str] = []
    desk.app.view.fault_announced.connect(announced.append)
    offline = make_fault()  # 09:20, ten minutes before the desk clock: the same day
    central.run(central.central.fault(offline))
    desk.wait(lambda: "Feil (1)" in listed(desk), "the fault listed")
    line = "NAV Oslo sentrum, rom-101: Enheten er frakoblet (siden " + (
        offline.at.astimezone().strftime("%H:%M") + ")"
    )
    assert f"• {line}" in listed(desk)
    assert announced == [line]
    menu = desk.app.view.faults_menu
    assert menu.menuAction().isVisible()
    assert menu.title() == "Feil (1)"
    assert [a.text() for a in menu.actions()] == [line]
    assert menu.actions()[0].toolTip() == "three heartbeats missed"
    assert not menu.actions()[0].isEnabled()
    # Not an alarm: no window, no sound, no red banner.
    assert desk.app.windows == {}
    assert not desk.player.playing
    assert not desk.app.view.banner.isVisible()

    whole_site = make_fault(device="", kind="no_screen", reason="nobody connected")
    central.run(central.central.fault(whole_site))
    desk.wait(lambda: "Feil (2)" in listed(desk), "two faults listed")
    assert "NAV Oslo sentrum: Ingen skjerm tilkoblet – alarmer når ingen" in listed(desk)
    assert len(announced) == 2

    central.run(central.central.fault(offline.model_copy(update={"cleared": True})))
    desk.wait(lambda: "Feil (1)" in listed(desk), "the cleared fault gone")
    assert "rom-101" not in listed(desk)
    assert len(announced) == 2  # clearing is not announced
    central.run(central.central.fault(whole_site.model_copy(update={"cleared": True})))
    desk.wait(lambda: listed(desk) == "", "no faults listed")
    assert not menu.menuAction().isVisible()


def test_open_faults_sent_again_after_a_reconnect_are_not_announced_again(
    desk: Desk, central: CentralThread
) -> None:
    announced: list[str] = []
    desk.app.view.fault_announced.connect(announced.append)
    tamper = make_fault(kind="tamper", reason="lid open")
    offline = make_fault()
    central.run(central.central.fault(tamper))
    central.run(central.central.fault(offline))
    desk.wait(lambda: "Feil (2)" in listed(desk), "two faults listed")
    assert len(announced) == 2

    central.run(central.central.stop())
    desk.wait(lambda: desk.app.presence.state.value != "connected", "the desk to notice")
    del central.central.faults[("oslo-sentrum", "rom-101", "offline")]  # cleared while away
    central.run(central.central.start())
    desk.connected()
    desk.wait(lambda: "Feil (1)" in listed(desk), "only the open fault listed")
    assert "Sabotasje oppdaget" in listed(desk)
    assert "frakoblet" not in listed(desk)
    assert len(announced) == 2


def english() -> gettext.NullTranslations:
    return load_translations(Language.EN)


def test_fault_lines_in_english_and_for_kinds_this_desk_does_not_know() -> None:
    now = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    stuck = make_fault(kind="stuck_input", at=datetime(2024, 4, 30, 8, 5, tzinfo=UTC))
    text = fault_line(stuck, english(), site_names={}, now=now)
    day = stuck.at.astimezone().strftime("%d.%m. %H:%M")  # another day: the date as well
    assert text == f"oslo-sentrum, rom-101: Alarm button stuck (since {day})"
    assert describe_kind("battery_low", english()) == "battery low"
    kinds = ("offline", "sensor_board", "tamper", "device_fault", "no_screen")
    assert [describe_kind(k, english()) for k in kinds] == [
        "Device offline",
        "Sensor board fault",
        "Tampering detected",
        "Device fault",
        "No screen connected – alarms reach nobody",
    ]
