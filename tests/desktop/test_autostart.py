"""Start at login (``trygg-desk autostart on|off|status``).

The texts for each OS (desktop/core/autostart.py) are checked against each format's own
rules: the Desktop Entry spec's ``Exec`` quoting, read back by a decoder written from the spec;
Windows command lines against the standard library's implementation of the same C-runtime
rules (``subprocess.list2cmdline``); the LaunchAgent read back by ``plistlib``. On Linux the
command runs for real, into an ``XDG_CONFIG_HOME`` of the test's own, and the command line it
wrote is decoded and run. The Windows registry and launchd are not here (docs/desk.md)."""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from desktop.core.autostart import (
    LAUNCH_AGENT_LABEL,
    autostart_command,
    desktop_entry,
    desktop_entry_enabled,
    exec_argument,
    launch_agent_arguments,
    launch_agent_path,
    launch_agent_plist,
    windows_command_line,
    xdg_autostart_path,
)
from tests.desktop.desk_process import TRYGG_DESK
from tests.desktop.qt_support import TOKEN

AWKWARD = [
    "/opt/trygg/trygg-desk",
    "/home/kari/My Documents/desk.toml",
    'say "hi"',
    "100%",
    "$HOME",
    "back\\slash",
    "tick`",
    "",
    "semi;colon",
    "æøå",
]


def decode_exec(value: str) -> list[str]:
    """An ``Exec`` value back into argv, by the Desktop Entry spec: the string escapes first,
    then the quoting, then ``%%`` (written here from the spec, apart from the encoder)."""
    unescaped, i = [], 0
    escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value) and value[i + 1] in escapes:
            unescaped.append(escapes[value[i + 1]])
            i += 2
        else:
            unescaped.append(value[i])
            i += 1
    text = "".join(unescaped)
    argv: list[str] = []
    current: list[str] | None = None
    quoted, i = False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and text[i + 1] in '"`$\\':
                current = (current or []) + [text[i + 1]]
                i += 2
                continue
            if ch == '"':
                quoted = False
            else:
                current = (current or []) + [ch]
        elif ch == '"':
            quoted, current = True, current or []
        elif ch == " ":
            if current is not None:
                argv.append("".join(current))
            current = None
        else:
            current = (current or []) + [ch]
        i += 1
    assert not quoted, f"unterminated quote in {value!r}"
    if current is not None:
        argv.append("".join(current))
    return [a.replace("%%", "%") for a in argv]


def test_exec_quoting_round_trips_awkward_arguments() -> None:
    line = " ".join(exec_argument(a) for a in AWKWARD)
    assert decode_exec(line) == AWKWARD


def test_exec_quoting_by_the_spec() -> None:
    assert exec_argument("/usr/bin/trygg-desk") == "/usr/bin/trygg-desk"  # nothing reserved
    assert exec_argument("/a b/c") == '"/a b/c"'
    assert exec_argument("100%") == "100%%"
    assert exec_argument("$x") == '"\\\\$x"'  # \$ inside quotes, then \\ as a string escape
    assert exec_argument("a\\b") == '"a\\\\\\\\b"'  # the spec's "four backslashes"
    with pytest.raises(ValueError, match="line break"):
        exec_argument("two\nlines")


def test_the_desktop_entry() -> None:
    entry = desktop_entry(["/opt/trygg/trygg-desk", "--config", "/home/kari/desk.toml"])
    assert entry.splitlines() == [
        "[Desktop Entry]",
        "Type=Application",
        "Name=Trygg",
        "Comment=Trygg: alarms from colleagues, and the silent alarm",
        "Exec=/opt/trygg/trygg-desk --config /home/kari/desk.toml",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
    ]
    assert desktop_entry_enabled(entry)
    assert not desktop_entry_enabled(entry + "Hidden=true\n")
    switched_off = entry.replace("Autostart-enabled=true", "Autostart-enabled=false")
    assert not desktop_entry_enabled(switched_off)


@pytest.mark.parametrize(
    "argv",
    [
        [r"C:\Program Files\Trygg\trygg-desk.exe", "--config", r"C:\Users\Kari\desk.toml"],
        [r"C:\Trygg\trygg-desk.exe", "--config", r"C:\Users\Kari Nordmann\Trygg\desk.toml"],
        ["prog", 'a "quoted" word', "trailing\\", "with space\\", "", 'x\\\\"y'],
        ["prog", "tab\there", "plain"],
    ],
)
def test_windows_command_lines_follow_the_c_runtime_rules(argv: list[str]) -> None:
    assert windows_command_line(argv) == subprocess.list2cmdline(argv)


def test_the_launch_agent() -> None:
    argv = ["/Applications/Trygg.app/Contents/MacOS/trygg-desk", "--config", "/Users/k/d.toml"]
    content = launch_agent_plist(argv)
    assert plistlib.loads(content) == {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": argv,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restarted after a crash, not after Quit
        "LimitLoadToSessionType": "Aqua",
        "ProcessType": "Interactive",
    }
    assert launch_agent_arguments(content) == argv
    assert launch_agent_arguments(b"not a plist") is None
    assert launch_agent_path(Path("/Users/k")) == Path(
        "/Users/k/Library/LaunchAgents/no.trygg.desk.plist"
    )


def test_the_command_for_each_kind_of_install() -> None:
    config = PurePosixPath("/home/kari/desk.toml")
    assert autostart_command(
        frozen=True, executable="/opt/trygg/trygg-desk", config=config, windows=False
    ) == ["/opt/trygg/trygg-desk", "--config", "/home/kari/desk.toml"]
    assert autostart_command(
        frozen=False, executable="/srv/venv/bin/python", config=config, windows=False
    ) == ["/srv/venv/bin/python", "-m", "desktop", "--config", "/home/kari/desk.toml"]
    win_config = PureWindowsPath(r"C:\Users\Kari\desk.toml")
    # The console twin is swapped for the windowed desk; python for pythonw: no console.
    assert autostart_command(
        frozen=True,
        executable=r"C:\Program Files\Trygg\trygg-desk-cli.exe",
        config=win_config,
        windows=True,
    ) == [r"C:\Program Files\Trygg\trygg-desk.exe", "--config", r"C:\Users\Kari\desk.toml"]
    assert autostart_command(
        frozen=False, executable=r"C:\Python311\python.exe", config=win_config, windows=True
    )[:3] == [r"C:\Python311\pythonw.exe", "-m", "desktop"]
    with pytest.raises(ValueError, match="absolute"):
        autostart_command(
            frozen=True, executable="x", config=PurePosixPath("desk.toml"), windows=False
        )


def test_the_xdg_place() -> None:
    home = Path("/home/kari")
    default = home / ".config" / "autostart" / "trygg-desk.desktop"
    assert xdg_autostart_path({}, home) == default
    assert xdg_autostart_path({"XDG_CONFIG_HOME": ""}, home) == default
    assert xdg_autostart_path({"XDG_CONFIG_HOME": "relative/ignored"}, home) == default
    assert xdg_autostart_path({"XDG_CONFIG_HOME": "/cfg"}, home) == Path(
        "/cfg/autostart/trygg-desk.desktop"
    )


def desk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRYGG_DESK), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_autostart_on_status_off_for_real_in_an_xdg_config_home(tmp_path: Path) -> None:
    home = tmp_path / "config home"
    awkward = tmp_path / "Kari's 100% desk"  # a space, a quote, a per cent sign
    awkward.mkdir()
    config = awkward / "desk.toml"
    config.write_text(f'server = "ws://127.0.0.1:9/ws"\ntoken = "{TOKEN}"\n', encoding="utf-8")
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    entry = home / "autostart" / "trygg-desk.desktop"

    assert desk("autostart", "status", env=env).stdout == f"autostart off: {entry}\n"
    done = desk("autostart", "on", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"autostart on: {entry}\n")
    status = desk("autostart", "status", env=env)
    assert status.stdout.startswith(f"autostart on: {entry}\n")

    # What the desktop will run at login: decoded from the file, and run (to check the config).
    [exec_line] = [ln for ln in entry.read_text().splitlines() if ln.startswith("Exec=")]
    argv = decode_exec(exec_line.removeprefix("Exec="))
    assert argv == [sys.executable, "-m", "desktop", "--config", str(config)]
    checked = subprocess.run(
        [*argv, "validate-config", argv[-1]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (checked.returncode, checked.stdout) == (0, f"{config}: ok\n"), checked.stderr

    off = desk("autostart", "off", env=env)
    assert (off.returncode, off.stdout) == (0, f"autostart off: removed {entry}\n")
    assert not entry.exists()
    again = desk("autostart", "off", env=env)
    assert again.stdout == f"autostart off: was not set in {entry}\n"


def test_autostart_on_refuses_a_config_that_would_not_start_and_writes_nothing(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    bad = tmp_path / "desk.toml"
    bad.write_text('server = "http://central.example"\ntoken = "short"\n', encoding="utf-8")
    refused = desk("autostart", "on", "--config", str(bad), env=env)
    assert refused.returncode == 2
    assert "server" in refused.stderr
    assert "token" in refused.stderr
    missing = desk("autostart", "on", env=env)
    assert (missing.returncode, missing.stderr) == (
        2,
        "trygg-desk: autostart on needs --config FILE (the desk to start)\n",
    )
    assert not (tmp_path / "cfg").exists()
