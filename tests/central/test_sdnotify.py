"""systemd's notify protocol through real AF_UNIX datagram sockets (a path and an abstract
name), the watchdog's environment, and the watchdog shell with a real store: a dead MQTT link
task is named, the feed stops; the loop and the writer keep it fed otherwise."""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.core.watchdog import LINK
from central.sdnotify import Notifier, WatchdogTiming, socket_address, watchdog_timing
from central.store import Store
from central.watchdog import Watchdog


@pytest.fixture
def abstract() -> Iterator[tuple[str, socket.socket]]:
    """A datagram socket in the abstract namespace, as systemd's ``@`` NOTIFY_SOCKET."""
    name = f"trygg-test-{secrets.token_hex(6)}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(10)
    try:
        yield f"@{name}", sock
    finally:
        sock.close()


def test_a_path_socket_gets_the_fields_in_one_datagram(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        assert notifier.enabled
        assert notifier.notify("READY=1", "STATUS=running\nsecond line")
        assert sock.recv(4096) == b"READY=1\nSTATUS=running second line"


def test_an_abstract_socket_is_reached_by_its_at_name(abstract: tuple[str, socket.socket]) -> None:
    name, sock = abstract
    assert socket_address(name) == b"\0" + name[1:].encode()
    assert Notifier({"NOTIFY_SOCKET": name}).notify("WATCHDOG=1")
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_a_socket_nothing_is_sent_and_nothing_fails(tmp_path: Path) -> None:
    assert not Notifier({}).enabled
    assert not Notifier({}).notify("READY=1")
    assert not Notifier({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled  # not ours to reach
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert gone.enabled
    assert not gone.notify("READY=1")  # logged once, never raised


def test_watchdog_environment() -> None:
    assert watchdog_timing({"WATCHDOG_USEC": "30000000"}, 42) == WatchdogTiming(30.0)
    assert watchdog_timing({"WATCHDOG_USEC": "2500000", "WATCHDOG_PID": "42"}, 42) == (
        WatchdogTiming(2.5)
    )
    assert watchdog_timing({"WATCHDOG_USEC": "2500000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_timing({"WATCHDOG_USEC": "0"}, 42) is None
    assert watchdog_timing({"WATCHDOG_USEC": "soon"}, 42) is None
    assert watchdog_timing({}, 42) is None


def _fields(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


async def test_the_shell_feeds_while_all_live_and_names_a_dead_link_task(
    tmp_path: Path, abstract: tuple[str, socket.socket]
) -> None:
    name, sock = abstract
    store = Store(tmp_path / "central.db")
    await store.open()

    async def link() -> None:  # stands in for MqttLink.run's task: here, one that dies
        await dying.wait()
        raise RuntimeError("a bug in an alarm handler")

    dying = asyncio.Event()
    task = asyncio.create_task(link())
    watchdog = Watchdog(
        store, lambda: not task.done(), Notifier({"NOTIFY_SOCKET": name}), WatchdogTiming(0.8)
    )
    await watchdog.start()
    try:
        loop = asyncio.get_running_loop()
        feeds = 0
        while feeds < 3:  # the loop, the real writer thread and the task all beat
            fields = await loop.run_in_executor(None, _fields, sock)
            assert fields == ["WATCHDOG=1"], fields
            feeds += 1
        assert store.transactions > 0  # the writer's beats are real transactions
        dying.set()
        await asyncio.gather(task, return_exceptions=True)
        for _ in range(3):  # a feed or two decided before the task died may still come
            fields = await loop.run_in_executor(None, _fields, sock)
            if fields != ["WATCHDOG=1"]:
                break
        assert len(fields) == 1, fields
        assert re.fullmatch(
            rf"STATUS=STALE: {LINK} silent for [0-9.]+ s; watchdog not fed", fields[0]
        )
    finally:
        await watchdog.stop()
        await store.close()
