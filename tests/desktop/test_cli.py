"""trygg-desk's command line: validate-config, --help, and the modes it refuses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from configfile import load_settings
from desktop.cli import main
from desktop.config import DeskSettings
from tests.desktop.desk_process import TRYGG_DESK

SAMPLE = Path(__file__).parents[2] / "desktop" / "sample-desk.toml"
GOOD_TOKEN = "Zk3q9VbX2mN7pL4sR8tW1yH6"


@pytest.fixture(autouse=True)
def no_desk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRYGG_DESK_TOKEN", "TRYGG_DESK_SERVER"):
        monkeypatch.delenv(name, raising=False)


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "desk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()


def test_a_good_file_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, f'server = "wss://central.example:8443/ws"\ntoken = "{GOOD_TOKEN}"\n')
    assert main(["validate-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"
    settings = load_settings(DeskSettings, path)
    assert settings.token.get_secret_value() == GOOD_TOKEN
    assert GOOD_TOKEN not in repr(settings)  # the token stays out of logs and tracebacks


def test_the_sample_refuses_its_placeholder_token(capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(capsys, "validate-config", str(SAMPLE))
    line = next(n for n, t in enumerate(SAMPLE.read_text().splitlines(), 1) if "token =" in t)
    assert lines == [f"{SAMPLE}:{line}: [token] is a placeholder, not a real token"]


def test_the_sample_is_ok_with_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRYGG_DESK_TOKEN", GOOD_TOKEN)
    assert main(["validate-config", str(SAMPLE)]) == 0
    assert capsys.readouterr().out == f"{SAMPLE}: ok\n"


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("http://central.example/ws", "must be a ws:// or wss:// URL"),
        ("central.example:8080/ws", "must be a ws:// or wss:// URL"),
        ("ws:///ws", "the URL names no host"),
        ("ws://central.example:99999/ws", "not a valid URL"),
        ("ws://central.example:0/ws", "port 0"),
        ("ws://kari:pw@central.example/ws", "put the token in `token`"),
        # Plain ws:// would carry the token and alarms in clear: loopback only.
        ("ws://central.example/ws", "plain ws:// is only for this machine (loopback); use wss://"),
        ("ws://10.0.0.5:8080/ws", "use wss://10.0.0.5:8080/ws so the token"),
        ("ws://[fe80::1]:8080/ws", "plain ws:// is only for this machine"),
    ],
)
def test_server_must_be_a_websocket_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str, reason: str
) -> None:
    path = config(tmp_path, f'token = "{GOOD_TOKEN}"\nserver = "{server}"\n')
    [line] = problems(capsys, "validate-config", str(path))
    assert line.startswith(f"{path}:2: [server] ")
    assert reason in line


@pytest.mark.parametrize(
    "server",
    [
        "ws://127.0.0.1:8080/ws",
        "ws://127.8.0.1/ws",
        "ws://localhost:1/ws",
        "ws://[::1]:8080/ws",
        "wss://central.example/ws",
    ],
)
def test_plain_ws_is_fine_to_loopback_and_wss_anywhere(tmp_path: Path, server: str) -> None:
    path = config(tmp_path, f'token = "{GOOD_TOKEN}"\nserver = "{server}"\n')
    assert main(["validate-config", str(path)]) == 0


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("short", "must be at least 24 characters (it is 5)"),
        ("changeme-changeme-changeme", "placeholder"),
        ("<your token goes here, please>", "must not contain spaces"),
        ("YOUR_TOKEN_HERE_0123456789", "placeholder"),
        ("*" * 30, "placeholder"),
        ("ab" * 15, "placeholder"),
        ("aaaaaaaaaaaaaaaaaaaabcde", "the token is too weak (about 14 bits"),
        ("x" * 23 + "\\t", "must not contain spaces or control characters"),
    ],
)
def test_token_must_be_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], token: str, reason: str
) -> None:
    path = config(tmp_path, f'server = "ws://127.0.0.1:8080/ws"\ntoken = "{token}"\n')
    [line] = problems(capsys, "validate-config", str(path))
    assert line.startswith(f"{path}:2: [token] ")
    assert reason in line


def test_each_problem_is_listed_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, '# desk\nserver = "ftp://x"\ncolour = "red"\n')
    lines = problems(capsys, "validate-config", str(path))
    assert (
        f"{path}:2: [server] must be a ws:// or wss:// URL, e.g. wss://central.example/ws" in lines
    )
    assert f"{path}:3: [colour] Extra inputs are not permitted" in lines
    # No token and no credential file: the reason says how to get one.
    assert (
        f"{path}: [token] required: token, or credential_file"
        " (run `trygg-desk connect <central URL>`)" in lines
    )


def test_not_toml_and_missing_files_are_problems_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, 'server = "ws://x/ws"\ntoken = \n')
    [line] = problems(capsys, "validate-config", str(path))
    assert line.startswith(f"{path}:2: not valid TOML")
    missing = tmp_path / "nope.toml"
    [line] = problems(capsys, "validate-config", str(missing))
    assert line.startswith(f"{missing}: cannot read")


def test_running_with_a_bad_config_exits_2_with_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, 'server = "ws://127.0.0.1:1/ws"\ntoken = "short"\n')
    [line] = problems(capsys, "--config", str(path), "--headless")
    assert line.startswith(f"{path}:2: [token] must be at least 24 characters")


FULL = f"""
server = "wss://central.example/ws"
token = "{GOOD_TOKEN}"
language = "en"
[location]
site = "oslo-sentrum"
room = "Kontor 3.12"
floor = "3. etasje"
[hotkey]
sequence = "ctrl+shift+f12"
level = "assist"
countdown_s = 3
[sound]
file = ""
enough_responders = 2
"""


def test_the_window_client_sections_are_read_and_normalised(tmp_path: Path) -> None:
    settings = load_settings(DeskSettings, config(tmp_path, FULL))
    assert settings.language.value == "en"
    assert settings.location is not None
    assert settings.location.floor == "3. etasje"
    assert settings.hotkey.sequence == "Ctrl+Shift+F12"  # written as the user reads it
    assert settings.hotkey.level.value == "assist"
    assert settings.sound.enough_responders == 2


def test_the_window_client_sections_have_safe_defaults(tmp_path: Path) -> None:
    path = config(tmp_path, f'server = "ws://127.0.0.1:8080/ws"\ntoken = "{GOOD_TOKEN}"\n')
    settings = load_settings(DeskSettings, path)
    assert settings.language.value == "nb"  # Norwegian unless asked otherwise
    assert settings.location is None  # the silent alarm then says it has no location
    assert (settings.hotkey.sequence, settings.hotkey.countdown_s) == ("Ctrl+Shift+F12", 3.0)


@pytest.mark.parametrize(
    ("old", "new", "where", "reason"),
    [
        ('language = "en"', 'language = "de"', "language", "'nb' or 'en'"),
        ('site = "oslo-sentrum"', 'site = "Oslo Sentrum"', "location.site", "pattern"),
        ('sequence = "ctrl+shift+f12"', 'sequence = "q"', "hotkey.sequence", "would fire while"),
        ('sequence = "ctrl+shift+f12"', 'sequence = "Hyper+F1"', "hotkey.sequence", "modifier"),
        (
            'sequence = "ctrl+shift+f12"',
            'sequence = "Ctrl+Shift+F11"',
            "hotkey",
            "must be different keys",
        ),
        ("countdown_s = 3", "countdown_s = 0", "hotkey.countdown_s", "greater than or equal"),
        ('file = ""', 'file = "/nonexistent/alarm.wav"', "sound.file", "is not a file"),
        ("enough_responders = 2", "enough_responders = 0", "sound.enough_responders", "1"),
    ],
)
def test_window_client_settings_are_checked(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    where: str,
    reason: str,
) -> None:
    path = config(tmp_path, FULL.replace(old, new))
    [line] = problems(capsys, "validate-config", str(path))
    assert f"[{where}]" in line
    assert reason in line


def test_ack_all_is_only_for_headless(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, f'server = "ws://127.0.0.1:1/ws"\ntoken = "{GOOD_TOKEN}"\n')
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(path), "--ack-all"])
    assert exit_.value.code == 2
    assert "--ack-all works only with --headless" in capsys.readouterr().err


def test_silent_alarm_without_a_running_client_fails() -> None:
    env = {**os.environ, "USER": "nobody-runs-this-desk", "QT_QPA_PLATFORM": "offscreen"}
    poked = subprocess.run(
        [TRYGG_DESK, "silent-alarm"], env=env, capture_output=True, text=True, timeout=30
    )
    assert poked.returncode == 1
    assert "no running window client answered" in poked.stderr


def test_config_is_required_to_run(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--headless"])
    assert exit_.value.code == 2
    assert "--config FILE is required" in capsys.readouterr().err


def test_console_script_help_and_validate_config(tmp_path: Path) -> None:
    shown = subprocess.run([TRYGG_DESK, "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    for word in ("--config", "--headless", "--ack-all", "validate-config", "silent-alarm"):
        assert word in shown.stdout
    path = config(tmp_path, f'server = "ws://127.0.0.1:8080/ws"\ntoken = "{GOOD_TOKEN}"\n')
    checked = subprocess.run(
        [TRYGG_DESK, "validate-config", path], capture_output=True, text=True, timeout=30
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, f"{path}: ok\n", "")
