"""Keeping alarm windows out of screen sharing (desktop/gui/capture.py), as far as it runs
here: which mechanism each platform gets; that the Windows and macOS guards call their OS
with the right window and the right values (the OS's functions passed in as the guard's
function table, as ctypes makes them there); that the desk covers every alarm window, the
silent alarm's quiet boxes and every other window naming a person, a room or an alarm; and
that on a platform without exclusion the log says so once."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.client import AnnounceRefused
from desktop.config import DeskSettings, Language
from desktop.core import AnnouncementEvent, Backoff, Presence, TriggerSource
from desktop.core.reports import ReportEvent
from desktop.core.standby import StandbyEvent
from desktop.gui.app import DeskApp
from desktop.gui.capture import (
    NS_CAN_JOIN_ALL_SPACES,
    NS_FULL_SCREEN_AUXILIARY,
    NS_WINDOW_SHARING_NONE,
    WDA_EXCLUDEFROMCAPTURE,
    WDA_MONITOR,
    AffinityApi,
    CaptureKind,
    MacScreenShareGuard,
    NoScreenShareGuard,
    ObjcApi,
    ScreenShareShield,
    WindowsScreenShareGuard,
    capture_backend_for,
    choose_screen_share_guard,
)
from desktop.i18n import load_translations
from tests.desktop.desk_app import WAIT_MS
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import TOKEN, CentralThread, Clock, RecordingPlayer
from tests.desktop.test_core_announcements import EVACUATE, LOCKDOWN
from tests.desktop.test_core_reports import ASK, FILED
from tests.desktop.test_core_standby import FRAME as STANDBY
from tests.desktop.test_core_visits import NOTICE as VISIT


@pytest.mark.parametrize(
    ("platform", "kind", "says"),
    [
        ("windows", CaptureKind.WINDOWS, None),
        ("cocoa", CaptureKind.MACOS, None),
        ("xcb", CaptureKind.NONE, "X11 lets every program read every window"),
        ("wayland", CaptureKind.NONE, "the compositor captures whatever the user picks"),
        ("offscreen", CaptureKind.NONE, "no screen to share"),
    ],
)
def test_each_platform_gets_its_mechanism_or_a_reason(
    platform: str, kind: CaptureKind, says: str | None
) -> None:
    chosen, reason = capture_backend_for(platform)
    assert chosen is kind
    if says is None:
        assert reason is None
    else:
        assert reason is not None
        assert says in reason


def test_x11_and_wayland_tell_the_colleague_what_to_do() -> None:
    for platform in ("xcb", "wayland"):
        _, reason = capture_backend_for(platform)
        assert reason is not None
        assert reason.startswith("alarm windows cannot be kept out of screen sharing here")
        assert "share a single window (the presentation), not the screen" in reason


class User32:
    """SetWindowDisplayAffinity as a Windows of a given age answers it."""

    def __init__(self, *, knows_exclude: bool = True, knows_monitor: bool = True) -> None:
        self.known = {WDA_EXCLUDEFROMCAPTURE} if knows_exclude else set()
        if knows_monitor:
            self.known.add(WDA_MONITOR)
        self.calls: list[tuple[int, int]] = []

    def api(self) -> AffinityApi:
        return AffinityApi(self.set_display_affinity, lambda: 87)  # ERROR_INVALID_PARAMETER

    def set_display_affinity(self, hwnd: int, affinity: int) -> bool:
        self.calls.append((hwnd, affinity))
        return affinity in self.known


@pytest.fixture
def window(qtbot: QtBot) -> QWidget:
    made = QWidget()
    qtbot.addWidget(made)
    return made


def test_windows_excludes_the_window_by_its_hwnd(window: QWidget) -> None:
    user32 = User32()
    assert WindowsScreenShareGuard(user32.api()).protect(window)
    assert user32.calls == [(int(window.winId()), 0x11)]


def test_windows_before_2004_blacks_the_window_out_instead(
    window: QWidget, caplog: pytest.LogCaptureFixture
) -> None:
    user32 = User32(knows_exclude=False)
    guard = WindowsScreenShareGuard(user32.api())
    assert guard.protect(window)
    assert guard.protect(window)
    hwnd = int(window.winId())
    assert user32.calls == [(hwnd, 0x11), (hwnd, 0x01)] * 2
    said = [r.message for r in caplog.records if "black rectangles" in r.message]
    assert len(said) == 1  # once, not per window


def test_windows_that_refuses_both_is_reported(
    window: QWidget, caplog: pytest.LogCaptureFixture
) -> None:
    user32 = User32(knows_exclude=False, knows_monitor=False)
    assert not WindowsScreenShareGuard(user32.api()).protect(window)
    assert "could not keep an alarm window out of screen sharing (Windows error 87)" in (
        caplog.text
    )


class ObjcRuntime:
    """objc_msgSend as Cocoa answers it: an NSView knows its NSWindow (or nil before one is
    made); the NSWindow keeps its sharing type and collection behaviour."""

    NS_WINDOW = 0x6000_0000_1230

    def __init__(self, *, has_window: bool = True, behaviour: int = 0x80) -> None:
        self.has_window = has_window
        self.behaviour = behaviour
        self.sharing_type = 1  # NSWindowSharingReadOnly, the default
        self.sent: list[tuple[int, str, tuple[int, ...]]] = []

    def api(self) -> ObjcApi:
        return ObjcApi(self.send)

    def send(self, receiver: int, selector: str, args: tuple[int, ...]) -> int:
        self.sent.append((receiver, selector, args))
        if selector == "window":
            return self.NS_WINDOW if self.has_window else 0
        assert receiver == self.NS_WINDOW, "a message for the NSWindow sent elsewhere"
        if selector == "setSharingType:":
            (self.sharing_type,) = args
        elif selector == "collectionBehavior":
            return self.behaviour
        elif selector == "setCollectionBehavior:":
            (self.behaviour,) = args
        return 0


def test_mac_sets_sharing_none_on_the_views_window_and_joins_full_screen_spaces(
    window: QWidget,
) -> None:
    objc = ObjcRuntime()
    assert MacScreenShareGuard(objc.api()).protect(window)
    assert objc.sent[0] == (int(window.winId()), "window", ())
    assert objc.sharing_type == NS_WINDOW_SHARING_NONE == 0
    # The behaviour it had is kept; every Space and full-screen Spaces are added.
    assert objc.behaviour == 0x80 | NS_CAN_JOIN_ALL_SPACES | NS_FULL_SCREEN_AUXILIARY
    assert (NS_CAN_JOIN_ALL_SPACES, NS_FULL_SCREEN_AUXILIARY) == (1, 256)


def test_mac_without_an_nswindow_yet_says_it_did_not(window: QWidget) -> None:
    objc = ObjcRuntime(has_window=False)
    assert not MacScreenShareGuard(objc.api()).protect(window)
    assert [selector for _, selector, _ in objc.sent] == ["window"]


@pytest.mark.usefixtures("qtbot")
def test_offscreen_gets_no_guard_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    guard = choose_screen_share_guard()  # these tests run on Qt's offscreen platform
    assert isinstance(guard, NoScreenShareGuard)
    first, second = QWidget(), QWidget()
    assert not guard.protect(first)
    assert not guard.protect(second)
    said = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in said] == ["no screen to share on Qt's 'offscreen' platform"]


def test_the_shield_protects_on_show_and_on_a_new_native_window(qtbot: QtBot) -> None:
    user32 = User32()
    shield = ScreenShareShield(WindowsScreenShareGuard(user32.api()))
    window = QWidget()
    qtbot.addWidget(window)
    shield.cover(window)
    assert user32.calls == []  # not shown: nothing to protect yet
    window.show()
    qtbot.waitExposed(window)
    assert user32.calls
    assert {hwnd for hwnd, _ in user32.calls} == {int(window.winId())}
    before = len(user32.calls)
    window.destroy()  # what some window-flag changes do: a new native window is made
    window.show()
    qtbot.waitExposed(window)
    assert len(user32.calls) > before
    assert user32.calls[-1] == (int(window.winId()), WDA_EXCLUDEFROMCAPTURE)


@pytest.fixture
def desk_and_user32(qtbot: QtBot, central: CentralThread) -> Iterator[tuple[DeskApp, User32]]:
    user32 = User32()
    settings = DeskSettings.model_validate(
        {
            "server": central.central.url,
            "token": SecretStr(TOKEN),
            "location": {"site": "oslo-sentrum", "room": "Kontor 3.12"},
        }
    )
    app = DeskApp(
        settings,
        load_translations(Language.NB),
        trigger_name=f"trygg-desk-capture-{id(user32)}",
        backoff=Backoff(initial_s=0.05, maximum_s=0.2),
        player=RecordingPlayer(),
        screen_share=lambda: WindowsScreenShareGuard(user32.api()),
        clock=Clock(),
    )
    app.start()
    qtbot.waitUntil(lambda: app.presence.state is Presence.CONNECTED, timeout=WAIT_MS)
    yield app, user32
    app.stop()


def test_the_desk_covers_every_alarm_window_and_the_silent_alarms_countdown(
    qtbot: QtBot, central: CentralThread, desk_and_user32: tuple[DeskApp, User32]
) -> None:
    desk, user32 = desk_and_user32
    first, second = make_alarm(), make_alarm(room="Møterom 102")
    for alarm in (first, second):
        central.run(central.central.raise_alarm(alarm))
    qtbot.waitUntil(lambda: len(desk.windows) == 2, timeout=WAIT_MS)
    for alarm in (first, second):
        hwnd = int(desk.windows[alarm.alarm_id].winId())
        assert (hwnd, WDA_EXCLUDEFROMCAPTURE) in user32.calls

    desk.trigger_silent(TriggerSource.HOTKEY)
    assert desk.countdown.isVisible()
    assert (int(desk.countdown.winId()), WDA_EXCLUDEFROMCAPTURE) in user32.calls


def test_the_desk_covers_every_window_that_names_a_person_a_room_or_an_alarm(
    qtbot: QtBot, desk_and_user32: tuple[DeskApp, User32]
) -> None:
    """The visit, standby and report notices, evacuation and lockdown windows and the menu's
    announce boxes: each asked out of captures by its own window handle when it shows."""
    desk, user32 = desk_and_user32

    def covered(window: QWidget, what: str) -> None:
        qtbot.waitUntil(window.isVisible, timeout=WAIT_MS)
        assert (int(window.winId()), WDA_EXCLUDEFROMCAPTURE) in user32.calls, what

    desk.on_event(VISIT)  # "Kari Nordmann has not checked out of the home visit (Storgata 1…"
    covered(desk.visit_notices[VISIT.visit_id], "the overdue visit")
    desk.on_event(StandbyEvent(STANDBY))  # "Anne Ansatt asks you to stand by… Møterom 101"
    covered(desk.standby_notices[STANDBY.meeting_id], "the standby request")
    desk.on_event(ReportEvent(ASK))  # "The alarm in Møterom 101 at …"
    covered(desk.report_notices[ASK.alarm_id], "the report ask")
    desk.on_event(ReportEvent(FILED))
    covered(desk.report_notices[FILED.report_id], "the new report")
    for shown in (EVACUATE, LOCKDOWN):
        desk.on_event(AnnouncementEvent(shown, (shown,)))
        covered(desk.announcement_windows[shown.site], f"the {shown.kind} window")
    desk.confirm_announce("lockdown")  # "Lock down for the whole of oslo-sentrum?"
    assert desk.announce_confirm is not None
    covered(desk.announce_confirm, "the menu's confirm box")
    desk.on_event(AnnounceRefused(site="oslo-sentrum", reason="forbidden"))
    assert desk.announce_refused is not None
    covered(desk.announce_refused, "central's refusal")
    # Only the connection state is left uncovered: it names nobody and nothing.
    assert not any(hwnd == int(desk.view.banner.winId()) for hwnd, _ in user32.calls)
