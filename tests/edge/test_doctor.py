"""``trygg-edge doctor`` against real parts: a real Mosquitto (plain and TLS, trustme's CAs),
gpiozero's own mock pins and the simulator's ``trygg-sim`` pins, real pseudo-terminals (the
simulated sensor board, and bare ``os.openpty``), a real UDP time peer, and a small tmpfs made
full and read-only. The CLI runs as a real process in ``test_doctor_cli.py``.

One broker (both listeners) and one time peer serve the module; each test writes its own
config. What a doctor must never do is checked too: publish anything, drive an output high,
create the outbox, or take a pin someone else holds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import trustme
from gpiozero import LED
from gpiozero.pins.mock import MockFactory

from configfile import load_settings
from edge.config import EdgeSettings
from edge.core.doctor import Status, Verdict
from edge.doctor import Options, diagnose
from edge.doctor.broker import probe_broker
from firmware_sim.board import Board
from firmware_sim.broker import free_port, wait_for_port
from firmware_sim.pins import HELD_ENV, SimFactory
from tests.edge.helpers import Observer
from tests.support.broker import CENTRAL_USER, Broker, TlsListener
from tests.support.small_disk import fill, mount_small_disk
from tests.support.time_peer import TimePeer

SITE, DEVICE = "oslo-sentrum", "rom-101"
PASSWORD = "rom-101-doctor-password"


# -- the module's parts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    stranger_ca: Path
    device_cert: Path
    device_key: Path
    forged_cert: Path
    forged_key: Path


def _write_leaf(leaf: trustme.LeafCert, cert: Path, key: Path) -> None:
    with cert.open("wb") as out:
        for blob in leaf.cert_chain_pems:
            out.write(blob.bytes())
    leaf.private_key_pem.write_to_path(str(key))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    where = tmp_path_factory.mktemp("pki")
    office, stranger = trustme.CA(), trustme.CA()
    office.cert_pem.write_to_path(str(where / "ca.pem"))
    stranger.cert_pem.write_to_path(str(where / "stranger-ca.pem"))
    _write_leaf(
        office.issue_cert("127.0.0.1", "localhost"), where / "broker.pem", where / "broker.key"
    )
    _write_leaf(
        office.issue_cert("rom-101.trygg.invalid", common_name=DEVICE),
        where / "rom-101.pem",
        where / "rom-101.key",
    )
    _write_leaf(
        stranger.issue_cert("rom-101.trygg.invalid", common_name=DEVICE),
        where / "forged.pem",
        where / "forged.key",
    )
    return Pki(
        where / "ca.pem",
        where / "stranger-ca.pem",
        where / "rom-101.pem",
        where / "rom-101.key",
        where / "forged.pem",
        where / "forged.key",
    )


@pytest.fixture(scope="module")
def mqtt(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """Mosquitto with the tests' plain listener and a TLS listener as deploy/ has it."""
    broker = Broker(
        tmp_path_factory.mktemp("broker"),
        tls=TlsListener(pki.ca, pki.ca.with_name("broker.pem"), pki.ca.with_name("broker.key")),
    )
    broker.add_user(DEVICE, PASSWORD)
    broker.start()
    assert broker.tls is not None
    wait_for_port(broker.tls.port)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def time_peer() -> Iterator[TimePeer]:
    peer = TimePeer()
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    try:
        yield factory
    finally:
        factory.close()
        factory.reset()


def write_config(
    where: Path,
    broker: Broker,
    *,
    password: str = PASSWORD,
    port: int | None = None,
    tls: tuple[Path, Path | None, Path | None] | None = None,
    outbox: Path | None = None,
    board: Path | None = None,
    door_led: str = "24",
    min_free_mb: int = 50,
) -> Path:
    mqtt = f'host = "127.0.0.1"\nport = {port or broker.port}\npassword = "{password}"\n'
    if tls is not None:
        ca, cert, key = tls
        mqtt += f'tls_ca = "{ca}"\n'
        if cert is not None:
            mqtt += f'tls_cert = "{cert}"\ntls_key = "{key}"\n'
    text = (
        f'site = "{SITE}"\ndevice = "{DEVICE}"\nroom = "Møterom 101"\n'
        f"[mqtt]\n{mqtt}"
        f'[outbox]\npath = "{outbox or where / "outbox" / "edge-outbox.db"}"\n'
        '[[buttons]]\ninput = "desk"\npin = 17\nlevel = "acute"\nled_pin = 27\nbuzzer_pin = 22\n'
        f'[[buttons]]\ninput = "door"\npin = 23\nlevel = "assist"\nled_pin = "{door_led}"\n'
    )
    text += f"[selftest]\nmin_free_mb = {min_free_mb}\n"
    if board is not None:
        text += f'[sensor_board]\nport = "{board}"\n'
    (where / "outbox").mkdir(exist_ok=True)
    path = where / "edge.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def run(
    config: Path, factory: Any, peer: TimePeer | None = None, **options: Any
) -> list[Verdict]:
    """The doctor in this process on ``factory``'s pins; with a time peer that agrees, the
    clock passes whatever this machine's kernel says about its own synchronisation."""
    options.setdefault("time_peer", peer.address if peer else None)
    options.setdefault("expect_pins", "mock")
    return await diagnose(Options(config, pin_factory=factory, **options))


def one(verdicts: list[Verdict], check: str, subject: str | None = None) -> Verdict:
    found = [v for v in verdicts if v.check == check and subject in (None, v.subject)]
    assert len(found) == 1, f"{check} {subject}: {found}"
    return found[0]


def failures(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status is Status.FAIL]


# -- a ready device ----------------------------------------------------------------------------


async def test_a_ready_device_passes_every_check_and_changes_nothing(
    mqtt: Broker, time_peer: TimePeer, pins: MockFactory, tmp_path: Path
) -> None:
    board = Board("rom-101", tmp_path, tick_s=0.2)
    board.start()
    config = write_config(tmp_path, mqtt, board=board.link)
    try:
        async with Observer(mqtt, "doctor-watch") as observer:
            verdicts = await run(config, pins, time_peer)
            # Everything the doctor might have published is delivered before this sentinel (from
            # another account: client ids are bound to usernames, the observer is "tester").
            mqtt.pub("trygg/doctor-test/sentinel", b"end", user=CENTRAL_USER)
            await observer.wait_for(
                lambda: any(s.topic.endswith("sentinel") for s in observer.seen)
            )
            assert [s.topic for s in observer.seen] == ["trygg/doctor-test/sentinel"]
    finally:
        board.stop()
    assert failures(verdicts) == []
    assert one(verdicts, "config").status is Status.OK
    assert one(verdicts, "pin-factory").status is Status.OK  # mock, as asked
    pin_lines = {v.subject: v.says for v in verdicts if v.check == "pin"}
    assert pin_lines == {
        "GPIO17": "desk button: free, contact open",
        "GPIO27": "desk LED: free, left off",
        "GPIO22": "desk buzzer: free, left off",
        "GPIO23": "door button: free, contact open",
        "GPIO24": "door LED: free, left off",
    }
    serial = one(verdicts, "serial")
    assert serial.status is Status.OK, serial
    assert "HB" in serial.facts["frames"]
    assert "firmware 1.0.3" in serial.says
    assert [one(verdicts, c).status for c in ("broker-dns", "broker-tcp", "broker-login")] == [
        Status.OK
    ] * 3
    assert one(verdicts, "broker-tls").status is Status.SKIP  # plain MQTT on loopback
    # The machine's own sync state varies (a container's kernel may say unsynchronised); with a
    # peer that agrees it is at worst a warning, never a failure.
    assert one(verdicts, "clock").status in (Status.OK, Status.WARN)
    peer = one(verdicts, "clock-peer")
    assert peer.status is Status.OK, peer
    assert one(verdicts, "outbox").status is Status.OK
    # No output was ever driven on, the outbox was not created, no probe file is left behind.
    for gpio in (27, 22, 24):
        assert not any(state.state for state in pins.pin(gpio).states), gpio
    assert list((tmp_path / "outbox").iterdir()) == []


# -- the broker, stage by stage ------------------------------------------------------------------


async def test_a_wrong_password_is_a_refused_login(
    mqtt: Broker, time_peer: TimePeer, pins: MockFactory, tmp_path: Path
) -> None:
    config = write_config(tmp_path, mqtt, password="not-the-device-password")
    verdicts = await run(config, pins, time_peer)
    login = one(verdicts, "broker-login")
    assert login.status is Status.FAIL
    assert "refused the login of user rom-101" in login.says
    assert "trygg-central broker-config" in login.todo
    assert one(verdicts, "broker-tcp").status is Status.OK
    assert [v.check for v in failures(verdicts)] == ["broker-login"]


async def test_a_port_nobody_listens_on_is_unreachable_not_a_login_problem(
    mqtt: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    verdicts = await run(write_config(tmp_path, mqtt, port=free_port()), pins)
    tcp = one(verdicts, "broker-tcp")
    assert tcp.status is Status.FAIL
    assert "refuses connections: nothing listens there" in tcp.says
    assert [one(verdicts, c).status for c in ("broker-tls", "broker-login")] == [Status.SKIP] * 2


async def test_tls_with_the_office_ca_and_the_devices_certificate_logs_in(
    mqtt: Broker, pki: Pki, pins: MockFactory, tmp_path: Path
) -> None:
    assert mqtt.tls is not None
    tls = (pki.ca, pki.device_cert, pki.device_key)
    verdicts = await run(write_config(tmp_path, mqtt, port=mqtt.tls.port, tls=tls), pins)
    tls_line = one(verdicts, "broker-tls")
    assert tls_line.status is Status.OK, tls_line
    assert "a certificate the office CA signed, for 127.0.0.1" in tls_line.says
    login = one(verdicts, "broker-login")
    assert login.status is Status.OK, login
    assert "certificate for rom-101" in login.says


async def test_a_broker_certificate_from_another_ca_is_a_bad_certificate(
    mqtt: Broker, pki: Pki, pins: MockFactory, tmp_path: Path
) -> None:
    assert mqtt.tls is not None
    tls = (pki.stranger_ca, pki.device_cert, pki.device_key)
    verdicts = await run(write_config(tmp_path, mqtt, port=mqtt.tls.port, tls=tls), pins)
    tls_line = one(verdicts, "broker-tls")
    assert tls_line.status is Status.FAIL
    assert "is not signed by the CA in tls_ca" in tls_line.says
    assert tls_line.facts["kind"] == "untrusted"
    assert one(verdicts, "broker-tcp").status is Status.OK
    assert one(verdicts, "broker-login").status is Status.SKIP


async def test_a_device_certificate_the_broker_does_not_trust_is_named(
    mqtt: Broker, pki: Pki, pins: MockFactory, tmp_path: Path
) -> None:
    assert mqtt.tls is not None
    tls = (pki.ca, pki.forged_cert, pki.forged_key)
    verdicts = await run(write_config(tmp_path, mqtt, port=mqtt.tls.port, tls=tls), pins)
    tls_line = one(verdicts, "broker-tls")
    assert tls_line.status is Status.FAIL, tls_line
    assert "refused this device's certificate" in tls_line.says


async def test_tls_on_the_plain_port_is_told_apart(
    mqtt: Broker, pki: Pki, pins: MockFactory, tmp_path: Path
) -> None:
    verdicts = await run(write_config(tmp_path, mqtt, tls=(pki.ca, None, None)), pins)
    tls_line = one(verdicts, "broker-tls")
    assert tls_line.status is Status.FAIL
    # A plain listener drops a ClientHello as a malformed MQTT packet: the handshake ends.
    assert "ended the TLS handshake" in tls_line.says
    assert "TLS listener (8883)" in tls_line.todo


# -- pins ------------------------------------------------------------------------------------


async def test_a_pin_already_in_use_fails_and_is_left_to_its_holder(
    mqtt: Broker, time_peer: TimePeer, pins: MockFactory, tmp_path: Path
) -> None:
    held = LED(27, pin_factory=pins)  # another program's LED on the desk LED's GPIO
    try:
        verdicts = await run(write_config(tmp_path, mqtt), pins, time_peer)
        taken = one(verdicts, "pin", "GPIO27")
        assert taken.status is Status.FAIL
        assert "GPIO27 is in use" in taken.says
        assert "systemctl stop trygg-edge" in taken.todo
        assert [v.subject for v in failures(verdicts)] == ["GPIO27"]
        held.on()  # still its holder's: the doctor released only what it claimed
        assert pins.pin(27).state
    finally:
        held.close()


async def test_one_gpio_under_two_names_is_caught(
    mqtt: Broker, time_peer: TimePeer, pins: MockFactory, tmp_path: Path
) -> None:
    # BOARD11 is GPIO17, the desk button: the config's own check cannot know the header.
    verdicts = await run(write_config(tmp_path, mqtt, door_led="BOARD11"), pins, time_peer)
    first, second = (v for v in verdicts if v.subject == "GPIO17")
    assert first.status is Status.OK  # the first owner keeps it
    assert (second.status, second.says) == (
        Status.FAIL,
        "door LED (BOARD11) is the same GPIO as desk button",
    )
    assert failures(verdicts) == [second]


async def test_a_button_held_down_at_install_reads_pressed_on_the_simulators_pins(
    mqtt: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HELD_ENV, "23")  # the door button's contact closed from the start
    factory = SimFactory()
    try:
        verdicts = await run(write_config(tmp_path, mqtt), factory, expect_pins="trygg-sim")
    finally:
        factory.close()
    assert one(verdicts, "pin-factory").says.startswith("gpiozero uses trygg-sim")
    pressed = one(verdicts, "pin", "GPIO23")
    assert pressed.status is Status.FAIL
    assert pressed.says == "door button reads pressed right now"
    assert one(verdicts, "pin", "GPIO17").status is Status.OK


# -- the serial port -------------------------------------------------------------------------


async def test_a_missing_serial_device_fails(
    mqtt: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    gone = tmp_path / "ttyUSB-unplugged"
    verdicts = await run(write_config(tmp_path, mqtt, board=gone), pins)
    serial = one(verdicts, "serial")
    assert serial.status is Status.FAIL
    assert f"{gone} does not exist" in serial.says


@pytest.fixture
def bare_pty(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "board.tty"
    link.symlink_to(os.ttyname(slave))
    os.close(slave)
    try:
        yield master, link
    finally:
        os.close(master)


async def test_noise_on_the_line_is_not_a_board(
    mqtt: Broker, pins: MockFactory, tmp_path: Path, bare_pty: tuple[int, Path]
) -> None:
    master, link = bare_pty
    stop = threading.Event()

    def chatter() -> None:  # a board at the wrong baud rate: frames with broken checksums
        while not stop.wait(0.05):
            try:
                os.write(master, b"$1,HB,12,1.0.3*0000\n")
            except OSError:  # nobody has the line open: the pty says EIO
                continue

    writer = threading.Thread(target=chatter, daemon=True)
    writer.start()
    try:
        verdicts = await run(write_config(tmp_path, mqtt, board=link), pins, serial_listen_s=1.0)
    finally:
        stop.set()
        writer.join(5)
    serial = one(verdicts, "serial")
    assert serial.status is Status.WARN, serial
    assert "but no valid frame" in serial.says
    assert serial.facts["drops"].get("bad_checksum", 0) >= 1


async def test_a_port_another_process_holds_is_not_touched(
    mqtt: Broker, pins: MockFactory, tmp_path: Path, bare_pty: tuple[int, Path]
) -> None:
    _master, link = bare_pty
    holder = await hold_open(link)
    try:
        verdicts = await run(write_config(tmp_path, mqtt, board=link), pins)
    finally:
        await end(holder)
    serial = one(verdicts, "serial")
    assert serial.status is Status.SKIP
    assert f"pid {holder.pid}" in serial.says
    assert "not opened" in serial.says


async def hold_open(path: Path) -> asyncio.subprocess.Process:
    """Another process with ``path`` open (as the running agent has its port and outbox)."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import os, sys, time; os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY); "
        "print('open', flush=True); time.sleep(60)",
        str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert (await holder.stdout.readline()).strip() == b"open"
    return holder


async def end(process: asyncio.subprocess.Process) -> None:
    process.kill()
    await process.wait()


# -- the outbox's disk -------------------------------------------------------------------------


async def test_a_full_and_then_a_read_only_outbox_disk_fail(
    mqtt: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    try:
        # 8 MB of disk: a 1 MB minimum, so that the read-only case is not also "too small".
        config = write_config(tmp_path, mqtt, outbox=disk / "edge-outbox.db", min_free_mb=1)
        filler = fill(disk)
        full = one(await run(config, pins), "outbox")
        assert full.status is Status.FAIL
        assert "0.0 MB free, below 1 MB" in full.says
        filler.unlink()
        remount = await asyncio.to_thread(
            subprocess.run,
            ["mount", "-o", "remount,ro", str(disk)],
            capture_output=True,
            text=True,
        )
        assert remount.returncode == 0, remount.stderr
        read_only = one(await run(config, pins), "outbox")
        assert read_only.status is Status.FAIL, read_only
        assert "Read-only file system" in read_only.says
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", str(disk)], check=False)


async def test_the_agents_outbox_held_open_means_pins_serial_and_login_are_left_alone(
    mqtt: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    config = write_config(tmp_path, mqtt, board=tmp_path / "board.tty")
    outbox = tmp_path / "outbox" / "edge-outbox.db"
    outbox.write_bytes(b"")
    (tmp_path / "board.tty").write_bytes(b"")
    holder = await hold_open(outbox)
    try:
        verdicts = await run(config, pins)
    finally:
        await end(holder)
    assert one(verdicts, "pin").status is Status.SKIP
    assert one(verdicts, "serial").status is Status.SKIP
    login = one(verdicts, "broker-login")
    assert login.status is Status.SKIP
    assert f"pid {holder.pid}" in login.says
    assert not any(pins.pin(n).states[1:] for n in (17, 27, 22, 23, 24))  # never touched


# -- the clock against a real time peer ---------------------------------------------------------


async def test_a_peer_an_hour_ahead_fails_the_clock(
    mqtt: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    peer = TimePeer(offset_s=3600.0)
    try:
        verdicts = await run(write_config(tmp_path, mqtt), pins, peer)
    finally:
        peer.close()
    off = one(verdicts, "clock-peer")
    assert off.status is Status.FAIL
    assert f"s behind {peer.address} (limit 2 s" in off.says
    assert 3599.0 < off.facts["offset_s"] < 3601.0


# -- why the doctor never logs in beside a running agent -----------------------------------------


async def test_the_doctors_login_takes_the_devices_client_id_and_would_throw_the_agent_off(
    mqtt: Broker, tmp_path: Path
) -> None:
    """The broker as shipped (use_username_as_clientid) replaces the doctor's own client id
    with the device's username: the doctor's login *is* the agent's client. Were it made while
    the agent is connected, the agent would be thrown off and its will would say "offline".
    That is why the doctor looks for a running agent first and then does not log in (see
    test_the_agents_outbox_held_open_means_pins_serial_and_login_are_left_alone, and
    test_doctor_cli.py's real agent)."""
    settings = load_settings(EdgeSettings, write_config(tmp_path, mqtt))
    status = f"trygg/v1/{SITE}/{DEVICE}/status"
    async with Observer(mqtt, "doctor-takeover-watch") as observer:
        async with aiomqtt.Client(
            "127.0.0.1",
            mqtt.port,
            username=DEVICE,
            password=PASSWORD,
            identifier="the-agent",  # also replaced by "rom-101"
            protocol=aiomqtt.ProtocolVersion.V5,
            will=aiomqtt.Will(status, b"the agent's will", qos=1),
        ) as agent:
            await agent.subscribe(f"trygg/v1/{SITE}/{DEVICE}/ack")
            facts = await probe_broker(settings, ())  # as if no agent had been found
            assert facts.login_done
            with pytest.raises(aiomqtt.MqttError, match="Disconnected"):
                await asyncio.wait_for(_until_disconnected(agent), 10)
        await observer.wait_for(
            lambda: any(s.payload == b"the agent's will" for s in observer.seen),
            what="the agent's will",
        )


async def _until_disconnected(client: aiomqtt.Client) -> None:
    """Reads the client's messages until the broker ends its connection (aiomqtt raises)."""
    async for _message in client.messages:
        pass
