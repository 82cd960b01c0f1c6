"""The hub's fan-out on real sockets: frames of every length, and a stuck screen is dropped
without holding up its colleagues; a big fan-out goes in chunks, in order, letting the loop run."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from pathlib import Path

from websockets.asyncio.client import ClientConnection

from central.core import Person
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from tests.central.helpers import KARI, SITE, make_settings, next_frame, screen, serve, until
from tests.support.broker import Broker


async def test_prepared_frames_of_every_length_arrive_intact(
    broker: Broker, tmp_path: Path
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running, screen(running, KARI) as ws:
        await next_frame(ws), await next_frame(ws)
        for size in (0, 125, 126, 65535, 65536, 200_000):
            text = "å" * (size // 2) + "x" * (size % 2)
            assert running.central.hub.broadcast(SITE, Prepared(text)) == 1
            assert await recv_text(ws) == text


async def recv_text(ws: ClientConnection) -> str | bytes:
    """The next frame that is not central's heartbeat ``ping`` (answered, as a desk does)."""
    while True:
        text = await asyncio.wait_for(ws.recv(), 10)
        if isinstance(text, str) and text.startswith('{"type":"ping"'):
            await ws.send(text.replace("ping", "pong"))
            continue
        return text


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


async def test_a_stuck_screen_is_dropped_and_others_get_everything(
    broker: Broker, tmp_path: Path
) -> None:
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
                assert await recv_text(ws) == frame.text
                received += 1
            assert received == 300
            assert hub.dropped == 1
            assert len(hub) == 1
        finally:
            stuck.close()


class RecordingOutlet:
    """Writes into a log shared by every screen (and the test), so order across them shows."""

    def __init__(self, name: str, log: list[tuple[str, str]], accept: bool = True) -> None:
        self.name = name
        self.log = log
        self.accept = accept

    def send(self, frame: Prepared) -> bool:
        if self.accept:
            self.log.append((self.name, frame.text))
        return self.accept

    def close(self) -> None:
        self.accept = False

    def abort(self) -> None:
        self.accept = False


async def test_a_big_fanout_goes_in_chunks_in_order_and_lets_the_loop_run() -> None:
    log: list[tuple[str, str]] = []
    hub = Hub(chunk=3)
    names = [f"s{i}" for i in range(7)]
    screens = {}
    for name in names:
        person = Person(name, name, f"token-{name}", frozenset({SITE}))
        screens[name] = Screen(person, RecordingOutlet(name, log, accept=name != "s5"))
        hub.join(screens[name])
    asyncio.get_running_loop().call_soon(log.append, ("loop", "callback"))

    assert hub.broadcast(SITE, Prepared("A")) == 7
    assert log == [("s0", "A"), ("s1", "A"), ("s2", "A")]  # the first chunk at once
    # s5 refuses frames, but the chunk that reaches it is still to come: it counts here.
    assert hub.broadcast(SITE, Prepared("B")) == 7
    hub.send(screens["s0"], Prepared("C"))  # a single send queues behind the fan-outs too
    assert len(log) == 3
    assert hub.pending == 3

    for _ in range(20):
        if not hub.pending:
            break
        await asyncio.sleep(0)
    assert hub.pending == 0

    # The loop ran other callbacks between chunks: before "A" reached the last screens.
    assert log.index(("loop", "callback")) == 3
    for name in names:
        got = [text for who, text in log if who == name]
        if name == "s5":
            assert got == []
        else:
            assert got == (["A", "B", "C"] if name == "s0" else ["A", "B"])
    assert hub.dropped == 1
    assert len(hub) == 6
    # Every frame of the first fan-out went out before any of the second: FIFO across fan-outs.
    texts = [text for who, text in log if who != "loop"]
    assert texts == ["A"] * 6 + ["B"] * 6 + ["C"]


async def test_small_fanouts_still_go_out_at_once() -> None:
    log: list[tuple[str, str]] = []
    hub = Hub(chunk=3)
    for name in ("a", "b", "c"):
        person = Person(name, name, f"token-{name}", frozenset({SITE}))
        hub.join(Screen(person, RecordingOutlet(name, log)))
    assert hub.broadcast(SITE, Prepared("x")) == 3
    assert hub.broadcast(SITE, Prepared("y"), only=frozenset({"b"})) == 1
    assert hub.pending == 0
    assert log == [("a", "x"), ("b", "x"), ("c", "x"), ("b", "y")]


async def test_a_screen_that_answers_no_ping_is_closed_and_one_that_answers_stays(
    broker: Broker, tmp_path: Path
) -> None:
    """The stuck screen never reads (like a frozen desk): it answers no ``ping``, so central
    closes it and it no longer counts; the screen that answers every ping stays."""
    settings = make_settings(broker, tmp_path)
    async with serve(settings) as running, screen(running, KARI) as ws:
        central = running.central
        await next_frame(ws), await next_frame(ws)
        stuck = await asyncio.to_thread(stuck_screen, settings.http.port)
        try:
            await until(lambda: len(central.hub) == 2, what="both screens")
            assert central.watch.supervisor.screens(SITE) == 2
            pings: list[int] = []

            async def answer() -> None:
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "ping":
                        pings.append(frame["seq"])
                        await ws.send(json.dumps({"type": "pong", "seq": frame["seq"]}))

            answering = asyncio.create_task(answer())
            try:
                await until(lambda: central.pulse.expired == 1, within=30, what="stuck closed")
                # Out of the audience and of coverage, while the answering screen stays.
                assert len(central.hub) == 1
                assert central.watch.supervisor.screens(SITE) == 1
                assert central.hub.all_screens()[0].person.token == KARI
                assert len(pings) >= 5
                assert pings == sorted(pings)
            finally:
                answering.cancel()
        finally:
            stuck.close()
