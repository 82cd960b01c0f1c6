"""`trygg-sim demo` (what `make demo` runs): it starts, a simulated press reaches central and
the desk, and Ctrl-C leaves no process of it behind."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.stack import script


def read_until(proc: subprocess.Popen[str], pattern: str, timeout: float = 60) -> str:
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    raise AssertionError(f"demo never printed {pattern!r}; printed:\n{''.join(seen)}")


def demo_processes(workdir: Path) -> list[str]:
    listing = subprocess.run(
        ["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True
    ).stdout
    return [line for line in listing.splitlines() if str(workdir) in line and "ps -eww" not in line]


def test_demo_runs_a_press_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(
        [script("trygg-sim"), "--workdir", str(workdir), "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = read_until(proc, r"stop:\s+Ctrl-C")
        url = re.search(r"(http://127\.0\.0\.1:\d+)/healthz", banner)
        token = re.search(r"Bearer ([\w-]+)", banner)
        assert url and token, banner
        assert "broker:   mqtt://127.0.0.1:" in banner

        for _ in range(100):  # the edge may still be connecting
            pressed = subprocess.run(
                [script("trygg-sim"), "--workdir", str(workdir), "tap", "rom-101", "desk"],
                capture_output=True,
                text=True,
            )
            if pressed.returncode == 0:
                break
            time.sleep(0.1)
        assert pressed.returncode == 0, pressed.stderr

        desk_line = read_until(proc, r"\[desk kari\] alarm\s+ACUTE\s+Møterom 101")
        assert "oslo-sentrum" in desk_line
        for _ in range(100):
            alarms = httpx.get(
                f"{url.group(1)}/api/alarms", headers={"Authorization": f"Bearer {token.group(1)}"}
            ).json()
            if alarms["alarms"]:
                break
            time.sleep(0.1)
        [alarm] = alarms["alarms"]
        assert (alarm["room"], alarm["level"], alarm["input"]) == ("Møterom 101", "acute", "desk")
        assert demo_processes(workdir), "the demo's parts should be running before Ctrl-C"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "no process left running" in out
    assert demo_processes(workdir) == []
