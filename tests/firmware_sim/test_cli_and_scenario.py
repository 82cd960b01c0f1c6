"""``trygg-sim`` commands and scenarios against simulated hardware running in this process."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero import LED, Button

from configfile import ConfigError
from firmware_sim.board import Board
from firmware_sim.board_commands import serve
from firmware_sim.cli import main
from firmware_sim.config import DEFAULT_DEMO
from firmware_sim.control import ControlServer
from firmware_sim.pins import SimFactory
from firmware_sim.scenario import check_against, load_scenario, play
from tests.firmware_sim.conftest import Line, wait_until
from tests.support.stack import script

SCENARIOS = Path(__file__).parents[2] / "firmware_sim" / "scenarios"


class Office:
    """What a demo leaves in its workdir for one room: config, pins socket, board socket."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        (workdir / "rom-101.toml").write_text(
            'site = "s"\ndevice = "rom-101"\nroom = "R"\n'
            '[[buttons]]\ninput = "desk"\npin = 17\nlevel = "acute"\nled_pin = 27\n'
            '[[buttons]]\ninput = "wall"\npin = 5\nlevel = "assist"\n'
        )
        self.factory = SimFactory(control_path=str(workdir / "rom-101.sock"))
        self.desk = Button(17, pin_factory=self.factory)
        self.wall = Button(5, pin_factory=self.factory)
        self.led = LED(27, pin_factory=self.factory)
        self.board = Board("rom-101", workdir, tick_s=0.1)
        self.server: ControlServer = serve(self.board, workdir)

    def close(self) -> None:
        self.server.stop()
        self.board.stop()
        for device in (self.desk, self.wall, self.led):
            device.close()
        self.factory.close()


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    o = Office(tmp_path)
    try:
        yield o
    finally:
        o.close()


def sim(office: Office, *argv: str) -> int:
    return main(["--workdir", str(office.dir), *argv])


def test_input_commands(office: Office, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim(office, "hold", "rom-101", "desk") == 0
    assert office.desk.is_pressed
    assert sim(office, "release", "rom-101", "desk") == 0
    assert sim(office, "stuck", "rom-101", "wall") == 0
    assert sim(office, "tap", "rom-101", "wall") == 0
    assert "ignored: the input is stuck" in capsys.readouterr().out
    assert office.wall.is_pressed
    assert sim(office, "fix", "rom-101", "wall") == 0
    assert not office.wall.is_pressed


def test_outputs_named_by_input(office: Office, capsys: pytest.CaptureFixture[str]) -> None:
    office.led.on()
    sim(office, "hold", "rom-101", "wall")
    capsys.readouterr()
    assert sim(office, "outputs", "rom-101") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["desk"]["led"]["pattern"] == "on"
    assert shown["desk"]["button"]["pressed"] is False
    assert shown["wall"]["button"]["pressed"] is True
    assert "led" not in shown["wall"]


def test_board_commands(office: Office, capsys: pytest.CaptureFixture[str]) -> None:
    line = Line(office.board.link)
    try:
        assert sim(office, "board", "rom-101", "pendant", "p-7", "--battery", "55") == 0
        assert line.wait_frame("PEND")[2] == ["p-7", "55", "PRESS"]
        assert sim(office, "board", "rom-101", "door", "open") == 0
        assert line.wait_frame("DOOR")[2] == ["1"]
        capsys.readouterr()
        assert sim(office, "board", "rom-101", "noise", "--bytes", "5") == 0
        assert len(bytes.fromhex(json.loads(capsys.readouterr().out)["wrote"])) == 5
        assert sim(office, "board", "rom-101", "unplug") == 0
        assert not office.board.link.exists()
        assert sim(office, "board", "rom-101", "replug") == 0
        assert office.board.link.is_symlink()
    finally:
        line.close()


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["tap", "rom-999", "desk"], "no simulated device 'rom-999'"),
        (["tap", "rom-101", "floor"], "has no input 'floor' (its inputs: desk, wall)"),
        (["board", "rom-999", "unplug"], "no simulated device 'rom-999'"),
        (["board", "rom-101", "sound", "200"], "0..150"),
        (["outputs", "rom-999"], "no simulated device"),
    ],
)
def test_clear_errors_exit_2(
    office: Office, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    assert sim(office, *argv) == 2
    assert error in capsys.readouterr().err


def test_device_without_board(office: Office, capsys: pytest.CaptureFixture[str]) -> None:
    (office.dir / "rom-102.toml").write_text((office.dir / "rom-101.toml").read_text())
    assert sim(office, "board", "rom-102", "door", "open") == 2
    assert "has no simulated sensor board" in capsys.readouterr().err


def test_console_script_help_and_usage_errors(tmp_path: Path) -> None:
    helped = subprocess.run([script("trygg-sim"), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0
    for word in ("stuck", "cut", "fix", "board", "fleet", "--scenario" * 0 + "demo"):
        assert word in helped.stdout
    wrong = subprocess.run(
        [script("trygg-sim"), "--workdir", str(tmp_path), "board", "rom-1", "door", "ajar"],
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2
    assert "invalid choice: 'ajar'" in wrong.stderr


# -- scenarios ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_scenarios_fit_the_default_demo(path: Path) -> None:
    assert check_against(load_scenario(path), path, DEFAULT_DEMO) == []
    assert main(["validate-scenario", str(path)]) == 0


def test_scenario_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[step]]\nat_s = 1\naction = "tap"\ndevice = "rom-101"\n\n'  # no input: line 1
        '[[step]]\nat_s = 2\naction = "door"\ndevice = "rom-101"\nvalue = "ajar"\n\n'  # 10
        '[[step]]\nat_s = -1\naction = "explode"\ndevice = "rom-101"\n'  # lines 13, 14
    )
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    shown = [str(p) for p in caught.value.problems]
    assert shown[0] == f"{path}:1: [step.0] Value error, action 'tap' needs input"
    assert shown[1].startswith(f"{path}:10: [step.1.value]")
    assert shown[2].startswith(f"{path}:13: [step.2.at_s]")
    assert shown[3].startswith(f"{path}:14: [step.2.action] Input should be 'press'")


def test_scenario_against_the_demo_names_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[[step]]\nat_s = 1\naction = "tap"\ndevice = "nope"\ninput = "desk"\n'
        '[[step]]\nat_s = 1\naction = "tap"\ndevice = "rom-101"\ninput = "floor"\n'
        '[[step]]\nat_s = 1\naction = "unplug"\ndevice = "rom-101"\n'
    )
    no_boards = DEFAULT_DEMO.without_boards()
    problems = [str(p) for p in check_against(load_scenario(path), path, no_boards)]
    assert problems == [
        f"{path}:4: [step.0.device] the demo has no device 'nope'",
        f"{path}:10: [step.1.input] rom-101 has no input 'floor' (its inputs: desk, wall)",
        f"{path}:13: [step.2.action] rom-101 has no sensor board",
    ]
    assert main(["validate-scenario", str(path)]) == 2


def test_play_runs_steps_in_order(office: Office, tmp_path: Path) -> None:
    path = tmp_path / "play.toml"
    path.write_text(
        'description = "t"\n'
        '[[step]]\nat_s = 0.2\naction = "door"\ndevice = "rom-101"\nvalue = "open"\n'
        '[[step]]\nat_s = 0\naction = "hold"\ndevice = "rom-101"\ninput = "desk"\n'
        '[[step]]\nat_s = 0.1\naction = "cut"\ndevice = "rom-101"\ninput = "wall"\n'
        '[[step]]\nat_s = 0.1\naction = "tap"\ndevice = "rom-101"\ninput = "wall"\n'
        '[[step]]\nat_s = 0.3\naction = "tap"\ndevice = "rom-999"\ninput = "wall"\n'
    )
    out = io.StringIO()
    failed = play(load_scenario(path), office.dir, out=out)
    lines = out.getvalue().splitlines()
    assert [line.split("]")[0] for line in lines] == [
        "[scenario t=0s",
        "[scenario t=0.1s",
        "[scenario t=0.1s",
        "[scenario t=0.2s",
        "[scenario t=0.3s",
    ]
    assert lines[0].endswith("hold rom-101 desk: ok")
    assert lines[2].endswith("tap rom-101 wall: ignored (cut)")
    assert "failed: no simulated device 'rom-999'" in lines[4]
    assert failed == 1
    assert office.desk.is_pressed
    wait_until(lambda: office.board.status()["door"] == "open", what="door open")
