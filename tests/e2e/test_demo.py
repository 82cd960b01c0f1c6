"""`trygg-sim demo` (what `make demo` runs): it starts two sites of three rooms, a simulated
press and a pendant on a simulated sensor board reach central and the desks, the console login
it prints works and its board shows each site's floor plan lit up, and Ctrl-C leaves no
process, pty symlink or control socket of it behind."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.stack import script

ROOMS = ["brg-201", "brg-202", "brg-203", "rom-101", "rom-102", "rom-103"]


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


def log_in_to_console(client: httpx.Client, user: str, password: str) -> httpx.Response:
    """The browser's way in: the login page, its form's CSRF token, the form posted."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf, "no CSRF token in the login form"
    return client.post("/login", data={"user": user, "password": password, "csrf": csrf[1]})


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
        console = re.search(r"console:\s+(http://127\.0\.0\.1:\d+)/login", banner)
        login = re.search(r"login:\s+user (\S+), password (\S+)", banner)
        assert url and token and console and login, banner
        assert "broker:   mqtt://127.0.0.1:" in banner
        assert "board rom-101 pendant p-101" in banner
        ports = sorted(p.name for p in workdir.glob("*.tty"))
        assert ports == [f"{room}.tty" for room in ROOMS]
        assert all(p.is_symlink() and p.exists() for p in workdir.glob("*.tty"))

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

        # The console: the printed login works, and the board draws both sites' floor plans
        # with the pressed room lit up (acute) and the others quiet.
        with httpx.Client(base_url=console[1], timeout=10) as browser:
            refused = log_in_to_console(browser, login[1], f"not-{login[2]}")
            assert refused.status_code != 303 and "trygg_session" not in browser.cookies
            answer = log_in_to_console(browser, login[1], login[2])
            assert answer.status_code == 303 and "trygg_session" in browser.cookies, answer.text
            board = browser.get("/board")
            assert board.status_code == 200, board.text
            rooms = dict(re.findall(r'data-room="([\w-]+)" data-level="(\w*)"', board.text))
            assert rooms == {room: "acute" if room == "rom-101" else "" for room in ROOMS}

        # The second site's sensor board: a pendant press travels serial -> edge -> desk.
        pendant = subprocess.run(
            [
                script("trygg-sim"),
                "--workdir",
                str(workdir),
                "board",
                "brg-202",
                "pendant",
                "p-202",
            ],
            capture_output=True,
            text=True,
        )
        assert pendant.returncode == 0, pendant.stderr
        read_until(proc, r"\[desk ola\] alarm\s+ACUTE\s+Møterom 202 \(bergen\)")
        assert demo_processes(workdir), "the demo's parts should be running before Ctrl-C"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "no process left running" in out
    assert demo_processes(workdir) == []
    # Boards unplugged on the way out: no pty symlink and no control socket is left.
    assert sorted(workdir.glob("*.tty")) == []
    assert sorted(workdir.glob("*.sock")) == []
