"""The Linux desk as it is shipped (issue 15's "Done when"): built from this repository with
PyInstaller (deploy/desk/trygg-desk.spec, what ``make desk-build`` runs) into a folder of the
test's own, started offscreen as a user would start it, connected to a real ``trygg-central``
(real Mosquitto, the real edge agent on gpiozero mock pins), and shown an alarm from a button
press: central records that this desk showed it, the built desk's sound plays into a real
sound server (a null sink) until a colleague resolves the alarm. And the built desk's
``autostart`` writes the built executable into the login entry; started without a console (as
the windowed Windows and macOS builds are), it logs to a file.

The build is made once for the module (about half a minute on two cores; docs/desk.md has the
figures)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.desktop.sound_server import SoundServer
from tests.e2e.conftest import RunningEdge
from tests.support.stack import Central, Desk, script

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "deploy" / "desk" / "trygg-desk.spec"
DESK_PIN = 17  # edge_config's "desk" button: acute, Møterom 101
WAIT_S = 30

pytestmark = pytest.mark.timeout(600)  # the first test includes the build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dist/trygg-desk/trygg-desk``, built from the work tree now."""
    where = tmp_path_factory.mktemp("desk-build")
    done = subprocess.run(
        [
            script("pyinstaller"),
            str(SPEC),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(where / "dist"),
            "--workpath",
            str(where / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    program = where / "dist" / "trygg-desk" / "trygg-desk"
    assert program.is_file(), f"no {program} after the build:\n{done.stderr[-2000:]}"
    return program


@pytest.fixture(scope="module")
def sound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    server = SoundServer(tmp_path_factory.mktemp("sound"))
    server.start()
    yield server
    server.stop()


def desk_env(tmp_path: Path, sound: SoundServer) -> dict[str, str]:
    """A user's session as far as the built desk can see it: offscreen, the test's sound
    server, a $USER of its own (the trigger socket's name), nothing of this virtualenv."""
    inherited = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in inherited}
    env.update(sound.env())
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
            "XDG_RUNTIME_DIR": str(sound.runtime),
            "USER": f"built-desk-{tmp_path.name}",
        }
    )
    return env


def read(log: Path) -> str:
    return log.read_text(errors="replace")


def tail(log: Path) -> str:
    return read(log)[-4000:]


async def wait(predicate: Any, what: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    """Until ``predicate()``; the edge agent runs on this loop, so the wait never blocks it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"{what}: not within {WAIT_S} s (desk exit code {proc.returncode})\n{tail(log)}"
    )


async def stop(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
    return await proc.wait()


def shown_by(central: Central, user: str) -> list[str]:
    return [
        alarm["alarm_id"]
        for alarm in central.alarms(user)
        for event in alarm["events"]
        if event["kind"] == "shown" and event["actor"] == user
    ]


async def test_the_built_desk_shows_an_alarm_from_a_real_central_and_rings_until_resolved(
    built: Path,
    sound_server: SoundServer,
    central: Central,
    edge: RunningEdge,
    tmp_path: Path,
) -> None:
    (tmp_path / "home").mkdir()
    config = tmp_path / "desk.toml"
    config.write_text(
        f'server = "{central.ws_url}"\ntoken = "{central.tokens["kari"]}"\n'
        '[location]\nsite = "oslo-sentrum"\nroom = "Kontor 3.12"\n',
        encoding="utf-8",
    )
    env = desk_env(tmp_path, sound_server)
    log = tmp_path / "built-desk.log"
    ola = Desk(central, "ola", tmp_path)  # a colleague's headless desk, to resolve it
    await ola.start()
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(built), "--config", str(config), env=env, stdout=out, stderr=out
        )
    try:
        await central.wait_screens(2)
        edge.press(DESK_PIN)
        await wait(lambda: shown_by(central, "kari"), "central: the desk showed it", proc, log)
        [alarm_id] = shown_by(central, "kari")
        [stored] = central.alarms("kari")
        assert (stored["room"], stored["level"]) == ("Møterom 101", "acute")
        assert stored["shown_at"] is not None
        await wait(
            lambda: sound_server.playing_from(proc.pid),
            "the built desk's alarm sound at the sound server",
            proc,
            log,
        )

        await ola.send(f"resolve {alarm_id}")
        await wait(
            lambda: not sound_server.playing_from(proc.pid),
            "the sound stops once the alarm is resolved",
            proc,
            log,
        )
        assert proc.returncode is None, "the built desk exited"
    finally:
        code = await stop(proc)
        await ola.stop()
    text = read(log)
    assert code == 0, text[-4000:]
    assert f"alarm {alarm_id} shown in a window" in text
    assert "alarm sound on Null Output" in text  # QtMultimedia, bundled, found the server
    assert "no screen to share on Qt's 'offscreen' platform" in text  # said once, and why
    assert text.count("no screen to share") == 1
    assert "Traceback" not in text


def test_the_built_desk_starts_itself_at_login(built: Path, tmp_path: Path) -> None:
    config = tmp_path / "desk.toml"
    config.write_text(
        'server = "ws://127.0.0.1:9/ws"\ntoken = "kari-Zk3q9VbX2mN7pL4sR8tW1yH6"\n',
        encoding="utf-8",
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "XDG_CONFIG_HOME": ""}
    done = subprocess.run(
        [str(built), "autostart", "on", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entry = tmp_path / ".config" / "autostart" / "trygg-desk.desktop"
    # The built executable itself, not a Python: the login runs what was installed.
    assert f"Exec={built} --config {config}" in entry.read_text().splitlines()


def test_the_built_desk_without_a_console_logs_to_a_file(built: Path, tmp_path: Path) -> None:
    """As the windowed Windows and macOS builds start (no stderr at all): what the desk would
    say on stderr goes to the user's log file instead (here: $XDG_STATE_HOME/trygg)."""
    bad = tmp_path / "desk.toml"
    bad.write_text('server = "http://central.example"\ntoken = "short"\n', encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run(
        [str(built), "--config", str(bad)],
        env=env,
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: os.close(2),  # no stderr: Python's sys.stderr is None
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    logged = (tmp_path / "state" / "trygg" / "trygg-desk.log").read_text(encoding="utf-8")
    assert "server" in logged
    assert "token" in logged
