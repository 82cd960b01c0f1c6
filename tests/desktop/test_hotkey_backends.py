"""The hotkey backends' own logic, on any OS: which backend a platform gets, and, for Windows
and macOS, that the OS is asked with the right numbers and that its answer (a ``WM_HOTKEY``
message through Qt's native event filter; a Carbon hotkey event) fires the right callback on
Qt's thread. The OS's functions are passed in as the backends' function tables, as ctypes
would make them on that OS; everything of ours runs for real. (X11 runs against a real X
server in test_x11_hotkey.py.)"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from ctypes import wintypes

import pytest
from PySide6.QtCore import QByteArray, QCoreApplication
from pytestqt.qtbot import QtBot

from desktop.core import parse_hotkey
from desktop.core.keycodes import (
    CONTROL_KEY,
    MOD_CONTROL,
    MOD_NOREPEAT,
    MOD_SHIFT,
    SHIFT_KEY,
    WM_HOTKEY,
)
from desktop.gui.hotkeys import (
    WAYLAND,
    CarbonApi,
    HotkeyKind,
    MacHotkeys,
    Win32Api,
    WindowsHotkeys,
    choose_hotkeys,
    hotkey_backend_for,
)
from desktop.gui.triggers import NoGlobalHotkeys

WM_KEYDOWN = 0x0100


@pytest.mark.parametrize(
    ("platform", "kind"),
    [
        ("windows", HotkeyKind.WINDOWS),
        ("cocoa", HotkeyKind.MACOS),
        ("xcb", HotkeyKind.X11),
        ("wayland", HotkeyKind.NONE),
        ("wayland-egl", HotkeyKind.NONE),
        ("offscreen", HotkeyKind.NONE),
        ("eglfs", HotkeyKind.NONE),
    ],
)
def test_each_platform_gets_its_backend(platform: str, kind: HotkeyKind) -> None:
    chosen, reason = hotkey_backend_for(platform)
    assert chosen is kind
    assert (reason is None) == (kind is not HotkeyKind.NONE)


def test_wayland_says_what_to_do_instead() -> None:
    _, reason = hotkey_backend_for("wayland")
    assert reason == WAYLAND
    assert "trygg-desk silent-alarm" in WAYLAND
    assert "shortcut settings" in WAYLAND
    assert "GlobalShortcuts portal" in WAYLAND


@pytest.mark.usefixtures("qtbot")
def test_offscreen_has_no_global_hotkeys_and_refuses_registration() -> None:
    backend = choose_hotkeys()  # these tests run on Qt's offscreen platform
    assert isinstance(backend, NoGlobalHotkeys)
    assert backend.unavailable_reason == "no keyboard on Qt's 'offscreen' platform"
    assert backend.register(parse_hotkey("Ctrl+Shift+F12"), lambda: None) is False


class User32:
    """What user32 would answer: ids registered per thread; a combination another program
    holds is refused with ERROR_HOTKEY_ALREADY_REGISTERED."""

    def __init__(self, taken: frozenset[tuple[int, int]] = frozenset()) -> None:
        self.taken = taken
        self.registered: dict[int, tuple[int, int]] = {}
        self.error = 0

    def api(self) -> Win32Api:
        return Win32Api(self.register, self.unregister, lambda: self.error)

    def register(self, ident: int, modifiers: int, vk: int) -> bool:
        if (modifiers & ~MOD_NOREPEAT, vk) in self.taken or ident in self.registered:
            self.error = 1409  # ERROR_HOTKEY_ALREADY_REGISTERED
            return False
        self.registered[ident] = (modifiers, vk)
        return True

    def unregister(self, ident: int) -> bool:
        return self.registered.pop(ident, None) is not None


def post(
    backend: WindowsHotkeys, message: int, wparam: int, kind: bytes = b"windows_generic_MSG"
) -> object:
    """Hand the filter a MSG the way Qt's Windows event dispatcher does: by its address."""
    msg = wintypes.MSG()
    msg.message = message
    msg.wParam = wparam
    return backend.nativeEventFilter(QByteArray(kind), ctypes.addressof(msg))


def test_windows_registers_with_the_right_numbers_and_wm_hotkey_fires_on_qts_thread(
    qtbot: QtBot,
) -> None:
    app = QCoreApplication.instance()
    assert app is not None
    user32 = User32()
    backend = WindowsHotkeys(user32.api(), app)
    fired: list[str] = []
    try:
        assert backend.register(parse_hotkey("Ctrl+Shift+F12"), lambda: fired.append("silent"))
        assert backend.register(parse_hotkey("Ctrl+Shift+F11"), lambda: fired.append("focus"))
        assert user32.registered == {
            1: (MOD_CONTROL | MOD_SHIFT | MOD_NOREPEAT, 0x7B),
            2: (MOD_CONTROL | MOD_SHIFT | MOD_NOREPEAT, 0x7A),
        }
        assert post(backend, WM_KEYDOWN, 1) == (False, 0)  # not a hotkey message
        assert post(backend, WM_HOTKEY, 7) == (False, 0)  # not one of ours
        assert post(backend, WM_HOTKEY, 1, kind=b"xcb_generic_event_t") == (False, 0)
        assert post(backend, WM_HOTKEY, 1) == (True, 0)  # ours: taken, not passed on
        assert fired == []  # queued onto Qt's loop, not run inside the OS's message handling
        qtbot.waitUntil(lambda: fired == ["silent"], timeout=2000)
        assert post(backend, WM_HOTKEY, 2) == (True, 0)
        qtbot.waitUntil(lambda: fired == ["silent", "focus"], timeout=2000)
    finally:
        backend.close()
    assert user32.registered == {}  # both given back to Windows


@pytest.mark.usefixtures("qtbot")
def test_windows_reports_a_combination_another_program_holds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = QCoreApplication.instance()
    assert app is not None
    user32 = User32(taken=frozenset({(MOD_CONTROL | MOD_SHIFT, 0x7B)}))
    backend = WindowsHotkeys(user32.api(), app)
    try:
        assert backend.register(parse_hotkey("Ctrl+Shift+F12"), lambda: None) is False
        assert "Ctrl+Shift+F12 is already taken by another program (Windows error 1409)" in (
            caplog.text
        )
        assert backend.register(parse_hotkey("Ctrl+Shift+F10"), lambda: None) is True
    finally:
        backend.close()


class Carbon:
    """What Carbon would do: one handler per application, hotkeys by (key code, modifiers)."""

    def __init__(self, accept_handler: bool = True) -> None:
        self.accept_handler = accept_handler
        self.handler: Callable[[int], None] | None = None
        self.registered: dict[object, tuple[int, int, int]] = {}

    def api(self) -> CarbonApi:
        return CarbonApi(self.install, self.register, self.unregister)

    def install(self, on_pressed: Callable[[int], None]) -> bool:
        if self.accept_handler:
            self.handler = on_pressed
        return self.accept_handler

    def register(self, key_code: int, modifiers: int, ident: int) -> object | None:
        handle = object()
        self.registered[handle] = (key_code, modifiers, ident)
        return handle

    def unregister(self, handle: object) -> None:
        del self.registered[handle]

    def press(self, key_code: int, modifiers: int) -> None:
        """The user presses a registered combination: Carbon calls the handler with its id."""
        for code, mods, ident in self.registered.values():
            if (code, mods) == (key_code, modifiers):
                assert self.handler is not None
                self.handler(ident)


def test_mac_registers_with_carbon_numbers_and_a_press_fires_on_qts_thread(
    qtbot: QtBot,
) -> None:
    carbon = Carbon()
    backend = MacHotkeys(carbon.api())
    fired: list[str] = []
    try:
        assert backend.register(parse_hotkey("Ctrl+Shift+F12"), lambda: fired.append("silent"))
        assert backend.register(parse_hotkey("Ctrl+F24"), lambda: None) is False  # no Mac key
        assert list(carbon.registered.values()) == [(0x6F, CONTROL_KEY | SHIFT_KEY, 1)]
        carbon.press(0x6F, CONTROL_KEY | SHIFT_KEY)
        assert fired == []  # queued
        qtbot.waitUntil(lambda: fired == ["silent"], timeout=2000)
    finally:
        backend.close()
    assert carbon.registered == {}


@pytest.mark.usefixtures("qtbot")
def test_mac_without_the_event_handler_says_so() -> None:
    backend = MacHotkeys(Carbon(accept_handler=False).api())
    assert backend.unavailable_reason == "Carbon did not take the hotkey event handler"
    assert backend.register(parse_hotkey("Ctrl+Shift+F12"), lambda: None) is False
