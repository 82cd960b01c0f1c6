"""A full disk under central's store (issue 9), every part real: the store on a small tmpfs
that the test fills, ``trygg-central``, Mosquitto, two ``trygg-desk --headless`` processes and
an edge agent on gpiozero mock pins.

A resolution that cannot be written is retried until it is stored; the press that follows on
the same button (the edge never heard "resolved": its ack waits for the commit) is a NEW
alarm, stored once when the disk has room again; and the edge's outbox settles instead of
re-sending the press for minutes.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from protocol import AlarmMessage
from protocol.messages import HeldState
from tests.e2e.conftest import USERS, RunningEdge
from tests.e2e.heal_support import (
    alarm_lines,
    alarms_since,
    by_id,
    holds,
    new_alarm,
    settled,
    state_of,
    until,
    until_recorded,
    wait_state,
)
from tests.edge.helpers import Observer
from tests.support.agent_waits import wait_for, wait_led
from tests.support.broker import Broker
from tests.support.stack import Central, Desk


def mount_tool(name: str) -> str:
    tool = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if tool is None or os.geteuid() != 0:
        raise RuntimeError(
            f"the disk-full test mounts a tmpfs: it needs root and {name} (util-linux)"
        )
    return tool


class SmallDisk:
    """A 16 MiB tmpfs; ``fill`` takes every free byte, ``free`` gives them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                mount_tool("mount"),
                "-t",
                "tmpfs",
                "-o",
                "size=16m,mode=0700",
                "tmpfs",
                str(self.path),
            ],
            check=True,
            timeout=20,
        )

    def unmount(self) -> None:
        self.free()
        umount = mount_tool("umount")
        if subprocess.run([umount, str(self.path)], timeout=20).returncode != 0:
            subprocess.run([umount, "-l", str(self.path)], timeout=20)

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 1 << 12, 1):
                block = b"\0" * size
                while True:
                    try:
                        if os.write(fd, block) < size:
                            break
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path / "store")
    small.mount()
    try:
        yield small
    finally:
        small.unmount()


@pytest.fixture
def central(broker: Broker, tmp_path: Path, disk: SmallDisk) -> Iterator[Central]:
    """As tests/e2e/conftest.py's, with the store on the small disk."""
    c = Central(broker, tmp_path, USERS)
    c.config.write_text(
        c.config.read_text().replace(str(tmp_path / "central.db"), str(disk.path / "central.db"))
    )
    c.start()
    try:
        yield c
    finally:
        c.stop()


async def test_a_press_after_a_resolution_the_full_disk_held_back_is_a_new_alarm(
    broker: Broker,
    central: Central,
    desks: dict[str, Desk],
    edge: RunningEdge,
    disk: SmallDisk,
) -> None:
    kari, ola = desks["kari"], desks["ola"]
    edge.press(17)
    old = str((await kari.wait_for(new_alarm))["alarm_id"])
    await kari.send(f"coming {old}")
    await wait_led(edge.agent, "desk", "help_coming", timeout=20)
    await until_recorded(central, lambda r: state_of(r, old) == "acknowledged", what="ack")

    disk.fill()
    failures = central.logs().count("will retry")
    await ola.send(f"resolve {old}")
    await until(
        lambda: central.logs().count("will retry") > failures,
        20,
        "central's write of the resolution failing on the full disk",
    )
    async with Observer(broker) as wire:
        edge.press(17)  # the edge never heard "resolved" (its ack waits for the commit)
        await until(
            lambda: (
                edge.agent.outbox_pending() == 1 and edge.agent.active_alarm("desk") == UUID(old)
            ),
            5,
            "the press pending as a re-press of the old alarm",
        )
        await wire.wait_for(
            lambda: [str(a.alarm_id) for a in wire.alarms()].count(old) >= 2,
            10,
            "the re-press sent and resent against the full disk",
        )
        assert {(str(a.alarm_id), a.presses) for a in wire.alarms()} == {(old, 2)}

        disk.free()
        for desk in desks.values():
            await wait_state(desk, old, "resolved")
        line = await kari.wait_for(lambda ln: new_alarm(ln) and ln["alarm_id"] != old, 20)
        new = str(line["alarm_id"])
        await ola.wait_for(lambda ln: new_alarm(ln) and ln["alarm_id"] == new, 20)
        stored = await until_recorded(
            central,
            lambda r: state_of(r, old) == "resolved" and state_of(r, new) == "received",
            30,
            "the resolution and the new alarm",
        )
        # The outbox settles: the LED follows the new alarm, nothing is left to re-send.
        await wait_for(
            edge.agent,
            lambda: (
                edge.agent.outbox_pending() == 0
                and edge.agent.active_alarm("desk") == UUID(new)
                and edge.agent.led_state("desk") == "received"
            ),
            20,
            "outbox settled on the new alarm",
        )
        # Four heartbeats, as often as resends (1 s): a storm would show three times over.
        start = await settled(wire, central, "rom-101", holds(new, 1, HeldState.RECEIVED), 4)
        late = alarms_since(wire, start)
        assert late == [], [(a.alarm_id, a.presses) for a in late]
        assert all(isinstance(a, AlarmMessage) for a in wire.alarms())

    stored = await until_recorded(central, lambda r: len(r) == 2, 5, "exactly two alarms")
    old_alarm, new_alarm_ = by_id(stored, old), by_id(stored, new)
    assert old_alarm is not None
    assert new_alarm_ is not None
    assert [e["kind"] for e in old_alarm["events"]].count("resolved") == 1, old_alarm
    assert [e["kind"] for e in new_alarm_["events"]].count("raised") == 1, new_alarm_
    assert new_alarm_["presses"] == 1
    assert new_alarm_["input"] == "desk"
    for desk in (kari, ola):
        assert len(alarm_lines(desk, new)) == 1, desk.lines
