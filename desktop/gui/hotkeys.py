"""The silent alarm's global hotkey through each platform's own API, behind one interface
(:class:`desktop.gui.triggers.HotkeyBackend`), picked by Qt's platform in one factory.

- Windows: ``RegisterHotKey`` with no window, so Windows posts ``WM_HOTKEY`` to the GUI
  thread's message queue; Qt's event dispatcher hands every message it takes from that queue
  to native event filters first, where :class:`WindowsHotkeys` picks out its own.
- macOS: Carbon's ``RegisterEventHotKey`` (still the API for global hotkeys, and one that needs
  no Accessibility permission) with an event handler on the application's event target.
- X11: a passive grab on the root window (:class:`desktop.gui.triggers.X11Hotkeys`), with
  python-xlib made thread-safe (``Xlib.threaded``) first: its event thread and Qt's thread
  share one Display.
- Wayland, offscreen: none; :class:`desktop.gui.triggers.NoGlobalHotkeys` says what to do.

Each OS backend takes its OS calls as a small table of plain functions (:class:`Win32Api`,
:class:`CarbonApi`) made by ctypes on that OS. The numbers come from the pure
:mod:`desktop.core.keycodes`; what is left here is bookkeeping (hotkey ids, callbacks) and
the hand-over to Qt's thread, which tests on any OS check by passing their own table. The
ctypes tables themselves run only on their OS: written for Windows and macOS, not run on the
Linux machine the tests run on (docs/desk.md says which parts ran where).

A hotkey never fires its callback from inside the OS's callback: it is queued onto Qt's event
loop, so a slow callback cannot stall the OS's message handling.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable
from ctypes import wintypes
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import (
    QAbstractNativeEventFilter,
    QByteArray,
    QCoreApplication,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QGuiApplication

from desktop.core import Hotkey
from desktop.core.keycodes import (
    HOTKEY_SIGNATURE,
    K_EVENT_CLASS_KEYBOARD,
    K_EVENT_HOT_KEY_PRESSED,
    K_EVENT_PARAM_DIRECT_OBJECT,
    TYPE_EVENT_HOT_KEY_ID,
    WM_HOTKEY,
    mac_hotkey,
    windows_hotkey,
)
from desktop.gui.triggers import HotkeyBackend, NoGlobalHotkeys, X11Hotkeys

log = logging.getLogger(__name__)

WINDOWS_MESSAGE = b"windows_generic_MSG"  # Qt's eventType for a Windows MSG
BIND_IT_YOURSELF = (
    "bind `trygg-desk silent-alarm` (and `trygg-desk focus-alarm`) to keys in the desktop's "
    "own keyboard-shortcut settings; the tray menu's Silent alarm works as well"
)
WAYLAND = (
    "Wayland lets no program grab keys for itself (the GlobalShortcuts portal could, where "
    "the desktop offers it, but Trygg does not use it yet): " + BIND_IT_YOURSELF
)


class HotkeyKind(StrEnum):
    WINDOWS = "windows"
    MACOS = "macos"
    X11 = "x11"
    NONE = "none"


def hotkey_backend_for(platform_name: str) -> tuple[HotkeyKind, str | None]:
    """Which backend Qt's platform plugin calls for, or none and why."""
    if platform_name == "windows":
        return HotkeyKind.WINDOWS, None
    if platform_name == "cocoa":
        return HotkeyKind.MACOS, None
    if platform_name == "xcb":
        return HotkeyKind.X11, None
    if platform_name.startswith("wayland"):
        return HotkeyKind.NONE, WAYLAND
    if platform_name in ("offscreen", "minimal"):
        return HotkeyKind.NONE, f"no keyboard on Qt's '{platform_name}' platform"
    return HotkeyKind.NONE, f"no global hotkeys on Qt's '{platform_name}' platform: " + (
        BIND_IT_YOURSELF
    )


# -- Windows ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Win32Api:
    """user32's hotkey calls for the calling thread (no window): ``register(id, modifiers,
    vk)``, ``unregister(id)``, and the thread's last error for the log."""

    register: Callable[[int, int, int], bool]
    unregister: Callable[[int], bool]
    last_error: Callable[[], int]


def win32_api() -> Win32Api:
    if sys.platform != "win32":
        raise OSError("RegisterHotKey is a Windows API")
    user32 = ctypes.WinDLL("user32", use_last_error=True)
    register = user32.RegisterHotKey
    register.argtypes = [wintypes.HWND, ctypes.c_int, wintypes.UINT, wintypes.UINT]
    register.restype = wintypes.BOOL
    unregister = user32.UnregisterHotKey
    unregister.argtypes = [wintypes.HWND, ctypes.c_int]
    unregister.restype = wintypes.BOOL
    return Win32Api(
        register=lambda ident, modifiers, vk: bool(register(None, ident, modifiers, vk)),
        unregister=lambda ident: bool(unregister(None, ident)),
        last_error=ctypes.get_last_error,
    )


def _event_type(event_type: QByteArray | bytes | bytearray | memoryview) -> bytes:
    return bytes(event_type.data() if isinstance(event_type, QByteArray) else event_type)


class WindowsHotkeys(QAbstractNativeEventFilter):
    """``RegisterHotKey`` on the GUI thread; ``WM_HOTKEY`` picked out of Qt's native events."""

    def __init__(self, api: Win32Api, app: QCoreApplication) -> None:
        super().__init__()
        self.unavailable_reason: str | None = None
        self._api = api
        self._app = app
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._next_id = 1  # ids of an application's hotkeys: 0x0000-0xBFFF
        app.installNativeEventFilter(self)

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> bool:
        codes = windows_hotkey(hotkey)
        if codes is None:
            log.warning("no Windows key for %s", hotkey)
            return False
        ident = self._next_id
        self._next_id += 1
        if not self._api.register(ident, codes.modifiers, codes.vk):
            error = self._api.last_error()
            log.warning("%s is already taken by another program (Windows error %d)", hotkey, error)
            return False
        self._callbacks[ident] = callback
        log.info("global hotkey %s registered", hotkey)
        return True

    def nativeEventFilter(
        self, eventType: QByteArray | bytes | bytearray | memoryview, message: int, /
    ) -> object:
        if _event_type(eventType) != WINDOWS_MESSAGE:
            return False, 0  # another platform's event: never read it as a MSG
        msg = wintypes.MSG.from_address(int(message))
        if msg.message != WM_HOTKEY:
            return False, 0
        callback = self._callbacks.get(int(msg.wParam))
        if callback is None:
            return False, 0
        QTimer.singleShot(0, callback)
        return True, 0

    def close(self) -> None:
        for ident in list(self._callbacks):
            self._api.unregister(ident)
        self._callbacks.clear()
        self._app.removeNativeEventFilter(self)


# -- macOS ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CarbonApi:
    """Carbon's hotkey calls: ``install_handler(on_pressed)`` once (``on_pressed`` gets the id
    of our hotkey pressed), ``register(key_code, modifiers, id)`` giving a handle or None,
    ``unregister(handle)``."""

    install_handler: Callable[[Callable[[int], None]], bool]
    register: Callable[[int, int, int], object | None]
    unregister: Callable[[object], None]


class _EventHotKeyID(ctypes.Structure):
    _fields_ = (("signature", ctypes.c_uint32), ("id", ctypes.c_uint32))


class _EventTypeSpec(ctypes.Structure):
    _fields_ = (("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32))


EVENT_NOT_HANDLED = -9874  # eventNotHandledErr: let other handlers see it


def carbon_api() -> CarbonApi:
    if sys.platform != "darwin":
        raise OSError("RegisterEventHotKey is a macOS API")
    import ctypes.util

    carbon = ctypes.CDLL(
        ctypes.util.find_library("Carbon") or "/System/Library/Frameworks/Carbon.framework/Carbon"
    )
    handler_type = ctypes.CFUNCTYPE(
        ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    carbon.GetApplicationEventTarget.restype = ctypes.c_void_p
    carbon.GetApplicationEventTarget.argtypes = []
    carbon.InstallEventHandler.restype = ctypes.c_int32
    carbon.InstallEventHandler.argtypes = [
        ctypes.c_void_p,
        handler_type,
        ctypes.c_ulong,
        ctypes.POINTER(_EventTypeSpec),
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_void_p),
    ]
    carbon.RegisterEventHotKey.restype = ctypes.c_int32
    carbon.RegisterEventHotKey.argtypes = [
        ctypes.c_uint32,
        ctypes.c_uint32,
        _EventHotKeyID,
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.POINTER(ctypes.c_void_p),
    ]
    carbon.UnregisterEventHotKey.restype = ctypes.c_int32
    carbon.UnregisterEventHotKey.argtypes = [ctypes.c_void_p]
    carbon.GetEventParameter.restype = ctypes.c_int32
    carbon.GetEventParameter.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_uint32,
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    alive: list[object] = []  # the C callback and its spec must outlive the handler

    def install_handler(on_pressed: Callable[[int], None]) -> bool:
        def handler(_call: int | None, event: int | None, _data: int | None) -> int:
            found = _EventHotKeyID()
            status = carbon.GetEventParameter(
                event,
                K_EVENT_PARAM_DIRECT_OBJECT,
                TYPE_EVENT_HOT_KEY_ID,
                None,
                ctypes.sizeof(found),
                None,
                ctypes.byref(found),
            )
            if status != 0 or found.signature != HOTKEY_SIGNATURE:
                return EVENT_NOT_HANDLED
            on_pressed(int(found.id))
            return 0

        callback = handler_type(handler)
        spec = _EventTypeSpec(K_EVENT_CLASS_KEYBOARD, K_EVENT_HOT_KEY_PRESSED)
        alive.extend((callback, spec))
        ref = ctypes.c_void_p()
        target = carbon.GetApplicationEventTarget()
        status = carbon.InstallEventHandler(
            target, callback, 1, ctypes.byref(spec), None, ctypes.byref(ref)
        )
        return int(status) == 0

    def register(key_code: int, modifiers: int, ident: int) -> object | None:
        ref = ctypes.c_void_p()
        status = carbon.RegisterEventHotKey(
            key_code,
            modifiers,
            _EventHotKeyID(HOTKEY_SIGNATURE, ident),
            carbon.GetApplicationEventTarget(),
            0,
            ctypes.byref(ref),
        )
        return ref if int(status) == 0 else None

    def unregister(handle: object) -> None:
        carbon.UnregisterEventHotKey(handle)

    return CarbonApi(install_handler, register, unregister)


class MacHotkeys(QObject):
    """``RegisterEventHotKey``; Carbon calls our handler, which queues the press onto Qt."""

    _pressed = Signal(int)  # our hotkey id

    def __init__(self, api: CarbonApi) -> None:
        super().__init__()
        self._api = api
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._handles: dict[int, object] = {}
        self._next_id = 1
        self._pressed.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self.unavailable_reason: str | None = None
        if not api.install_handler(self._pressed.emit):
            self.unavailable_reason = "Carbon did not take the hotkey event handler"

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> bool:
        if self.unavailable_reason is not None:
            log.warning("global hotkey %s not available: %s", hotkey, self.unavailable_reason)
            return False
        codes = mac_hotkey(hotkey)
        if codes is None:
            log.warning("no Mac key for %s (Macs have F1-F20)", hotkey)
            return False
        ident = self._next_id
        self._next_id += 1
        handle = self._api.register(codes.key_code, codes.modifiers, ident)
        if handle is None:
            log.warning("%s could not be registered (another program may hold it)", hotkey)
            return False
        self._callbacks[ident] = callback
        self._handles[ident] = handle
        log.info("global hotkey %s registered", hotkey)
        return True

    def _dispatch(self, ident: int) -> None:
        callback = self._callbacks.get(ident)
        if callback is not None:
            callback()

    def close(self) -> None:
        for handle in self._handles.values():
            self._api.unregister(handle)
        self._handles.clear()
        self._callbacks.clear()


# -- the factory ------------------------------------------------------------------------------
def _x11() -> HotkeyBackend:
    try:
        # Xlib.threaded before X11Hotkeys makes its Display: python-xlib locks a Display's
        # request and event queues only when it has been imported, and X11Hotkeys reads events
        # on a thread of its own while register() and close() use the same Display from Qt's.
        import Xlib.display
        import Xlib.error
        import Xlib.threaded
        import Xlib.X
        import Xlib.XK
    except ImportError:
        return NoGlobalHotkeys("python-xlib is not installed")
    return X11Hotkeys(Xlib)


def choose_hotkeys() -> HotkeyBackend:
    """The backend for the platform this QGuiApplication runs on."""
    kind, reason = hotkey_backend_for(QGuiApplication.platformName())
    try:
        if kind is HotkeyKind.WINDOWS:
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("no QApplication yet")
            return WindowsHotkeys(win32_api(), app)
        if kind is HotkeyKind.MACOS:
            return MacHotkeys(carbon_api())
        if kind is HotkeyKind.X11:
            return _x11()
    except Exception as exc:  # an OS that refuses us must not stop alarms from showing
        return NoGlobalHotkeys(f"the {kind} hotkey backend failed to start ({exc})")
    return NoGlobalHotkeys(reason or "no global hotkey backend")
