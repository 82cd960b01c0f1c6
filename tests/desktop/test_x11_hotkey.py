"""The global hotkey on a real X server (Xvfb): a key typed through the server (XTEST, as a
keyboard would) fires the silent-alarm callback; a combination another program holds is
reported, not silently lost."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import Xlib.display
import Xlib.error
import Xlib.X
import Xlib.XK
from pytestqt.qtbot import QtBot
from Xlib.ext import xtest

from desktop.core.keys import parse_hotkey
from desktop.gui.hotkeys import _x11
from desktop.gui.triggers import X11Hotkeys


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise RuntimeError(f"{tool} is missing: `make test` installs it (apt-get install xvfb)")
    return found


@pytest.fixture
def x_display() -> Iterator[str]:
    xvfb = _require("Xvfb")
    # -displayfd: Xvfb picks a free display number and tells us, so parallel runs never clash.
    read, write = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def _type(display: str, *keys: str) -> None:
    """Press ``keys`` together and release them, through the X server like a real keyboard."""
    keyboard = Xlib.display.Display(display)
    try:
        codes = [keyboard.keysym_to_keycode(Xlib.XK.string_to_keysym(k)) for k in keys]
        for code in codes:
            xtest.fake_input(keyboard, Xlib.X.KeyPress, code)
        for code in reversed(codes):
            xtest.fake_input(keyboard, Xlib.X.KeyRelease, code)
        keyboard.sync()
    finally:
        keyboard.close()


def test_hotkey_typed_anywhere_fires_the_callback(
    qtbot: QtBot, x_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", x_display)
    fired: list[str] = []
    hotkeys = X11Hotkeys(Xlib)
    try:
        assert hotkeys.register(parse_hotkey("Ctrl+Shift+F12"), lambda: fired.append("silent"))
        _type(x_display, "Control_L", "Shift_L", "F11")  # another combination: not ours
        _type(x_display, "Control_L", "Shift_L", "F12")
        qtbot.waitUntil(lambda: fired == ["silent"], timeout=5000)
    finally:
        hotkeys.close()


@pytest.mark.usefixtures("qtbot")  # a QApplication for the backend's QObject
def test_a_combination_held_by_another_program_is_refused(
    x_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", x_display)
    other = Xlib.display.Display(x_display)  # another client grabs Ctrl+Shift+F12 first
    keycode = other.keysym_to_keycode(Xlib.XK.string_to_keysym("F12"))
    other.screen().root.grab_key(
        keycode,
        Xlib.X.ControlMask | Xlib.X.ShiftMask,
        True,
        Xlib.X.GrabModeAsync,
        Xlib.X.GrabModeAsync,
    )
    other.sync()
    hotkeys = X11Hotkeys(Xlib)
    try:
        assert hotkeys.register(parse_hotkey("Ctrl+Shift+F12"), lambda: None) is False
        assert hotkeys.register(parse_hotkey("Ctrl+Shift+F10"), lambda: None) is True
    finally:
        hotkeys.close()
        other.close()


@pytest.mark.usefixtures("qtbot")  # a QApplication for the backend's QObject
def test_the_factorys_display_is_locked_for_its_two_threads(
    x_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """X11Hotkeys reads events on its own thread while register() and close() run on Qt's:
    the factory makes python-xlib thread-safe first (Xlib.threaded), so the Display it makes
    has real locks, not python-xlib's do-nothing ones."""
    from Xlib.support.lock import _DummyLock

    monkeypatch.setenv("DISPLAY", x_display)
    hotkeys = _x11()
    try:
        assert isinstance(hotkeys, X11Hotkeys), hotkeys
        wire = hotkeys._display.display  # python-xlib's protocol-level Display
        for name in ("send_recv_lock", "request_queue_lock", "event_queue_write_lock"):
            assert not isinstance(getattr(wire, name), _DummyLock), name
        assert hotkeys.register(parse_hotkey("Ctrl+Shift+F9"), lambda: None)
    finally:
        hotkeys.close()
