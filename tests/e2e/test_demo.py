"""`trygg-sim demo` (what `make demo` runs): it starts two sites of three rooms, a simulated
press and a pendant on a simulated sensor board reach central and the desks, the console login
it prints works and its board shows each site's floor plan lit up, and Ctrl-C leaves no
process, pty symlink or control socket of it behind. Escalation and evacuation in the same run
(a short escalation delay, `--escalate-after 2`): Bergen's desk does not answer, so its pendant
alarm reaches Oslo's desk, and the reception's evacuate and all-clear buttons reach Bergen's
desk as announcement lines and sound the reception's sounder until all clear.

A second demo in the same workdir (the default one is shared, so a returning user's first
`make demo` finds the last one's files) is refused while the first runs, naming it, and works
after it: the office is reused and the console password reset. An edge of the demo that is
killed is a device without power: the demo goes on, central shows the device offline, and
`trygg-sim power-on` brings it back with what its outbox held."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.stack import script

ROOMS = ["brg-200", "brg-201", "brg-202", "brg-203", "rom-101", "rom-102", "rom-103"]
BOARDED = [room for room in ROOMS if room != "brg-200"]  # the reception has no sensor board


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
        [script("trygg-sim"), "--workdir", str(workdir), "demo", "--escalate-after", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        banner = read_until(proc, r"stop:\s+Ctrl-C")
        assert "nobody answers in 2 s: the other office is alerted" in banner
        assert "ARC:      none in the demo" in banner
        assert "tap brg-200 evacuate|all_clear (Resepsjon)" in banner
        url = re.search(r"(http://127\.0\.0\.1:\d+)/healthz", banner)
        token = re.search(r"Bearer ([\w-]+)", banner)
        console = re.search(r"console:\s+(http://127\.0\.0\.1:\d+)/login", banner)
        login = re.search(r"login:\s+user (\S+), password (\S+)", banner)
        assert url, banner
        assert token, banner
        assert console, banner
        assert login, banner
        assert "broker:   mqtt://127.0.0.1:" in banner
        assert "board rom-101 pendant p-101" in banner
        ports = sorted(p.name for p in workdir.glob("*.tty"))
        assert ports == [f"{room}.tty" for room in BOARDED]
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
            assert refused.status_code != 303
            assert "trygg_session" not in browser.cookies
            answer = log_in_to_console(browser, login[1], login[2])
            assert answer.status_code == 303, answer.text
            assert "trygg_session" in browser.cookies, answer.text
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
        # Nobody in Bergen answers: after 2 s Oslo's desk (the neighbours) has it, and answers.
        read_until(
            proc,
            r"\[desk kari\] alarm\s+ACUTE\s+Møterom 202 \(bergen\) .*"
            r"escalated: stage 1 told neighbours \(oslo-sentrum\)",
        )

        # The reception's evacuation button: Bergen's desk shows it, the sounder sounds.
        poll(lambda: sim(workdir, "tap", "brg-200", "evacuate").returncode == 0, "reception up")
        read_until(proc, r"\[desk ola\] announcement EVACUATE bergen by Resepsjon \(on\)")
        poll(lambda: sounder(workdir)["changes"] > 0, "the reception's sounder to sound")
        cleared = sim(workdir, "tap", "brg-200", "all_clear")
        assert cleared.returncode == 0, cleared.stderr
        read_until(proc, r"\[desk ola\] announcement ALL_CLEAR bergen by Resepsjon \(ended\)")
        poll(lambda: sounder(workdir)["pattern"] == "off", "the sounder to stop")
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


def start_demo(workdir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [script("trygg-sim"), "--workdir", str(workdir), "demo", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def stop_demo(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return out


@contextmanager
def running_demo(workdir: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A demo up to its banner; stopped with Ctrl-C (SIGINT) on the way out."""
    proc = start_demo(workdir, *extra)
    try:
        yield proc, read_until(proc, r"stop:\s+Ctrl-C")
    finally:
        stop_demo(proc)


def sim(workdir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script("trygg-sim"), "--workdir", str(workdir), *argv], capture_output=True, text=True
    )


def poll(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_demo_again_in_the_same_workdir(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    with running_demo(workdir) as (first, banner):
        assert f"office:   new, in {workdir}" in banner
        # A second demo while the first runs: refused at once, naming the running one.
        second = start_demo(workdir)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 1, out
        assert f"a demo is already running in {workdir} (pid {first.pid}, lock file " in out
        assert first.poll() is None, "the refused demo must leave the running one alone"
    assert first.returncode == 0
    # Ctrl-C, then `make demo` again: the office and its history are reused, the console
    # password is new and works, the old one does not.
    old_password = re.search(r"password (\S+)", banner)
    with running_demo(workdir) as (again, banner):
        assert f"office:   reused from the last demo in {workdir}" in banner, banner
        console = re.search(r"console:\s+(http://127\.0\.0\.1:\d+)/login", banner)
        login = re.search(r"login:\s+user (\S+), password (\S+)", banner)
        assert console, banner
        assert login, banner
        assert old_password, banner
        assert login[2] != old_password[1]
        with httpx.Client(base_url=console[1], timeout=10) as browser:
            stale = log_in_to_console(browser, login[1], old_password[1])
            assert stale.status_code != 303
            assert "trygg_session" not in browser.cookies
            answer = log_in_to_console(browser, login[1], login[2])
            assert answer.status_code == 303, answer.text
            assert "trygg_session" in browser.cookies, answer.text
    assert again.returncode == 0
    # --fresh starts with an empty office.
    with running_demo(workdir, "--fresh") as (_fresh, banner):
        assert f"office:   new, in {workdir}" in banner
    assert demo_processes(workdir) == []


def sounder(workdir: Path) -> dict[str, Any]:
    """The reception's own sounder (its ``[announce] buzzer_pin``) as its pins show it."""
    shown = sim(workdir, "outputs", "brg-200")
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout)["announce"]["buzzer"])


def device_state(url: str, token: str, device: str) -> str:
    answer = httpx.get(f"{url}/api/devices", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    found = [d for d in answer.json()["devices"] if d["device"] == device]
    return str(found[0]["state"]) if found else "not heard of yet"


def alarms_of(url: str, token: str, room: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/alarms", headers={"Authorization": f"Bearer {token}"})
    return [a for a in answer.json()["alarms"] if a["room"] == room]


def edge_pid(workdir: Path, device: str) -> int:
    [line] = [ln for ln in demo_processes(workdir) if f"{device}.toml" in ln]
    return int(line.split()[0])


def test_an_edge_without_power_does_not_stop_the_demo(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    with running_demo(workdir) as (proc, banner):
        url = re.search(r"(http://127\.0\.0\.1:\d+)/healthz", banner)
        token = re.search(r"Bearer ([\w-]+)", banner)
        assert url, banner
        assert token, banner
        url_, token_ = url[1], token[1]
        assert "power-off|power-on rom-101" in banner
        poll(lambda: device_state(url_, token_, "rom-103") == "online", "rom-103 online")
        poll(lambda: sim(workdir, "tap", "rom-103", "desk").returncode == 0, "edge listening")

        # A press, then the power cut at once: the press is in the outbox (or already sent).
        cut = sim(workdir, "power-off", "rom-103")
        assert cut.returncode == 0, cut.stderr
        read_until(proc, r"\[power\] rom-103 off")
        poll(lambda: device_state(url_, token_, "rom-103") == "offline", "rom-103 offline")
        read_until(proc, r"\[desk kari\] fault  offline: rom-103 \(oslo-sentrum\)")
        assert proc.poll() is None, "the demo must go on without one edge"
        # A press while the power is off is lost at the button, and the user is told so.
        lost = sim(workdir, "tap", "rom-103", "wall")
        assert lost.returncode != 0
        assert "rom-103 is powered off" in lost.stderr
        assert "lost at the button" in lost.stderr

        back = sim(workdir, "power-on", "rom-103")
        assert back.returncode == 0, back.stderr
        poll(lambda: device_state(url_, token_, "rom-103") == "online", "rom-103 online again")
        # The press from just before the power cut has arrived, once; the one made while the
        # power was off never existed.
        [alarm] = poll(lambda: alarms_of(url_, token_, "Samtalerom 103"), "the press before")
        assert (alarm["level"], alarm["input"]) == ("acute", "desk")

        # kill -9 from outside (what an evaluator does first): the same as a power cut.
        os.kill(edge_pid(workdir, "rom-102"), signal.SIGKILL)
        read_until(proc, r"\[power\] rom-102 is off: its edge ended .* the demo goes on")
        poll(lambda: device_state(url_, token_, "rom-102") == "offline", "rom-102 offline")
        assert proc.poll() is None
        assert sim(workdir, "power-on", "rom-102").returncode == 0
        poll(lambda: device_state(url_, token_, "rom-102") == "online", "rom-102 online again")
        assert proc.poll() is None
    out = stop_demo(proc)
    assert proc.returncode == 0, out
    assert demo_processes(workdir) == []


def test_help_lists_power(tmp_path: Path) -> None:
    shown = sim(tmp_path, "--help")
    assert "power-off" in shown.stdout
    assert "power-on" in shown.stdout
    refused = sim(tmp_path, "power-off", "rom-101")
    assert refused.returncode == 2
    assert f"no demo is running in {tmp_path}" in refused.stderr


def test_readme_pictures_exist_and_the_desk_s_are_made(tmp_path: Path) -> None:
    """Every picture the README shows is in the repository, and ``python -m desktop.screenshot``
    (how the desk's pictures are made) makes the evacuation screen: full HD, full screen."""
    root = Path(__file__).parents[2]
    shown = re.findall(r"!\[[^]]*\]\((docs/img/[\w.-]+)\)", (root / "README.md").read_text())
    assert "docs/img/desk-evacuation.png" in shown
    assert [p for p in shown if not (root / p).is_file()] == []
    made = subprocess.run(
        [sys.executable, "-m", "desktop.screenshot", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=root,
        # Unset: the script sets its own offscreen full-HD screen.
        env={k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"},
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    header = (tmp_path / "desk-evacuation.png").read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(header[16:20]), int.from_bytes(header[20:24])) == (1920, 1080)
