"""systemd's notify protocol (shared by central and the edge) through real AF_UNIX datagram
sockets (a path and an abstract name), the watchdog's environment, and which parts a watchdog
may be given."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trygg_systemd.feeding import PartsWatchdog
from trygg_systemd.notify import Notifier, WatchdogTiming, socket_address, watchdog_timing
from trygg_systemd.watchdog import LOOP, Part


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


def test_a_watchdog_watches_exactly_the_parts_it_can_make_beat() -> None:
    """A part without a beat would always be stale; a beat without a part, never looked at."""
    notifier, timing = Notifier({}), WatchdogTiming(1.0)
    log = logging.getLogger("test")
    parts = (Part(LOOP), Part("writer", via=LOOP))
    with pytest.raises(ValueError, match=r"parts \['event loop', 'writer'\] but beats for"):
        PartsWatchdog(parts, notifier, timing, log)
    with pytest.raises(ValueError, match="but beats for"):
        PartsWatchdog(parts, notifier, timing, log, alive={"writer": bool, "link": bool})
    PartsWatchdog(parts, notifier, timing, log, alive={"writer": bool})
    given: list[Callable[[], None]] = []
    with pytest.raises(ValueError, match="but beats for"):  # one part, two ways to beat
        PartsWatchdog(
            parts, notifier, timing, log, alive={"writer": bool}, own={"writer": lambda _beat: None}
        )
    watchdog = PartsWatchdog(parts, notifier, timing, log, own={"writer": given.append})
    [beat] = given  # a self-beating part is handed its beat
    beat()
    assert set(watchdog.beats.snapshot()) == {"writer"}
