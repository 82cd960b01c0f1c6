"""The room's sensor board on a serial line, via pyserial.

**A reader thread, not pyserial-asyncio(-fast).** The thread does blocking ``read``s with a short
timeout and hands each chunk to the event loop with ``call_soon_threadsafe``; nothing else runs
on it. It works the same for every pyserial URL that ``serial_for_url`` opens (a device path,
a pty, ``rfc2217://``, ``socket://``, ``loop://``), whereas the asyncio transports hook a file
descriptor into the loop and do not cover all of them; it adds no dependency to the Pi's install;
and an unplugged adapter (EIO, a vanished device node) is one exception in one place, turned
into "lost, reopen later". One thread per board is nothing on the edge: one room, one board.

The loop side (:class:`SensorBoard`) feeds the bytes to the pure :class:`FrameParser`, answers
:meth:`SensorBoard.ping` from PONG frames, and tells the agent about frames and the port.
After a loss the thread retries opening the *path* every ``reopen_s``: a symlink that
disappears and comes back pointing to a new device is simply opened again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import serial

from edge.config import SensorBoardSettings
from edge.core.serial_frames import Frame, FrameParser, Pong, encode_ping

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.2  # how long a read may block: bounds how quickly close() is seen
WRITE_TIMEOUT_S = 1.0
PING_TIMEOUT_S = 1.0  # the board must answer within 1 s (docs/serial-protocol.md)

Opener = Callable[..., Any]  # serial.serial_for_url(url, baudrate=..., timeout=...)


class BoardEvents(Protocol):
    """What the board tells the agent. All called on the event loop."""

    def board_opened(self) -> None: ...
    def board_lost(self, reason: str) -> None: ...
    def board_frames(self, frames: list[Frame]) -> None: ...


class SensorBoard:
    def __init__(
        self,
        settings: SensorBoardSettings,
        loop: asyncio.AbstractEventLoop,
        events: BoardEvents,
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self._settings = settings
        self._loop = loop
        self._events = events
        self._opener = opener
        self._parser = FrameParser()
        self._port: Any = None  # the open pyserial port; owned by the reader thread
        self._lock = threading.Lock()  # port open/close vs. writes from the executor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._pings: dict[str, asyncio.Future[float | None]] = {}
        self._ping_seq = 0

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def drops(self) -> dict[str, int]:
        """Frames dropped by the parser, by reason (docs/serial-protocol.md)."""
        return self._parser.drops

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._read_loop, name="edge-sensor-board", daemon=True
            )
            self._thread.start()

    async def close(self) -> None:
        """Stop the reader thread (within one read timeout) and close the port."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            await asyncio.to_thread(thread.join)
        for future in self._pings.values():
            future.cancel()
        self._pings.clear()
        self._connected = False

    async def ping(self, token: str, timeout: float = PING_TIMEOUT_S) -> float | None:
        """Send ``PING,<token>``; the round trip in seconds, or None without a PONG in time."""
        frame = encode_ping(token, self._ping_seq)  # ValueError for a token the line refuses
        self._ping_seq = (self._ping_seq + 1) % 65536
        future: asyncio.Future[float | None] = self._loop.create_future()
        self._pings[token] = future
        started = time.monotonic()
        try:
            if not await self.write(frame):
                return None
            async with asyncio.timeout(timeout):
                answered = await future
            return None if answered is None else answered - started
        except TimeoutError:
            return None
        finally:
            if self._pings.get(token) is future:
                del self._pings[token]

    async def write(self, data: bytes) -> bool:
        """Write on an executor thread (a full line must never block the loop)."""
        return await self._loop.run_in_executor(None, self._write_blocking, data)

    # -- the reader thread ---------------------------------------------------------------

    def _read_loop(self) -> None:
        reported_lost = False
        while not self._stop.is_set():
            try:
                self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                if not reported_lost:
                    reported_lost = True
                    self._to_loop(self._lost, f"cannot open {self._settings.port}: {exc}")
                self._stop.wait(self._settings.reopen_s)
                continue
            reported_lost = False
            self._to_loop(self._opened)
            try:
                self._read_until_stopped()
            except (serial.SerialException, OSError) as exc:
                reported_lost = True
                self._to_loop(self._lost, f"{self._settings.port}: {exc}")
            finally:
                self._close_port()
            self._stop.wait(self._settings.reopen_s)

    def _open(self) -> None:
        port = self._opener(
            self._settings.port,
            baudrate=self._settings.baudrate,
            timeout=READ_TIMEOUT_S,
            write_timeout=WRITE_TIMEOUT_S,
        )
        with self._lock:
            self._port = port

    def _read_until_stopped(self) -> None:
        port = self._port
        while not self._stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if data:
                self._to_loop(self._received, bytes(data))

    def _close_port(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:  # pragma: no cover - already gone
            log.debug("closing %s: %s", self._settings.port, exc)

    def _write_blocking(self, data: bytes) -> bool:
        with self._lock:
            port = self._port
            if port is None:
                return False
            try:
                port.write(data)
            except (serial.SerialException, OSError) as exc:
                log.warning("sensor board write failed: %s (the reader reopens)", exc)
                return False
            return True

    def _to_loop(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the agent has gone
            self._stop.set()

    # -- on the loop ---------------------------------------------------------------------

    def _opened(self) -> None:
        self._connected = True
        log.info("sensor board port open: %s", self._settings.port)
        self._events.board_opened()

    def _lost(self, reason: str) -> None:
        self._connected = False
        self._parser.reset()  # a frame cut off by the unplug is "truncated"; any seq is next
        for future in self._pings.values():
            if not future.done():
                future.set_result(None)
        self._events.board_lost(reason)

    def _received(self, data: bytes) -> None:
        frames = self._parser.feed(data)
        now = time.monotonic()
        for frame in frames:
            if isinstance(frame, Pong):
                future = self._pings.get(frame.token)
                if future is not None and not future.done():
                    future.set_result(now)
        self._events.board_frames(frames)


__all__ = ["BoardEvents", "SensorBoard"]
