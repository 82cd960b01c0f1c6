"""The edge reading a sensor board over a REAL pseudo-terminal, against a real Mosquitto.

The test plays the board: it makes the pty itself (``os.openpty``, raw mode), links a stable
path to the slave as a udev rule would (``/dev/trygg-board`` style), and writes frames taken
from the shared vectors' hex or built here with an independent CRC (``binascii.crc_hqx``).
Unplug = the master closed and the link removed; replug = a new pty and the link re-pointed.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import os
import tty
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.sensing import RoomSensors
from protocol import AckState, AlarmLevel, AlarmSource, EventMessage
from tests.edge.helpers import ROOM, Observer, alarm_ids, central_ack, edge_settings, running
from tests.support.agent_waits import wait_connected, wait_for, wait_pending
from tests.support.broker import Broker

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "serial.json").read_text("utf-8")
)
CASE = {case["name"]: bytes.fromhex(case["input_hex"]) for case in VECTORS["cases"]}

UNPLUGGED, SILENT, TAMPER = (
    "sensor-board-unplugged",
    "sensor-board-silent",
    "sensor-board-tamper",
)


def line(seq: int, kind: str, *fields: str) -> bytes:
    """A frame built here, with a CRC implementation the edge does not use."""
    body = ",".join((str(seq), kind, *fields)).encode("ascii")
    return b"$%s*%04X\n" % (body, binascii.crc_hqx(body, 0xFFFF))


class Board:
    """The board's end of a pty: frames in, PINGs out. ``link`` is the edge's port path."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # a serial line: no echo, no line editing
        link.unlink(missing_ok=True)
        link.symlink_to(os.ttyname(self.slave))
        self.plugged = True
        self.received = bytearray()
        self._got = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            self.received += os.read(self.master, 1024)
        except OSError:  # the edge's end closed for a moment: nothing to read
            return
        self._got.set()

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    async def read_line(self, within: float = 5.0) -> bytes:
        async with asyncio.timeout(within):
            while b"\n" not in self.received:
                self._got.clear()
                await self._got.wait()
        end = self.received.index(b"\n") + 1
        first = bytes(self.received[:end])
        del self.received[:end]
        return first

    def unplug(self) -> None:
        self.plugged = False
        asyncio.get_running_loop().remove_reader(self.master)
        self.link.unlink(missing_ok=True)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pins() -> MockFactory:
    return MockFactory()


def board_settings(broker: Broker, tmp_path: Path, **board: Any) -> Any:
    sensor_board = {"port": str(tmp_path / "board.tty"), "silence_s": 60, "reopen_s": 0.1}
    sensor_board.update(board)
    return edge_settings(broker, tmp_path / "outbox.db", sensor_board=sensor_board)


@asynccontextmanager
async def edge_with_board(
    broker: Broker, pins: MockFactory, tmp_path: Path, **board: Any
) -> AsyncIterator[tuple[EdgeAgent, RoomSensors, Board, Observer]]:
    settings = board_settings(broker, tmp_path, **board)
    the_board = Board(Path(settings.sensor_board.port))
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    try:
        async with Observer(broker) as wire, running(agent):
            sensors = agent.sensors
            assert sensors is not None
            await wait_connected(agent)
            await wait_for(agent, lambda: sensors.connected, what="board port open")
            yield agent, sensors, the_board, wire
    finally:
        if the_board.plugged:
            the_board.unplug()


def events(wire: Observer) -> list[tuple[str, str, object]]:
    seen = [m for _, m in wire.of_kind(EventMessage) if isinstance(m, EventMessage)]
    return [(m.sensor, m.kind, m.value) for m in seen]


def status_faults(wire: Observer) -> list[tuple[str, ...]]:
    return [m.health.faults for _, m in wire.statuses() if m.health is not None]


async def wait_status(wire: Observer, predicate: Callable[[tuple[str, ...]], bool]) -> None:
    await wire.wait_for(
        lambda: bool(status_faults(wire)) and predicate(status_faults(wire)[-1]),
        what="status with those faults",
    )


async def test_pendant_press_door_and_tamper(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    async with edge_with_board(broker, pins, tmp_path, sound_alarm_db=80, sound_alarm_s=0) as (
        agent,
        _,
        board,
        wire,
    ):
        board.write(CASE["door open"])  # seq 2
        await wire.wait_for(lambda: ("door", "open", None) in events(wire), what="door event")

        board.write(CASE["pendant press"])  # seq 4: counted as a gap, accepted
        alarm = await wire.wait_alarm(lambda a: a.input == "p-17")
        assert (alarm.source, alarm.level, alarm.room, alarm.presses) == (
            AlarmSource.SENSOR,
            AlarmLevel.ACUTE,
            ROOM,
            1,
        )
        assert ("pendant", "press", "p-17") in events(wire)
        assert agent.outbox_pending() == 1
        # A second press while the alarm is active counts on it, as for a button.
        board.write(line(5, "PEND", "p-17", "83", "PRESS"))
        again = await wire.wait_alarm(lambda a: a.presses == 2)
        assert again.alarm_id == alarm.alarm_id
        await central_ack(broker, alarm.alarm_id, AckState.RECEIVED)
        await wait_pending(agent, 0)

        # Loud above the threshold (80 dB, no hold time here): an assist alarm, input "sound".
        board.write(line(6, "SND", "95"))
        loud = await wire.wait_alarm(lambda a: a.input == "sound")
        assert (loud.source, loud.level) == (AlarmSource.SENSOR, AlarmLevel.ASSIST)
        assert ("sound", "level", 95) in events(wire)

        board.write(CASE["tamper"])  # seq 9
        await wait_status(wire, lambda faults: TAMPER in faults)
        assert ("tamper", "tamper", None) in events(wire)
        await wire.wait_for(lambda: any(TAMPER in h.health.faults for h in wire.heartbeats()))
        board.write(line(10, "TAMP", "0"))
        await wait_status(wire, lambda faults: TAMPER not in faults)
        assert agent.faults == ()
        assert agent.counters == {"serial_seq_gap": 2}  # 2→4 and 6→9
        assert len({a.alarm_id for a in wire.alarms()}) == 2


async def test_noise_and_bad_frames_are_counted_and_never_fatal(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    async with edge_with_board(broker, pins, tmp_path) as (agent, sensors, board, wire):
        for name in (
            "noise before and between",  # a boot banner and garbage around frames 10 and 11
            "bad checksum",  # frame 13 after it is good
            "lower-case checksum is not valid",
            "truncated by a new start",  # frame 16 after it is good
            "oversized frame",  # frame 18 after it is good
            "wrong field count",
            "bad values",
        ):
            board.write(CASE[name])
        # Binary garbage: each "$" in it starts a frame that runs past 96 bytes (oversized).
        board.write(bytes(range(256)) * 4)
        board.write(b"\n" + line(30, "DOOR", "1"))
        await wire.wait_for(
            lambda: (
                [e for e in events(wire) if e[0] == "door"]
                == [("door", "open", None), ("door", "closed", None), ("door", "open", None)]
            ),
            what="door open, closed, open",
        )
        assert agent.counters == {
            "serial_bad_checksum": 1,
            "serial_bad_frame": 9,
            "serial_truncated": 1,
            "serial_oversized": 5,
            "serial_seq_gap": 4,  # 11→13, 13→16, 16→18, 18→30
        }
        assert sensors.connected
        assert agent.connected
        await wire.wait_for(
            lambda: any(h.health.counters.get("serial_oversized") == 5 for h in wire.heartbeats()),
            what="counters in a heartbeat",
        )


async def test_silence_is_a_fault_until_frames_come_again(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    async with edge_with_board(broker, pins, tmp_path, silence_s=0.3) as (_, _s, board, wire):
        await wait_status(wire, lambda faults: SILENT in faults)
        assert ("board", "silent") in [e[:2] for e in events(wire)]
        await wire.wait_for(lambda: any(SILENT in h.health.faults for h in wire.heartbeats()))
        board.write(CASE["heartbeat"])
        await wait_status(wire, lambda faults: SILENT not in faults)
        assert ("board", "back", None) in events(wire)


async def test_unplug_and_replug_recover_without_a_restart(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = board_settings(broker, tmp_path)
    link = Path(settings.sensor_board.port)
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    boards: list[Board] = []
    try:
        async with Observer(broker) as wire, running(agent):
            sensors = agent.sensors
            assert sensors is not None
            # No board at start (the link does not exist yet): unplugged, and it keeps trying.
            await wait_connected(agent)
            await wait_for(agent, lambda: UNPLUGGED in agent.faults, what="unplugged at start")
            boards.append(Board(link))
            await wait_for(agent, lambda: sensors.connected, what="opened once plugged")
            await wait_status(wire, lambda faults: UNPLUGGED not in faults)

            boards[0].write(CASE["door open"])  # seq 2
            await wire.wait_for(lambda: ("door", "open", None) in events(wire), what="door")
            boards[0].unplug()
            await wait_for(agent, lambda: UNPLUGGED in agent.faults, what="unplugged")
            await wait_status(wire, lambda faults: UNPLUGGED in faults)
            assert ("board", "unplugged", None) in events(wire)

            boards.append(Board(link))  # a new pty: another /dev/pts/N behind the same link
            await wait_for(agent, lambda: sensors.connected, what="reopened")
            await wait_status(wire, lambda faults: UNPLUGGED not in faults)
            assert agent.faults == ()
            # The restarted board happens to reuse seq 2: after a reconnect that is no duplicate.
            boards[1].write(line(2, "PEND", "p-2", "99", "PRESS"))
            alarm = await wire.wait_alarm(lambda a: a.input == "p-2")
            assert alarm.source is AlarmSource.SENSOR
            assert agent.counters == {}
            # What central sees when it connects now: the retained status, without faults.
            async with Observer(broker, "late") as late:
                await late.wait_for(lambda: bool(late.statuses()), what="retained status")
                retained, status = late.statuses()[0]
                assert retained
                assert status.state == "online"
                assert status.health is not None
                assert status.health.faults == ()
    finally:
        if boards and boards[-1].plugged:
            boards[-1].unplug()


async def test_ping_gets_pong(broker: Broker, pins: MockFactory, tmp_path: Path) -> None:
    async with edge_with_board(broker, pins, tmp_path) as (_, sensors, board, _wire):
        ping = asyncio.create_task(sensors.ping("a1b2", timeout=10))
        frame = await board.read_line()
        body, _, crc = frame.rstrip(b"\n")[1:].partition(b"*")
        seq, kind, token = body.decode().split(",")
        assert (kind, token) == ("PING", "a1b2")
        assert int(crc, 16) == binascii.crc_hqx(body, 0xFFFF)
        board.write(CASE["pong"])  # $5,PONG,a1b2
        latency = await ping
        assert latency is not None
        assert latency >= 0

        # Unanswered: None after the timeout, and the line stays usable.
        assert await sensors.ping("zz9", timeout=0.2) is None
        assert (await board.read_line()).startswith(b"$%d,PING,zz9*" % (int(seq) + 1))
        with pytest.raises(ValueError, match="token"):
            await sensors.ping("not-valid")


async def test_ping_without_a_board_is_none(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    agent = EdgeAgent(board_settings(broker, tmp_path), pin_factory=pins, id_factory=alarm_ids())
    async with running(agent):
        sensors = agent.sensors
        assert sensors is not None
        await wait_for(agent, lambda: UNPLUGGED in agent.faults, what="unplugged")
        assert await sensors.ping("abc", timeout=5) is None  # nothing to write to: at once
    assert await sensors.ping("abc") is None  # stopped


async def test_unsent_pendant_alarm_survives_a_restart_and_counts_further_presses(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = board_settings(broker, tmp_path)
    broker.kill()  # the pendant alarm can only reach the outbox
    first = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    board = Board(Path(settings.sensor_board.port))
    try:
        async with running(first):
            first_sensors = first.sensors
            assert first_sensors is not None
            await wait_for(first, lambda: first_sensors.connected, what="board port open")
            board.write(CASE["pendant press"])
            await wait_for(first, lambda: first.outbox_pending() == 1, what="alarm in the outbox")
        broker.start()
        second = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
        async with Observer(broker) as wire, running(second):
            sensors = second.sensors
            assert sensors is not None
            assert sensors.policy.active_alarm("p-17") is not None
            await wait_for(second, lambda: sensors.connected, what="board port open again")
            board.write(line(5, "PEND", "p-17", "83", "PRESS"))
            again = await wire.wait_alarm(lambda a: a.presses == 2)
            assert again.input == "p-17"
            assert again.source is AlarmSource.SENSOR
            assert {a.alarm_id for a in wire.alarms()} == {again.alarm_id}
    finally:
        board.unplug()
