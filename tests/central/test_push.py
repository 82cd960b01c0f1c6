"""The hub's fan-out on real sockets: frames of every length, and a stuck screen is dropped
without holding up its colleagues."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

from central.push.wire import Prepared
from tests.central.helpers import KARI, SITE, make_settings, next_frame, screen, serve, until


async def test_prepared_frames_of_every_length_arrive_intact(broker, tmp_path) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, screen(running, KARI) as ws:
        await next_frame(ws), await next_frame(ws)
        for size in (0, 125, 126, 65535, 65536, 200_000):
            text = "å" * (size // 2) + "x" * (size % 2)
            assert running.central.hub.broadcast(SITE, Prepared(text)) == 1
            assert await asyncio.wait_for(ws.recv(), 10) == text


def stuck_screen(port: int) -> socket.socket:
    """A screen that completes the handshake and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {KARI}\r\n\r\n"
        ).encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


async def test_a_stuck_screen_is_dropped_and_others_get_everything(broker, tmp_path) -> None:
    settings = make_settings(broker, tmp_path)
    async with serve(settings) as running, screen(running, KARI) as ws:
        await next_frame(ws), await next_frame(ws)
        stuck = await asyncio.to_thread(stuck_screen, settings.http.port)
        hub = running.central.hub
        try:
            await until(lambda: len(hub) == 2, what="both screens")
            frame = Prepared("y" * 60_000)
            received = 0
            for _ in range(300):  # 18 MB: more than the stuck screen's buffers can take
                hub.broadcast(SITE, frame)
                assert await asyncio.wait_for(ws.recv(), 10) == frame.text
                received += 1
            assert received == 300
            assert hub.dropped == 1 and len(hub) == 1
        finally:
            stuck.close()
