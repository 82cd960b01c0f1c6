"""Central under a watchdog, as ``deploy/systemd/trygg-central.service`` runs it: a real
central process (no new privileges, no writable+executable memory), a real Mosquitto, and the
test in systemd's place at the other end of ``NOTIFY_SOCKET``.

``READY=1`` comes once central serves, then ``WATCHDOG=1`` keeps coming. Then a part really
stops, by means from outside the process, with no test hook inside it:

- the store writer: the test holds an exclusive lock on central's database (what a hung disk
  or a stuck process looks like to the writer): the status names the store writer, the feeds
  stop, and the test does what systemd does when ``WatchdogSec`` passes (SIGABRT; the stack
  dump shows the writer waiting for the lock), then starts central again: its alarms are back;
- the event loop: central's stderr is a pipe nobody reads (a stalled journald) and a flood of
  malformed messages fills it with warnings, so the loop thread blocks in a write; the status
  names the event loop (and only it), the feeds stop, SIGABRT, restart, alarms back.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware_sim.broker import require_tool
from protocol import encode
from tests.central.helpers import alarm_message
from tests.support.broker import TESTER_USER, Broker
from tests.support.stack import SITE, Central, script
from tests.support.systemd import Fields, NotifySocket, hardened

WATCHDOG_S = 2.0  # WatchdogSec: fed every 1 s, a part stale after 1 s of silence
USERS = {"kari": "Kari Nordmann"}
DEVICE = "knapp-1"


@pytest.fixture
def systemd() -> Iterator[NotifySocket]:
    notify = NotifySocket()
    try:
        yield notify
    finally:
        notify.close()


def start_supervised(central: Central, notify: NotifySocket, stderr: int | None = None) -> None:
    """Central as its unit starts it; its log to ``central.log``, or stderr to ``stderr``."""
    env = {**os.environ, "NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6))}
    env.pop("WATCHDOG_PID", None)
    with central.log.open("ab") as log:
        central.proc = subprocess.Popen(
            hardened([script("trygg-central"), "--config", str(central.config)]),
            env=env,
            stdout=log,
            stderr=log if stderr is None else stderr,
            stdin=subprocess.DEVNULL,
        )
    central.wait_ready()


def raise_alarms(broker: Broker, count: int) -> set[str]:
    """Alarms from the registered button, published as a device publishes them."""
    ids = set()
    for _ in range(count):
        message = alarm_message(device=DEVICE)
        ids.add(str(message.alarm_id))
        broker.pub(*encode(message))
    return ids


def wait_stored(central: Central, ids: set[str]) -> None:
    for _ in range(300):
        if ids <= {a["alarm_id"] for a in central.alarms("kari")}:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"alarms {ids} not stored: {central.alarms('kari')}")


def ready(fields: Fields) -> bool:
    return "READY=1" in fields


def stale(part: str) -> Any:
    return lambda fields: any(f.startswith(f"STATUS=STALE: {part} silent for") for f in fields)


def abort_as_systemd(notify: NotifySocket, central: Central, part: str) -> Fields:
    """WatchdogSec passes with no feed: SIGABRT, as systemd's default WatchdogSignal. A brief
    stall that recovered may have said STALE (and been fed again) before this one: what counts
    is the last status, which names ``part``, with no feed after it. Returns that status."""
    notify.watchdog_expires(WATCHDOG_S)
    messages = notify.messages()
    last = max(
        i for i, fields in enumerate(messages) if any(f.startswith("STATUS=") for f in fields)
    )
    assert stale(part)(messages[last]), messages[last:]
    assert not [f for f in messages[last:] if "WATCHDOG=1" in f], messages[last:]
    assert central.proc is not None
    central.proc.send_signal(signal.SIGABRT)
    return messages[last]


def restart_and_find(central: Central, alarms: set[str]) -> None:
    notify = NotifySocket()
    try:
        start_supervised(central, notify)
        notify.wait(ready)
        notify.wait_feeds(1)  # fed again: the new process's parts are alive
        wait_stored(central, alarms)
    finally:
        notify.close()
        central.stop()


def test_a_stalled_store_writer_is_named_the_feed_stops_and_a_restart_brings_it_back(
    module_broker: Broker, tmp_path: Path, systemd: NotifySocket
) -> None:
    broker = module_broker
    central = Central(broker, tmp_path, USERS, devices=((SITE, DEVICE, "Resepsjon"),))
    try:
        start_supervised(central, systemd)
        up = systemd.wait(ready)
        assert any(f.startswith("STATUS=running") for f in systemd.messages(up)[0])
        systemd.wait_feeds(3, after=up)
        alarms = raise_alarms(broker, 3)
        wait_stored(central, alarms)

        held = sqlite3.connect(tmp_path / "central.db", isolation_level=None, timeout=10)
        try:
            held.execute("BEGIN EXCLUSIVE")  # the writer's BEGIN IMMEDIATE now waits
            systemd.wait(stale("store writer"), after=systemd.count())
            abort_as_systemd(systemd, central, "store writer")
            assert central.proc is not None
            assert central.proc.wait(30) == -signal.SIGABRT
        finally:
            held.rollback()
            held.close()
    finally:
        central.stop()
    dump = central.log.read_text(errors="replace")
    assert "Fatal Python error: Aborted" in dump  # faulthandler: every thread's stack
    assert "in _write_batch" in dump  # the writer, waiting for the database's lock
    assert "watchdog: STALE: store writer silent for" in dump  # and the journal says why
    restart_and_find(central, alarms)


def test_a_blocked_event_loop_is_named_alone_the_feed_stops_and_a_restart_brings_it_back(
    module_broker: Broker, tmp_path: Path, systemd: NotifySocket
) -> None:
    broker = module_broker
    central = Central(broker, tmp_path, USERS, devices=((SITE, DEVICE, "Resepsjon"),))
    try:
        start_supervised(central, systemd, subprocess.PIPE)  # read by nobody until the end
        systemd.wait_feeds(2, after=systemd.wait(ready))
        alarms = raise_alarms(broker, 2)
        wait_stored(central, alarms)

        flood_at = systemd.count()
        garbage = b"".join(b"not json %d\n" % n for n in range(3000))  # ~150 bytes logged each
        subprocess.run(
            [
                require_tool("mosquitto_pub"),
                *("-h", broker.host, "-p", str(broker.port)),
                *("-u", TESTER_USER, "-P", broker.users[TESTER_USER]),
                *("-q", "1", "-t", f"trygg/v1/{SITE}/{DEVICE}/alarm", "-l"),
            ],
            input=garbage,
            check=True,
            timeout=30,
        )
        systemd.wait(stale("event loop"), after=flood_at)
        fields = abort_as_systemd(systemd, central, "event loop")
        [status] = [f for f in fields if f.startswith("STATUS=")]
        assert "store writer" not in status  # probed through the loop: not blamed
        assert "mqtt link" not in status
        assert "ticker" not in status
        assert central.proc is not None
        _, err = central.proc.communicate(timeout=30)  # the test reads the pipe at last
        assert central.proc.returncode == -signal.SIGABRT
    finally:
        central.stop()
    assert b"Fatal Python error: Aborted" in err
    assert b"logging/__init__.py" in err  # the loop's thread: stuck writing a log line
    restart_and_find(central, alarms)
