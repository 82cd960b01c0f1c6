"""Fast fan-out: a text frame encoded once, written straight to each screen's transport.

Sending through ASGI costs an ``await`` and a frame encoding per socket, and an ``await`` on a
socket whose buffer is full stalls everything behind it. uvicorn's sans-I/O websockets
protocol already owns each socket's transport, so this subclass offers the app an ASGI
extension, ``trygg.frames``, to write a prepared frame without awaiting. A screen that cannot
keep up is dropped (it reconnects and gets a snapshot) instead of holding up its colleagues.

Run uvicorn with ``ws=FramesProtocol`` (``central.cli`` does). Under any other server the hub
falls back to a queue and a sender task per socket (see ``central.push.hub``).
"""

from __future__ import annotations

import struct
from functools import cached_property
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
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
