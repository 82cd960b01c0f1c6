"""Keeping alarm windows out of screen sharing, where the platform allows it.

Colleagues share their screens with clients in video meetings. An alarm window saying "ACUTE
ALARM, Møterom 101" must reach the colleague but never the client watching the shared screen,
so every window that names a person, a room or an alarm (the alarm window, the silent alarm's
quiet boxes, the visit, standby, incident-report and routines notices, evacuation and lockdown
and the menu's boxes for them; desktop/gui/app.py covers each where it makes it) is marked for
the OS's capture exclusion before it is first drawn, and again whenever Qt makes a new native
window for it. The connection banner and status window are not: they say only whether alarms arrive.

- Windows 10 2004 and later: ``SetWindowDisplayAffinity(hwnd, WDA_EXCLUDEFROMCAPTURE)``: the
  window is left out of every capture (the meeting app sees what is behind it). Older Windows
  knows only ``WDA_MONITOR``: the window is captured as a black rectangle, which still hides
  the words.
- macOS: ``[NSWindow setSharingType:NSWindowSharingNone]`` through the Objective-C runtime
  (no pyobjc). macOS 15 is reported to ignore it for ScreenCaptureKit captures, which newer
  meeting apps use; nothing a program can do about that. On macOS the same call site also
  lets the window join every Space and show over another app's full-screen Space.
- X11: every program may read every window; Wayland: the compositor captures what the user
  picks. Neither lets a program exclude its window: the desk says so once in its log, and
  docs/desk.md tells colleagues to share one window (the presentation), not the whole screen.

One interface (:class:`ScreenShareGuard`), one factory picking by Qt's platform. The OS calls
come as a table of plain functions made by ctypes on that OS (:class:`AffinityApi`,
:class:`ObjcApi`); a test on any OS passes its own table to see that the right calls are made
with the right arguments. The ctypes tables run only on their OS (written, not run on the
Linux machine the tests run on).
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

WDA_MONITOR = 0x01
WDA_EXCLUDEFROMCAPTURE = 0x11
NS_WINDOW_SHARING_NONE = 0
NS_CAN_JOIN_ALL_SPACES = 1 << 0  # NSWindowCollectionBehaviorCanJoinAllSpaces
NS_FULL_SCREEN_AUXILIARY = 1 << 8  # NSWindowCollectionBehaviorFullScreenAuxiliary

SHARE_ONE_WINDOW = "in video meetings, share a single window (the presentation), not the screen"


class CaptureKind(StrEnum):
    WINDOWS = "windows"
    MACOS = "macos"
    NONE = "none"


def capture_backend_for(platform_name: str) -> tuple[CaptureKind, str | None]:
    """Which exclusion Qt's platform allows, or none and why (said once in the log)."""
    if platform_name == "windows":
        return CaptureKind.WINDOWS, None
    if platform_name == "cocoa":
        return CaptureKind.MACOS, None
    if platform_name == "xcb":
        reason = "X11 lets every program read every window"
    elif platform_name.startswith("wayland"):
        reason = "on Wayland the compositor captures whatever the user picks to share"
    elif platform_name in ("offscreen", "minimal"):
        return CaptureKind.NONE, f"no screen to share on Qt's '{platform_name}' platform"
    else:
        reason = f"Qt's '{platform_name}' platform offers no capture exclusion"
    return CaptureKind.NONE, (
        f"alarm windows cannot be kept out of screen sharing here: {reason}; {SHARE_ONE_WINDOW}"
    )


class ScreenShareGuard(Protocol):
    unavailable_reason: str | None

    def protect(self, window: QWidget) -> bool:
        """Keep ``window`` out of screen captures; False where that did not work."""
        ...


class NoScreenShareGuard:
    def __init__(self, reason: str) -> None:
        self.unavailable_reason: str | None = reason
        self._said = False

    def protect(self, _window: QWidget) -> bool:
        if not self._said:
            self._said = True
            log.warning("%s", self.unavailable_reason)
        return False


# -- Windows ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AffinityApi:
    """user32's ``SetWindowDisplayAffinity(hwnd, affinity)`` and the thread's last error."""

    set_display_affinity: Callable[[int, int], bool]
    last_error: Callable[[], int]


def win32_affinity_api() -> AffinityApi:
    if sys.platform != "win32":
        raise OSError("SetWindowDisplayAffinity is a Windows API")
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)
    set_affinity = user32.SetWindowDisplayAffinity
    set_affinity.argtypes = [wintypes.HWND, wintypes.DWORD]
    set_affinity.restype = wintypes.BOOL
    return AffinityApi(
        set_display_affinity=lambda hwnd, affinity: bool(set_affinity(hwnd, affinity)),
        last_error=ctypes.get_last_error,
    )


class WindowsScreenShareGuard:
    def __init__(self, api: AffinityApi) -> None:
        self.unavailable_reason: str | None = None
        self._api = api
        self._said_black = False

    def protect(self, window: QWidget) -> bool:
        hwnd = int(window.winId())
        if self._api.set_display_affinity(hwnd, WDA_EXCLUDEFROMCAPTURE):
            return True
        error = self._api.last_error()
        if self._api.set_display_affinity(hwnd, WDA_MONITOR):
            if not self._said_black:
                self._said_black = True
                log.warning(
                    "this Windows cannot leave windows out of captures (error %d): alarm "
                    "windows show as black rectangles in screen sharing instead",
                    error,
                )
            return True
        log.warning(
            "could not keep an alarm window out of screen sharing (Windows error %d); %s",
            self._api.last_error(),
            SHARE_ONE_WINDOW,
        )
        return False


# -- macOS ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ObjcApi:
    """``objc_msgSend(receiver, selector, *args)`` for messages whose arguments are
    NSUInteger and whose result is an object pointer or an NSUInteger (0 for nil)."""

    send: Callable[[int, str, tuple[int, ...]], int]


def objc_api() -> ObjcApi:
    if sys.platform != "darwin":
        raise OSError("the Objective-C runtime is macOS's")
    import ctypes.util

    objc = ctypes.CDLL(ctypes.util.find_library("objc") or "/usr/lib/libobjc.A.dylib")
    objc.sel_registerName.restype = ctypes.c_void_p
    objc.sel_registerName.argtypes = [ctypes.c_char_p]
    address = ctypes.cast(objc.objc_msgSend, ctypes.c_void_p).value

    def send(receiver: int, selector: str, args: tuple[int, ...]) -> int:
        # objc_msgSend is called through a prototype of exactly these arguments (on arm64 a
        # variadic call would pass them on the stack, where the method does not look).
        prototype = ctypes.CFUNCTYPE(
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, *([ctypes.c_ulong] * len(args))
        )
        function = prototype(address)
        result = function(receiver, objc.sel_registerName(selector.encode()), *args)
        return int(result or 0)

    return ObjcApi(send)


class MacScreenShareGuard:
    def __init__(self, api: ObjcApi) -> None:
        self.unavailable_reason: str | None = None
        self._api = api

    def protect(self, window: QWidget) -> bool:
        send = self._api.send
        view = int(window.winId())  # Qt's NSView
        ns_window = send(view, "window", ())
        if not ns_window:
            log.warning("no NSWindow yet for an alarm window: not kept out of screen sharing")
            return False
        send(ns_window, "setSharingType:", (NS_WINDOW_SHARING_NONE,))
        # On every Space, and over another app's full-screen Space (a presentation).
        behaviour = send(ns_window, "collectionBehavior", ())
        wanted = behaviour | NS_CAN_JOIN_ALL_SPACES | NS_FULL_SCREEN_AUXILIARY
        send(ns_window, "setCollectionBehavior:", (wanted,))
        return True


# -- the factory and the hook on windows ------------------------------------------------------
def choose_screen_share_guard() -> ScreenShareGuard:
    """The guard for the platform this QGuiApplication runs on."""
    kind, reason = capture_backend_for(QGuiApplication.platformName())
    try:
        if kind is CaptureKind.WINDOWS:
            return WindowsScreenShareGuard(win32_affinity_api())
        if kind is CaptureKind.MACOS:
            return MacScreenShareGuard(objc_api())
    except Exception as exc:  # alarms must show even where the OS refuses us
        return NoScreenShareGuard(f"screen-share exclusion failed to start ({exc})")
    return NoScreenShareGuard(reason or "no screen-share exclusion")


class ScreenShareShield(QObject):
    """Protects each window it is put on when it is shown, and whenever Qt gives it a new
    native window (changing some window flags does): before anything of it is drawn."""

    def __init__(self, guard: ScreenShareGuard) -> None:
        super().__init__()
        self.guard = guard

    def cover(self, window: QWidget) -> None:
        window.installEventFilter(self)
        if window.isVisible():
            self.guard.protect(window)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() in (QEvent.Type.Show, QEvent.Type.WinIdChange)
            and isinstance(watched, QWidget)
            and watched.internalWinId()  # 0 while the native window is being destroyed
        ):
            self.guard.protect(watched)
        return False
