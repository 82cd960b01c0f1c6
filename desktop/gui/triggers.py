"""Ways to trigger the silent alarm (and to hand the keyboard to the alarm window) from outside
the window: a global hotkey, and a local socket for ``trygg-desk silent-alarm``.

Global hotkeys are an OS matter; every backend answers to one interface,
:class:`HotkeyBackend`, and desktop/gui/hotkeys.py picks one by Qt's platform (Windows,
macOS, X11). :class:`X11Hotkeys` lives here: it grabs the key on the X server's root window
(python-xlib). Where no backend can grab keys (Wayland, offscreen) :class:`NoGlobalHotkeys`
says why, the tray menu's "Silent alarm" still works, and the desktop's own shortcut settings
can bind the key to ``trygg-desk silent-alarm``, which reaches the running client through
:class:`TriggerServer` (a QLocalServer: a Unix socket, or a named pipe on Windows).
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from desktop.core import Hotkey
from desktop.core.keycodes import X_LOCK_COMBINATIONS, X_RELEVANT, x11_hotkey

log = logging.getLogger(__name__)

SILENT_ALARM = "silent-alarm"
FOCUS_ALARM = "focus-alarm"
TRIGGERS = (SILENT_ALARM, FOCUS_ALARM)


def default_server_name() -> str:
    """One client per user session; the socket name says whose."""
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "user"
    return f"trygg-desk-{user}"


class TriggerServer(QObject):
    """Accepts one word per connection: ``silent-alarm`` or ``focus-alarm``."""

    triggered = Signal(str)

    def __init__(self, name: str) -> None:
        super().__init__()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(name)  # a stale socket left by a crashed client
        if not self._server.listen(name):
            log.warning("cannot listen for triggers on %s: %s", name, self._server.errorString())
        self._server.newConnection.connect(self._accept)

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def _accept(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        while socket.canReadLine():
            word = bytes(socket.readLine().data()).decode("utf-8", "replace").strip()
            if word in TRIGGERS:
                socket.write(b"ok\n")
                self.triggered.emit(word)
            else:
                log.warning("ignored unknown trigger %r", word[:40])
                socket.write(b"unknown\n")

    def close(self) -> None:
        self._server.close()


def send_trigger(name: str, word: str, timeout_ms: int = 3000) -> bool:
    """Ask the running client to do ``word``; True once it has acknowledged."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(f"{word}\n".encode())
    socket.flush()
    answered = socket.waitForReadyRead(timeout_ms) and bytes(socket.readAll().data()) == b"ok\n"
    socket.disconnectFromServer()
    return answered


class HotkeyBackend(Protocol):
    unavailable_reason: str | None

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> bool: ...
    def close(self) -> None: ...


class NoGlobalHotkeys:
    def __init__(self, reason: str) -> None:
        self.unavailable_reason: str | None = reason

    def register(self, hotkey: Hotkey, _callback: Callable[[], None]) -> bool:
        log.warning("global hotkey %s not available: %s", hotkey, self.unavailable_reason)
        return False

    def close(self) -> None:
        pass


class X11Hotkeys(QObject):
    """Grabs keys on the root window; a thread waits for them and hands them to Qt's thread."""

    _pressed = Signal(int, int)  # keycode, modifier mask

    def __init__(self, xlib: Any) -> None:
        super().__init__()
        self.unavailable_reason: str | None = None
        self._x, self._xk, self._error = xlib.X, xlib.XK, xlib.error
        self._display = xlib.display.Display()
        self._root = self._display.screen().root
        self._callbacks: dict[tuple[int, int], Callable[[], None]] = {}
        self._pressed.connect(self._dispatch)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._wait, name="x11-hotkeys", daemon=True)
        self._thread.start()

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> bool:
        x = self._x
        wanted = x11_hotkey(hotkey)
        keycode = self._display.keysym_to_keycode(self._xk.string_to_keysym(wanted.keysym))
        if not keycode:
            log.warning("no key on this keyboard for %s", hotkey)
            return False
        mask = wanted.mask
        catcher = self._error.CatchError(self._error.BadAccess)
        # Caps Lock and Num Lock are modifiers to X: grab with each combination of them too.
        for lock in X_LOCK_COMBINATIONS:
            self._root.grab_key(
                keycode, mask | lock, True, x.GrabModeAsync, x.GrabModeAsync, onerror=catcher
            )
        self._display.sync()
        if catcher.get_error():
            log.warning("%s is already taken by another program", hotkey)
            return False
        self._callbacks[(keycode, mask)] = callback
        log.info("global hotkey %s grabbed", hotkey)
        return True

    def _wait(self) -> None:
        x = self._x
        while not self._stop.is_set():
            readable, _, _ = select.select([self._display.fileno()], [], [], 0.5)
            if not readable:
                continue
            for _ in range(self._display.pending_events()):
                event = self._display.next_event()
                if event.type == x.KeyPress:
                    self._pressed.emit(event.detail, event.state & X_RELEVANT)

    def _dispatch(self, keycode: int, mask: int) -> None:
        callback = self._callbacks.get((keycode, mask))
        if callback is not None:
            callback()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._display.close()
