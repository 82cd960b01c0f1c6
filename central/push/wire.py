"""Fast fan-out: a text frame encoded once, written straight to each screen's transport.

Sending through ASGI costs an ``await`` and a frame encoding per socket, and an ``await`` on a
socket whose buffer is full stalls everything behind it. uvicorn's sans-I/O websockets
protocol already owns each socket's transport, so this subclass offers the app an ASGI
extension, ``trygg.frames``, to write a prepared frame without awaiting. A screen that cannot
keep up is dropped (it reconnects and gets a snapshot) instead of holding up its colleagues.

Run uvicorn with ``ws=FramesProtocol`` (``central.cli`` does). Under any other server the hub
falls back to a queue and a sender task per socket (see ``central.push.hub``). That fallback
must never be silent: this leans on uvicorn's internals (its ``scope`` attribute, its
transport and close flags), which a new uvicorn may rename. So ``probe`` drives one in-memory
handshake through ``FramesProtocol`` with the uvicorn installed; central runs it at start-up,
warns once when the direct path is not in use, and says which path it uses in ``/healthz``.
pyproject.toml bounds uvicorn to the versions this was tested with.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from functools import cached_property
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.http11 import Request

EXTENSION = "trygg.frames"


def text_frame(text: str) -> bytes:
    """An unmasked, unfragmented websocket text frame (RFC 6455 §5.2): server to client."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class Prepared:
    """A frame's text, and its wire bytes made once, on first use, for every socket."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def frame(self) -> bytes:
        return text_frame(self.text)


class FrameWriter:
    """What the extension hands to the app for one socket."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: FramesProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> bool:
        """Queue ``frame`` in the socket's transport; False if the socket is closing."""
        p = self._protocol
        if p.close_sent or p.disconnected or p.transport.is_closing():
            return False
        p.transport.write(frame)
        return True

    def buffered(self) -> int:
        return self._protocol.transport.get_write_buffer_size()

    def abort(self) -> None:
        self._protocol.transport.abort()


class FramesProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, plus the ``trygg.frames`` ASGI extension."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)  # unset when refused early
        if scope is not None:
            # The ASGI task has been created but not yet run; it sees this same dict.
            scope["extensions"][EXTENSION] = FrameWriter(self)


# A client's opening handshake (RFC 6455 §1.3), as a browser or a desk sends it.
_HANDSHAKE = (
    b"GET /probe HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
_PROBE_TEXT = "trygg probe"
_SILENT = logging.Logger("trygg.probe", logging.CRITICAL)
_SILENT.disabled = True


class _MemoryTransport(asyncio.Transport):
    """A transport that keeps what is written: the probe's socket, without a socket."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        """uvicorn pauses reading while the app has a message to take; nothing to do here."""

    def resume_reading(self) -> None:
        """See ``pause_reading``."""


async def _refuse(_scope: Any, receive: Any, send: Any) -> None:
    """The probe's ASGI app: takes the connect event and refuses it (uvicorn answers 403)."""
    await receive()
    await send({"type": "websocket.close"})


async def probe(protocol: type[WebSocketsSansIOProtocol] = FramesProtocol) -> str | None:
    """Why ``protocol`` does not give the app a working ``trygg.frames`` extension with the
    uvicorn installed, or None when it does: one handshake in memory, then one prepared frame
    written through the extension, which must reach the transport unchanged."""
    # log_config=None: a Config made with the default reconfigures the process's logging.
    config = Config(
        _refuse, ws=protocol, ws_per_message_deflate=False, lifespan="off", log_config=None
    )
    state = ServerState()
    try:
        config.load()
        transport = _MemoryTransport()
        connection = protocol(config, state, {}, _loop=asyncio.get_running_loop())
        # The probe's refused handshake is not a visitor: keep it out of central's log.
        connection.logger = connection.conn.logger = _SILENT
        connection.connection_made(transport)
        connection.data_received(_HANDSHAKE)
        scope: dict[str, Any] | None = getattr(connection, "scope", None)
        if scope is None:
            return "uvicorn made no ASGI scope from a websocket handshake"
        writer = scope.get("extensions", {}).get(EXTENSION)
        if not isinstance(writer, FrameWriter):
            return f"uvicorn's websocket scope does not carry the {EXTENSION} extension"
        frame = text_frame(_PROBE_TEXT)
        before = len(transport.written)
        if not writer.write(frame) or bytes(transport.written[before:]) != frame:
            return "a frame written through the extension did not reach the transport"
        writer.buffered()
        return None
    except Exception as exc:  # any incompatibility of uvicorn's internals is a finding
        return f"{type(exc).__name__}: {exc}"
    finally:
        # The refused handshake's ASGI task ends at once; wait for it, never leave it pending.
        if state.tasks:
            await asyncio.wait(list(state.tasks), timeout=5)
