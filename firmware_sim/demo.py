"""``trygg-sim demo``: the whole system on one machine, with simulated hardware.

A private Mosquitto, central with SQLite, one edge agent per room on simulated pins (the
``trygg-sim`` gpiozero factory, so the edge runs its normal code), and one headless desk per
user. Each part is a separate process started by its own console script, exactly as installed
on real machines. Ctrl-C (or SIGTERM) stops them all and leaves no process behind.

The rooms' sensor boards run inside this process (a thread each, see :mod:`firmware_sim.board`)
and serve their ptys at ``<workdir>/<device>.tty``, which the edge configs name as their port;
each has a control socket ``<workdir>/<device>.board.sock``. On the way out they are unplugged,
so no pty or symlink outlives the demo.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

from firmware_sim.board import Board
from firmware_sim.board_commands import serve
from firmware_sim.broker import PrivateBroker, free_port, wait_for_port
from firmware_sim.config import DemoSettings, PlanArea, SimRoom, SimSite, floor_plan
from firmware_sim.control import ControlServer
from firmware_sim.errors import SimError
from firmware_sim.scenario import Scenario, play

CENTRAL_USER = "central"
# The console's login the demo makes (a fresh random password each run, shown in the banner).
CONSOLE_USER = "admin"
CONSOLE_ROLES = "admin,facility_manager"


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _script(name: str) -> str:
    """The console script installed beside this Python (the venv's), else from PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


class Demo:
    def __init__(self, settings: DemoSettings, workdir: Path, out: IO[str] = sys.stdout) -> None:
        self.settings = settings
        self.dir = workdir
        self.out = out
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.boards: list[tuple[Board, ControlServer]] = []
        self.broker = PrivateBroker(workdir / "broker")
        self.http_port = free_port()
        self.tokens = {desk: secrets.token_urlsafe(24) for s in settings.sites for desk in s.desks}
        self.console_password = _password()

    # -- configuration files, written the way an operator would -------------------------
    def _central_config(self, password: str) -> Path:
        lines = [
            "[mqtt]",
            f'host = "{self.broker.host}"',
            f"port = {self.broker.port}",
            f'username = "{CENTRAL_USER}"',
            f"password = {_toml_str(password)}",
            "[http]",
            'host = "127.0.0.1"',
            f"port = {self.http_port}",
            "[store]",
            f"path = {_toml_str(str(self.dir / 'central.db'))}",
        ]
        for site in self.settings.sites:
            lines += ["[[sites]]", f'id = "{site.id}"', f"name = {_toml_str(site.name)}"]
            lines += _plan_lines(site)
        for site in self.settings.sites:  # the device registry: rooms come from here
            for room in site.rooms:
                lines += [
                    "[[devices]]",
                    f'site = "{site.id}"',
                    f'id = "{room.device}"',
                    f"room = {_toml_str(room.name)}",
                ]
        for site in self.settings.sites:
            for desk in site.desks:
                lines += [
                    "[[users]]",
                    f'id = "{desk}"',
                    f"name = {_toml_str(desk.title())}",
                    f'token = "{self.tokens[desk]}"',
                    f'sites = ["{site.id}"]',
                ]
        path = self.dir / "central.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _add_console_account(self, config: Path) -> None:
        """The console's login, made the way an admin would: central's own CLI (it writes to
        the running central's database; WAL lets both write)."""
        added = subprocess.run(
            [
                _script("trygg-central"),
                "user",
                "add",
                CONSOLE_USER,
                "--name",
                "Demo-administrator",
                "--roles",
                CONSOLE_ROLES,
                "--sites",
                "*",
                "--config",
                str(config),
                "--password-stdin",
            ],
            input=self.console_password + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        if added.returncode != 0:
            raise SimError(f"could not add the console account: {added.stderr.strip()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _edge_config(self, site_id: str, room: SimRoom, password: str) -> Path:
        lines = [
            f'site = "{site_id}"',
            f'device = "{room.device}"',
            f"room = {_toml_str(room.name)}",
            "heartbeat_interval_s = 5.0",
            "[mqtt]",
            f'host = "{self.broker.host}"',
            f"port = {self.broker.port}",
            f"password = {_toml_str(password)}",
            "[outbox]",
            f"path = {_toml_str(str(self.dir / f'{room.device}-outbox.db'))}",
        ]
        for button in room.buttons:
            lines += [
                "[[buttons]]",
                f'input = "{button.input}"',
                f"pin = {button.pin}",
                f'level = "{button.level}"',
            ]
            if button.led_pin is not None:
                lines.append(f"led_pin = {button.led_pin}")
            if button.buzzer_pin is not None:
                lines.append(f"buzzer_pin = {button.buzzer_pin}")
        if room.board is not None:
            lines += ["[sensor_board]", f"port = {_toml_str(str(self.board_port(room)))}"]
            if room.board.sound_alarm_db is not None:
                lines.append(f"sound_alarm_db = {room.board.sound_alarm_db}")
        path = self.dir / f"{room.device}.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _desk_config(self, desk: str) -> Path:
        path = self.dir / f"desk-{desk}.toml"
        path.write_text(
            f'server = "ws://127.0.0.1:{self.http_port}/ws"\ntoken = "{self.tokens[desk]}"\n'
        )
        return path

    def board_port(self, room: SimRoom) -> Path:
        return self.dir / f"{room.device}.tty"

    # -- processes -----------------------------------------------------------------------
    def _spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        stdout: int | IO[bytes] | None = None,
    ) -> subprocess.Popen[bytes]:
        log = (self.dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            # Own session: the terminal's Ctrl-C reaches only us, and we stop parts in order.
            start_new_session=True,
        )
        self.procs.append((name, proc))
        return proc

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.broker.add_user(CENTRAL_USER, central_pw := secrets.token_urlsafe(18))
        self.broker.start()
        self.procs.append(("mosquitto", self.broker.proc))  # type: ignore[arg-type]
        central_config = self._central_config(central_pw)
        self._spawn("central", [_script("trygg-central"), "--config", str(central_config)])
        wait_for_port(self.http_port, timeout=30)
        self._add_console_account(central_config)
        for site in self.settings.sites:
            for room in site.rooms:
                if room.board is not None:  # plugged in before the edge looks for it
                    board = Board(room.device, self.dir)
                    self.boards.append((board, serve(board, self.dir)))
                    assert self.board_port(room) == board.link
                self.broker.add_user(room.device, edge_pw := secrets.token_urlsafe(18))
                config = self._edge_config(site.id, room, edge_pw)
                self._spawn(
                    room.device,
                    [_script("trygg-edge"), "--config", str(config)],
                    env={
                        "GPIOZERO_PIN_FACTORY": "trygg-sim",
                        "TRYGG_SIM_CONTROL": str(self.dir / f"{room.device}.sock"),
                    },
                )
            for desk in site.desks:
                proc = self._spawn(
                    f"desk-{desk}",
                    [
                        _script("trygg-desk"),
                        "--config",
                        str(self._desk_config(desk)),
                        "--headless",
                        "--ack-all",
                    ],
                    stdout=subprocess.PIPE,
                )
                threading.Thread(target=self._echo_desk, args=(desk, proc), daemon=True).start()

    def _echo_desk(self, desk: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with (self.dir / f"desk-{desk}.jsonl").open("ab") as record:
            for raw in proc.stdout:
                record.write(raw)
                record.flush()
                try:
                    item = json.loads(raw)
                    who = ", ".join(r["name"] for r in item.get("responders", [])) or "-"
                    line = (
                        f"[desk {desk}] {item['event']:<6} {item['level'].upper():<6} "
                        f"{item['room']} ({item['site']}) state={item['state']} coming={who}"
                    )
                except (ValueError, KeyError):
                    line = f"[desk {desk}] {raw.decode(errors='replace').rstrip()}"
                print(line, file=self.out, flush=True)

    def banner(self) -> str:
        first_site = self.settings.sites[0]
        room = first_site.rooms[0]
        token = self.tokens[first_site.desks[0]]
        cli = f"trygg-sim --workdir {self.dir}"
        board_lines = []
        if room.board is not None:
            pendant = room.board.pendants[0] if room.board.pendants else "p-1"
            board_lines = [
                f"  pendant:  {cli} board {room.device} pendant {pendant}",
                f"  faults:   {cli} board {room.device} noise|badcrc|unplug|replug ...",
            ]
        return "\n".join(
            [
                "Trygg demo is running.",
                f"  console:  {self.url}/login",
                f"  login:    user {CONSOLE_USER}, password {self.console_password}",
                f"  central:  {self.url}/healthz",
                f"  alarms:   curl -H 'Authorization: Bearer {token}' {self.url}/api/alarms",
                f"  broker:   mqtt://{self.broker.address} (logs and configs in {self.dir})",
                f"  press:    Enter here, or: trygg-sim --workdir {self.dir} tap "
                f"{room.device} {room.buttons[0].input}",
                f"  outputs:  {cli} outputs {room.device}",
                *board_lines,
                "  stop:     Ctrl-C",
            ]
        )

    def _screens(self) -> int:
        """How many screens watch: /healthz tells it only to a signed-in user, so the demo
        asks with one of the desk tokens it wrote (a responder may read devices' state)."""
        token = next(iter(self.tokens.values()))
        request = urllib.request.Request(
            f"{self.url}/healthz", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                health = json.load(answer)
        except (OSError, ValueError):
            return 0
        if "screens" not in health:  # the token was not accepted: say so, don't wait forever
            raise SimError("central does not accept the demo's desk token for /healthz")
        return int(health["screens"])

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every desk is connected, so a press after the banner reaches them live."""
        desks = sum(len(site.desks) for site in self.settings.sites)
        deadline = time.monotonic() + timeout
        while self._screens() < desks:
            if dead := self.dead():
                raise SimError(f"stopped while starting: {', '.join(dead)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the desks did not connect to central within {timeout:.0f} s")
            time.sleep(0.2)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        # Reverse order: desks and edges first, so nothing reports a false outage on the way.
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 8
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for board, server in self.boards:
            server.stop()
            board.stop()  # unplugs: the pty is closed and its symlink removed
        self.boards.clear()

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs if proc.poll() is not None]


def _password() -> str:
    """A random console password that central's strength rules accept."""
    while len(set(password := secrets.token_urlsafe(12))) < 8:
        pass
    return password


def _area_lines(table: str, area: PlanArea) -> list[str]:
    lines = [
        f"[[sites.{table}]]",
        f'id = "{area.id}"',
        f"name = {_toml_str(area.name)}",
        f"x = {area.x}",
        f"y = {area.y}",
        f"w = {area.w}",
        f"h = {area.h}",
    ]
    if area.zone is not None:
        lines.append(f'zone = "{area.zone}"')
    if area.devices:
        lines.append(f"devices = [{', '.join(_toml_str(d) for d in area.devices)}]")
    if area.measures:
        lines.append(f"measures = [{', '.join(_toml_str(m) for m in area.measures)}]")
    return lines


def _plan_lines(site: SimSite) -> list[str]:
    """The site's floor plan for the console's alarm board: the site's size, zones, rooms."""
    plan = floor_plan(site)
    lines = [f"width = {plan.width}", f"height = {plan.height}"]
    for zone in plan.zones:
        lines += _area_lines("zones", zone)
    for room in plan.rooms:
        lines += _area_lines("rooms", room)
    return lines


def run_demo(settings: DemoSettings, workdir: Path, scenario: Scenario | None = None) -> int:
    demo = Demo(settings, workdir)
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        demo.start()
        demo.wait_ready()
        print(demo.banner(), flush=True)
        if sys.stdin.isatty():
            threading.Thread(target=_press_on_enter, args=(demo,), daemon=True).start()
        if scenario is not None:
            print(f"playing scenario: {scenario.description or '(no description)'}", flush=True)
            threading.Thread(
                target=play, args=(scenario, workdir, stopping), name="scenario", daemon=True
            ).start()
        while not stopping.wait(1.0):
            if dead := demo.dead():
                print(
                    f"stopped unexpectedly: {', '.join(dead)} (see logs in {workdir})",
                    file=sys.stderr,
                )
                return 1
        return 0
    except (SimError, TimeoutError) as exc:
        print(f"demo could not start: {exc} (logs in {workdir})", file=sys.stderr)
        return 1
    finally:
        demo.stop()
        print("demo stopped; no process left running.", flush=True)


def _press_on_enter(demo: Demo) -> None:
    from firmware_sim.actions import pin_action

    room = demo.settings.sites[0].rooms[0]
    for _line in sys.stdin:
        try:
            pin_action(demo.dir, room.device, room.buttons[0].input, "tap")
            print(f"pressed {room.buttons[0].input} in {room.name}", flush=True)
        except SimError as exc:
            print(f"press failed: {exc}", file=sys.stderr, flush=True)
