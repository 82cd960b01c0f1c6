"""Edge configuration: the contract's TOML, env overrides, and file:line problems."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from configfile import ConfigError, load_settings
from edge.cli import main
from edge.config import EdgeSettings, pin_key

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "edge" / "sample-edge.toml"

GOOD = """\
site = "oslo-sentrum"
device = "rom-101"
room = "Møterom 101"
heartbeat_interval_s = 10.0
resend_interval_s = 5.0

[mqtt]
host = "127.0.0.1"
port = 1883
password = "a-real-device-password"
keepalive_s = 10

[outbox]
path = "/var/lib/trygg/edge-outbox.db"

[[buttons]]
input = "desk"
pin = 17
level = "acute"
pull_up = true
bounce_ms = 30
led_pin = 27
buzzer_pin = 22

[[buttons]]
input = "door"
pin = "GPIO23"
level = "assist"
"""


def write(tmp_path: Path, text: str, name: str = "edge.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(EdgeSettings, path)
    return [str(p) for p in raised.value.problems]


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(EdgeSettings, write(tmp_path, GOOD))
    assert settings.site == "oslo-sentrum"
    assert settings.mqtt_username == "rom-101"  # username defaults to the device id
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "a-real-device-password"
    assert "a-real-device-password" not in repr(settings)
    assert [b.input for b in settings.buttons] == ["desk", "door"]
    assert settings.button("desk").bounce.total_seconds() == 0.03
    assert settings.button("door").pull_up is True
    # A broker restart heals within about a second: no long reconnect backoff by default.
    assert (settings.mqtt.reconnect_min_s, settings.mqtt.reconnect_max_s) == (0.2, 1.0)
    with pytest.raises(KeyError):
        settings.button("window")


def test_env_overrides_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYGG_EDGE_MQTT__PASSWORD", "from-the-environment")
    settings = load_settings(EdgeSettings, write(tmp_path, GOOD))
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "from-the-environment"
    assert settings.mqtt.host == "127.0.0.1"  # the rest of [mqtt] still comes from the file


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('password = "a-real-device-password"\n', "", ":7: [mqtt.password] required value"),
        ('password = "a-real-device-password"', 'password = ""', ":10: [mqtt.password]"),
        ('password = "a-real-device-password"', 'password = "changeme"', "placeholder"),
        ('password = "a-real-device-password"', 'password = "short"', "at least 8"),
        ('level = "acute"', 'level = "urgent"', ":19: [buttons.0.level] Input should be"),
        ('pin = "GPIO23"', 'pin = "GPIO27"', ":27: [buttons.1.pin] Value error, pin 'GPIO27'"),
        ('pin = "GPIO23"', "pin = 22", "already used by desk (buzzer_pin)"),
        (
            'input = "door"',
            'input = "desk"',
            ":26: [buttons.1.input] Value error, input name 'desk' is used",
        ),
        ('device = "rom-101"', 'device = "Rom 101"', ":2: [device] String should match"),
        ('site = "oslo-sentrum"', 'site = "-x"', ":1: [site]"),
        ("bounce_ms = 30", "bounce_ms = -1", ":21: [buttons.0.bounce_ms]"),
        ("keepalive_s = 10", "keepalive_s = 10\nretries = 3", ":12: [mqtt.retries] Extra inputs"),
        ('room = "Møterom 101"\n', "", "[room] required value"),
    ],
)
def test_bad_values_name_file_line_and_reason(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    problems = problems_of(path)
    assert any(p.startswith(str(path)) and expected in p for p in problems), problems


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("port = 1883", "port = = 1883"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:9:")
    assert "not valid TOML" in problem


def test_reconnect_backoff_order_is_checked(tmp_path: Path) -> None:
    text = GOOD.replace(
        "keepalive_s = 10", "keepalive_s = 10\nreconnect_min_s = 3\nreconnect_max_s = 1"
    )
    assert any("reconnect_max_s" in p for p in problems_of(write(tmp_path, text)))


def test_at_least_one_button(tmp_path: Path) -> None:
    text = GOOD.split("[[buttons]]")[0]
    assert any("[buttons]" in p for p in problems_of(write(tmp_path, text)))


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [(17, "GPIO17", True), ("BCM17", "17", True), ("gpio4", 4, True), ("BOARD11", 17, False)],
)
def test_pin_spellings(a: int | str, b: int | str, same: bool) -> None:
    assert (pin_key(a) == pin_key(b)) is same


def test_validate_config_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    assert main(["validate-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_validate_config_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = GOOD.replace('level = "acute"', 'level = "loud"').replace('pin = "GPIO23"', "pin = 17")
    path = write(tmp_path, bad)
    assert main(["validate-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert f"{path}:19: [buttons.0.level] Input should be 'assist' or 'acute'" in lines
    assert any(line.startswith(f"{path}:27: [buttons.1.pin]") for line in lines), lines


def test_sample_config_refuses_its_placeholder_until_the_password_is_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate-config", str(SAMPLE)]) == 2
    assert "[mqtt.password] Value error, password is a placeholder" in capsys.readouterr().err
    monkeypatch.setenv("TRYGG_EDGE_MQTT__PASSWORD", "rom-101-real-secret")
    assert main(["validate-config", str(SAMPLE)]) == 0


def test_run_with_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "site = [")
    assert main(["--config", str(path)]) == 2
    assert f"{path}:1: not valid TOML" in capsys.readouterr().err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_console_script_help_and_usage_errors() -> None:
    help_run = subprocess.run(
        [sys.executable, "-m", "edge", "--help"], capture_output=True, text=True, timeout=30
    )
    assert help_run.returncode == 0
    assert "validate-config" in help_run.stdout
    assert "--config" in help_run.stdout
    no_args = subprocess.run(
        [sys.executable, "-m", "edge"], capture_output=True, text=True, timeout=30
    )
    assert no_args.returncode == 2
    assert "--config FILE is required" in no_args.stderr


SENSOR_BOARD = """
[sensor_board]
port = "/dev/ttyUSB0"
baudrate = 115200
silence_s = 3.0
reopen_s = 1.0
pendant_level = "acute"
sound_alarm_db = 80
sound_alarm_s = 5.0
"""


def test_sensor_board_is_optional(tmp_path: Path) -> None:
    assert load_settings(EdgeSettings, write(tmp_path, GOOD)).sensor_board is None
    board = load_settings(EdgeSettings, write(tmp_path, GOOD + SENSOR_BOARD)).sensor_board
    assert board is not None
    assert (board.port, board.baudrate, board.sound_alarm_db) == ("/dev/ttyUSB0", 115200, 80)
    assert board.silence.total_seconds() == 3.0
    assert board.sound_alarm_for.total_seconds() == 5.0


def test_sensor_board_defaults(tmp_path: Path) -> None:
    text = GOOD + '\n[sensor_board]\nport = "rfc2217://10.0.0.5:4000"\n'
    board = load_settings(EdgeSettings, write(tmp_path, text)).sensor_board
    assert board is not None
    assert (board.baudrate, board.silence_s, board.reopen_s) == (115200, 3.0, 1.0)
    assert board.pendant_level.value == "acute"
    assert board.sound_alarm_db is None  # no sound alarm unless the room's routine sets one
    assert board.sound_alarm_s == 5.0


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('port = ""', "sensor_board.port"),
        ("sound_alarm_db = 151", "sensor_board.sound_alarm_db"),
        ("silence_s = 0", "sensor_board.silence_s"),
        ('pendant_level = "red"', "sensor_board.pendant_level"),
        ("parity = 'E'", "sensor_board.parity"),
    ],
)
def test_sensor_board_problems_name_the_key(tmp_path: Path, line: str, where: str) -> None:
    text = GOOD + '\n[sensor_board]\nport = "/dev/ttyACM0"\n' + line + "\n"
    if line.startswith("port"):
        text = GOOD + "\n[sensor_board]\n" + line + "\n"
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 1
    assert f"[{where}]" in problems[0]
