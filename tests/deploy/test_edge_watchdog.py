"""The edge agent under a watchdog, as ``deploy/systemd/trygg-edge.service`` runs it: a real
``trygg-edge`` process (no new privileges, no writable+executable memory) on the simulator's
pins (``GPIOZERO_PIN_FACTORY=trygg-sim``), a real Mosquitto, and the test in systemd's place
at the other end of ``NOTIFY_SOCKET``.

- A broker outage is not a dead edge: ``READY=1`` comes with the broker down from the start
  (pins claimed, outbox open, link task started and retrying), ``WATCHDOG=1`` keeps coming
  while it is down and after it went down under a connected edge, and SIGTERM says
  ``STOPPING=1`` and ends cleanly.
- A stalled part is: the test holds an exclusive lock on the edge's outbox database (what a
  hung SD card or a stuck process looks like to the outbox's writer), by means from outside
  the process, with no test hook inside it. The status names the outbox writer (and only it),
  the feeds stop, the test does what systemd does when ``WatchdogSec`` passes (SIGABRT; the
  journal has every thread's stack and the reason), and a new start is ready and fed again.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.broker import Broker
from tests.support.sim_edge import launch
from tests.support.stack import edge_config, stop_process
from tests.support.systemd import Fields, NotifySocket, hardened

WATCHDOG_S = 2.0  # WatchdogSec: fed every 1 s, a part stale after 1 s of silence
DEVICE = "rom-101"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def systemd() -> Iterator[NotifySocket]:
    notify = NotifySocket()
    try:
        yield notify
    finally:
        notify.close()


@pytest.fixture
def control() -> Iterator[Path]:
    """The simulator's control socket (a Unix socket path must stay under ~100 bytes)."""
    where = Path(tempfile.mkdtemp(prefix="trygg-wd-"))
    try:
        yield where / "pins.sock"
    finally:
        shutil.rmtree(where, ignore_errors=True)


def under_systemd(notify: NotifySocket) -> Callable[[list[str]], list[str]]:
    """The argv as the unit runs it: systemd's variables set, then hardened (same process:
    ``env`` and the launcher exec, so ``NOTIFY_SOCKET`` hears from the edge's own pid)."""
    env = shutil.which("env")
    if env is None:
        pytest.fail("env (coreutils) is not installed")
    variables = [f"NOTIFY_SOCKET={notify.name}", f"WATCHDOG_USEC={int(WATCHDOG_S * 1e6)}"]
    return lambda argv: [env, "-u", "WATCHDOG_PID", *variables, *hardened(argv)]


def start_supervised(
    config: Path, log: Path, control: Path, notify: NotifySocket, connected: bool = True
) -> subprocess.Popen[bytes]:
    return launch(config, log, control, connected=connected, wrap=under_systemd(notify))


def ready(fields: Fields) -> bool:
    return "READY=1" in fields


def stopping(fields: Fields) -> bool:
    return "STOPPING=1" in fields


def any_status(fields: Fields) -> bool:
    return any(f.startswith("STATUS=") for f in fields)


def stale(part: str) -> Callable[[Fields], bool]:
    return lambda fields: any(f.startswith(f"STATUS=STALE: {part} silent for") for f in fields)


def wait_log(log: Path, text: str, count: int = 1, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count(text) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged {count} times in {within} s:\n{tail(log)}")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def statuses(notify: NotifySocket, after: int = 0) -> list[str]:
    return [f for fields in notify.messages(after) for f in fields if f.startswith("STATUS=")]


def test_a_broker_outage_is_not_a_dead_edge_and_sigterm_says_stopping(
    broker: Broker, tmp_path: Path, systemd: NotifySocket, control: Path
) -> None:
    config, log = edge_config(tmp_path, broker, DEVICE), tmp_path / "edge.log"
    broker.stop()  # down from the start: the edge is ready all the same
    edge = start_supervised(config, log, control, systemd, connected=False)
    try:
        up = systemd.wait(ready)
        [status] = [f for f in systemd.messages(up)[0] if f.startswith("STATUS=")]
        assert status.startswith("STATUS=running; ")
        assert "watching inputs desk, wall" in status
        assert "mqtt connected" not in tail(log)  # ready without a broker
        systemd.wait_feeds(3, after=up)  # more than WatchdogSec of feeds, broker still down

        broker.start()
        wait_log(log, "mqtt connected")
        broker.stop()  # gone under a connected edge
        wait_log(log, "mqtt disconnected")
        outage = systemd.count()
        systemd.wait_feeds(3, after=outage)
        assert not [s for s in statuses(systemd) if "STALE" in s], statuses(systemd)

        edge.send_signal(signal.SIGTERM)
        systemd.wait(stopping, after=outage)
        assert edge.wait(30) == 0, tail(log)
    finally:
        stop_process(edge)
        broker.start()  # as the module's other tests expect it
    assert "watchdog: fed while the event loop, the outbox writer and the mqtt link" in tail(log)


def test_a_stalled_outbox_writer_is_named_the_feed_stops_and_a_restart_brings_it_back(
    broker: Broker, tmp_path: Path, systemd: NotifySocket, control: Path
) -> None:
    config, log = edge_config(tmp_path, broker, DEVICE), tmp_path / "edge.log"
    edge = start_supervised(config, log, control, systemd)
    try:
        systemd.wait_feeds(2, after=systemd.wait(ready))
        outbox = tmp_path / f"{DEVICE}-outbox.db"
        assert outbox.exists()
        held = sqlite3.connect(outbox, isolation_level=None, timeout=10)
        try:
            held.execute("BEGIN EXCLUSIVE")  # the outbox writer's BEGIN IMMEDIATE now waits
            stale_at = systemd.wait(stale("outbox writer"), after=systemd.count())
            [status] = statuses(systemd, stale_at)[:1]
            assert "event loop" not in status  # the loop still runs: only the writer is named
            assert "mqtt link" not in status
            systemd.watchdog_expires(WATCHDOG_S)  # systemd's rule: no feed for WatchdogSec
            assert not [f for f in systemd.messages(stale_at) if "WATCHDOG=1" in f]
            edge.send_signal(signal.SIGABRT)  # systemd's default WatchdogSignal
            assert edge.wait(30) == -signal.SIGABRT
        finally:
            held.rollback()
            held.close()
    finally:
        stop_process(edge)
    journal = log.read_text(errors="replace")
    assert "watchdog: STALE: outbox writer silent for" in journal  # the journal says why
    assert "Fatal Python error: Aborted" in journal  # and every thread's stack

    again = NotifySocket()
    edge = start_supervised(config, log, control, again)
    try:
        again.wait_feeds(1, after=again.wait(ready))  # the new process's parts are alive
    finally:
        stop_process(edge)
        again.close()
