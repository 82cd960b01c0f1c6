"""``trygg-edge doctor`` as a real process: its lines, its JSON and its exit status.

The process runs ``.venv/bin/trygg-edge`` with pins from the environment, as on a Pi
(``GPIOZERO_PIN_FACTORY``; here the simulator's ``trygg-sim`` or gpiozero's ``mock``), against
a real Mosquitto and a real time peer. Two more runs check what only a separate process shows:
a serial port refused to a process outside group dialout, and a running agent left alone (no
pin, no port, no second login that would throw it off the broker).

The refused port: the tests run as root, whom no permission stops, and this machine's Python
lives under /root, where another user cannot reach it. So the doctor runs as root *without its
capabilities and groups* (``setpriv``): the kernel then checks the pty's owner, group and mode
for it as for any user, and refuses it exactly as it refuses ``trygg`` outside dialout.
"""

from __future__ import annotations

import asyncio
import grp
import json
import os
import shutil
import subprocess
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import StatusMessage
from tests.edge.helpers import Observer
from tests.support.broker import CENTRAL_USER, Broker
from tests.support.stack import script
from tests.support.time_peer import TimePeer

REPO = Path(__file__).resolve().parents[2]
SITE, DEVICE = "oslo-sentrum", "rom-101"
PASSWORD = "rom-101-doctor-cli-password"
# A device whose password has a `$` in it, given in the environment file as an operator would
# write it for systemd (EnvironmentFile=, unquoted: no expansion there; a shell would expand it).
DOLLAR_DEVICE, DOLLAR_PASSWORD = "rom-102", "rom-102-doctor-pa$word-x7-k9"


@pytest.fixture(scope="module")
def mqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker(tmp_path_factory.mktemp("broker"))
    broker.add_user(DEVICE, PASSWORD)
    broker.add_user(DOLLAR_DEVICE, DOLLAR_PASSWORD)
    broker.start()
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


def write_config(
    where: Path, broker: Broker, password: str = PASSWORD, board: str = "", device: str = DEVICE
) -> Path:
    path = where / "edge.toml"
    path.write_text(
        f'site = "{SITE}"\ndevice = "{device}"\nroom = "Møterom 101"\nheartbeat_interval_s = 1.0\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\npassword = "{password}"\n'
        f'[outbox]\npath = "{where / "edge-outbox.db"}"\n'
        '[[buttons]]\ninput = "desk"\npin = 17\nlevel = "acute"\nled_pin = 27\n'
        + (f'[sensor_board]\nport = "{board}"\n' if board else ""),
        encoding="utf-8",
    )
    return path


UNPRIVILEGED = ["--bounding-set=-all", "--inh-caps=-all", "--clear-groups"]


def doctor(
    config: Path,
    *extra: str,
    factory: str = "trygg-sim",
    unprivileged: bool = False,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYGG_", "GPIOZERO_"))}
    env["GPIOZERO_PIN_FACTORY"] = factory
    argv = [script("trygg-edge"), "doctor", "--config", str(config), "--expect-pins", factory]
    if unprivileged:
        setpriv = shutil.which("setpriv")
        assert setpriv, (
            "this test drops root's privileges with setpriv (apt-get install util-linux)"
        )
        argv = [setpriv, *UNPRIVILEGED, *argv]
    return subprocess.run(
        [*argv, *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def test_a_refused_login_is_one_crossed_line_and_exit_status_1(
    mqtt: Broker, time_peer: TimePeer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, mqtt, password="not-the-device-password")
    result = doctor(config, "--time-peer", time_peer.address)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"✓ config: {config} is valid (site oslo-sentrum, device rom-101, 1 inputs)" in lines
    assert "✓ pin GPIO17: desk button: free, contact open" in lines
    assert "✓ pin GPIO27: desk LED: free, left off" in lines
    assert "– serial port: no [sensor_board] in the config; nothing to check" in lines
    [login] = [line for line in lines if line.startswith("✗ broker login:")]
    assert "refused the login of user rom-101" in login
    assert " — do: " in login
    assert [line for line in lines if line.startswith("✗")][:-1] == [login]  # one failure
    assert lines[-1].startswith("✗ 1 of ")
    assert "run the doctor again" in lines[-1]


def test_a_ready_device_exits_0_and_json_says_ok(
    mqtt: Broker, time_peer: TimePeer, tmp_path: Path
) -> None:
    result = doctor(write_config(tmp_path, mqtt), "--json", "--time-peer", time_peer.address)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True
    by_check = {(c["check"], c["subject"]): c["status"] for c in answer["checks"]}
    assert by_check[("pin-factory", "")] == "ok"
    assert by_check[("pin", "GPIO17")] == "ok"
    assert by_check[("broker-login", f"{mqtt.host}:{mqtt.port}")] == "ok"
    assert by_check[("clock-peer", time_peer.address)] == "ok"
    assert "fail" not in by_check.values()


def test_a_refused_config_exits_2_with_file_line_and_reason(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('site = "oslo-sentrum"\ndevice = "Rom 101"\n', encoding="utf-8")
    result = doctor(config)
    assert result.returncode == 2
    assert f"✗ config: {config}:2: [device]" in result.stdout


def test_a_serial_port_refused_to_a_process_outside_dialout_is_explained(
    mqtt: Broker, tmp_path: Path
) -> None:
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        device = os.ttyname(slave)
        # Owned as udev makes /dev/ttyUSB0 (root:dialout), but by another owner here, since the
        # doctor stays uid 0 (without its privileges).
        os.chown(device, 65534, grp.getgrnam("dialout").gr_gid)
        os.chmod(device, 0o660)
        config = write_config(tmp_path, mqtt, board=device)
        result = doctor(config, "--time-peer", "none", factory="mock", unprivileged=True)
    finally:
        os.close(slave)
        os.close(master)
    [serial] = [line for line in result.stdout.splitlines() if line.startswith("✗ serial port:")]
    assert f"{device} (group dialout) refuses root: Permission denied" in serial, result.stdout
    assert "root is not in group dialout: `sudo usermod -aG dialout root`" in serial
    assert result.returncode == 1


async def test_a_running_agent_is_left_alone(
    mqtt: Broker, time_peer: TimePeer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, mqtt)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRYGG_", "GPIOZERO_"))}
    env["GPIOZERO_PIN_FACTORY"] = "mock"
    status_topic = f"trygg/v1/{SITE}/{DEVICE}/status"

    def states() -> list[str]:
        return [
            message.state
            for seen in observer.seen
            if seen.topic == status_topic and isinstance(message := seen.decoded(), StatusMessage)
        ]

    async with Observer(mqtt, "doctor-cli-watch") as observer:
        agent = await asyncio.create_subprocess_exec(
            script("trygg-edge"),
            "--config",
            str(config),
            env=env,
            stderr=(tmp_path / "agent.log").open("wb"),
        )
        try:
            await observer.wait_for(lambda: "online" in states(), what="the agent online")
            result = await asyncio.to_thread(doctor, config, "--time-peer", time_peer.address)
            mqtt.pub("trygg/doctor-test/sentinel", b"end", user=CENTRAL_USER)
            await observer.wait_for(
                lambda: any(s.topic.endswith("sentinel") for s in observer.seen), what="sentinel"
            )
            until_sentinel = states()
            assert agent.returncode is None  # still running
        finally:
            agent.terminate()
            await agent.wait()
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    [pins] = [line for line in lines if line.startswith("– pins:")]
    assert "the agent is running (pid" in pins
    [login] = [line for line in lines if line.startswith("– broker login:")]
    assert "would throw it off the broker" in login
    # Its session was never taken over: no "offline" (its will) between start and sentinel.
    assert until_sentinel == ["online"]


def test_the_env_file_is_read_as_systemd_reads_it_so_a_dollar_password_logs_in(
    mqtt: Broker, tmp_path: Path
) -> None:
    """``--env-file`` gives the doctor the password the service gets (systemd: no expansion),
    from a file or from stdin (the install script hands a root-only file over that way). The
    same file sourced by a shell, as the install script once did, gives another password."""
    config = write_config(tmp_path, mqtt, password="not-the-device-password", device=DOLLAR_DEVICE)
    env_file = tmp_path / "edge.env"
    env_file.write_text(
        "# the device's secret, as for EnvironmentFile=\n"
        f"TRYGG_EDGE_MQTT__PASSWORD={DOLLAR_PASSWORD}\n",
        encoding="utf-8",
    )

    def login_line(result: subprocess.CompletedProcess[str]) -> str:
        [line] = [x for x in result.stdout.splitlines() if "broker login:" in x]
        return line

    from_file = doctor(config, "--time-peer", "none", "--env-file", str(env_file))
    assert login_line(from_file).startswith("✓ broker login:"), from_file.stdout + from_file.stderr
    from_stdin = doctor(
        config, "--time-peer", "none", "--env-file", "-", stdin=env_file.read_text("utf-8")
    )
    assert login_line(from_stdin).startswith("✓ broker login:"), from_stdin.stdout

    env = str(env_file)
    # What `set -a; . edge.env` gave instead ("$word" expanded to nothing): refused.
    sourced = subprocess.run(
        ["bash", "-c", 'set -a; . "$1"; set +a; printf %s "$TRYGG_EDGE_MQTT__PASSWORD"', "-", env],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sourced.stdout == "rom-102-doctor-pa-x7-k9"
    shell = doctor(
        write_config(tmp_path, mqtt, password=sourced.stdout, device=DOLLAR_DEVICE),
        "--time-peer",
        "none",
    )
    assert login_line(shell).startswith("✗ broker login:"), shell.stdout


def test_an_unreadable_env_file_is_a_clear_error(tmp_path: Path, mqtt: Broker) -> None:
    missing = tmp_path / "no-such.env"
    result = doctor(write_config(tmp_path, mqtt), "--env-file", str(missing))
    assert result.returncode == 2
    assert f"cannot read the environment file {missing}" in result.stderr
    assert result.stdout == ""
