"""``trygg-sim demo``: the whole system on one machine, with simulated hardware.

A private Mosquitto, central with SQLite, one edge agent per room on simulated pins (the
``trygg-sim`` gpiozero factory, so the edge runs its normal code), and one headless desk per
user. Each part is a separate process started by its own console script, exactly as installed
on real machines. Ctrl-C (or SIGTERM) stops them all and leaves no process behind.

One demo runs per workdir at a time, and a second run reuses the first one's office
(:mod:`firmware_sim.workdir`). The configuration files are written by
:mod:`firmware_sim.demo_files`.

An edge is a device in a room, and devices lose power: an edge process that ends (killed by an
evaluator, or by ``trygg-sim power-off``, :mod:`firmware_sim.power`) does not stop the demo; it
is reported, the device shows offline wherever supervision shows it, and ``trygg-sim power-on``
starts it again on the same outbox. The broker, central or a desk ending does stop the demo:
without them it would show nothing true.

Escalation and evacuation: the sites are each other's neighbours (central's ``neighbours``), and
a site may be one whose desks don't answer (``answers = false``: no ``--ack-all``), so that its
alarms escalate to the other office after the routine's delay (``--escalate-after`` writes a
shortened copy of the routine). A room may have announcing inputs (a reception's evacuate and
all-clear buttons, ``[announce]`` in its edge config, ``announces`` in central's registry).
The desks' lines are printed with how far an alarm has escalated and every announcement.

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
from typing import IO, Any

from firmware_sim import demo_files
from firmware_sim.board import Board
from firmware_sim.board_commands import serve
from firmware_sim.broker import PrivateBroker, free_port, wait_for_port
from firmware_sim.config import DemoSettings, SimRoom
from firmware_sim.control import ControlServer
from firmware_sim.demo_files import CENTRAL_USER, Endpoints
from firmware_sim.errors import SimError
from firmware_sim.power import control_path, off_marker, refuse_if_off
from firmware_sim.scenario import Scenario, play
from firmware_sim.workdir import Office, WorkdirLock, prepare_office

# The console's login the demo makes (a fresh random password each run, shown in the banner).
CONSOLE_USER = "admin"
CONSOLE_ROLES = "admin,facility_manager"


def _script(name: str) -> str:
    """The console script installed beside this Python (the venv's), else from PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


class Demo:
    def __init__(
        self,
        settings: DemoSettings,
        workdir: Path,
        out: IO[str] = sys.stdout,
        office: Office | None = None,
    ) -> None:
        self.settings = settings
        self.dir = workdir
        self.out = out
        self.office = office or Office(workdir, reused=False)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.edges: dict[str, tuple[list[str], dict[str, str]]] = {}  # device -> argv, env
        self._reported_off: set[str] = set()
        self._power_lock = threading.Lock()
        self.control: ControlServer | None = None
        self.boards: list[tuple[Board, ControlServer]] = []
        self.broker = PrivateBroker(workdir / "broker")
        self.http_port = free_port()
        self.tokens = {desk: secrets.token_urlsafe(24) for s in settings.sites for desk in s.desks}
        self.console_password = _password()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.broker.host, self.broker.port, self.http_port)

    def board_port(self, room: SimRoom) -> Path:
        return demo_files.board_port(self.dir, room)

    def _console_account(self, config: Path) -> None:
        """The console's login, made the way an admin would: central's own CLI (it writes to
        the running central's database; WAL lets both write). A reused office has the account
        already: its password is reset instead (and if the last run ended before making it,
        it is made after all)."""
        common = ["--config", str(config), "--password-stdin"]
        add = ["user", "add", CONSOLE_USER, "--name", "Demo-administrator", "--roles"]
        add += [CONSOLE_ROLES, "--sites", "*", *common]
        passwd = ["user", "passwd", CONSOLE_USER, *common]
        attempts = [passwd, add] if self.office.reused else [add, passwd]
        errors = []
        for argv in attempts:
            done = subprocess.run(
                [_script("trygg-central"), *argv],
                input=self.console_password + "\n",
                capture_output=True,
                text=True,
                timeout=120,
            )
            if done.returncode == 0:
                return
            errors.append(f"`{' '.join(argv[:2])}`: {done.stderr.strip()}")
        raise SimError(f"could not set up the console account: {'; '.join(errors)}")

    # -- processes -----------------------------------------------------------------------
    def _spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        stdout: int | IO[bytes] | None = None,
    ) -> subprocess.Popen[bytes]:
        with (self.dir / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdout=stdout if stdout is not None else log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                # Own session: the terminal's Ctrl-C reaches only us, and we stop parts in order.
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.broker.add_user(CENTRAL_USER, central_pw := secrets.token_urlsafe(18))
        self.broker.start()
        self.procs["mosquitto"] = self.broker.proc  # type: ignore[assignment]
        central_config = demo_files.central_config(
            self.dir, self.settings, self.endpoints, central_pw, self.tokens
        )
        self._spawn("central", [_script("trygg-central"), "--config", str(central_config)])
        wait_for_port(self.http_port, timeout=30)
        self._console_account(central_config)
        for site in self.settings.sites:
            for room in site.rooms:
                if room.board is not None:  # plugged in before the edge looks for it
                    board = Board(room.device, self.dir)
                    self.boards.append((board, serve(board, self.dir)))
                    if self.board_port(room) != board.link:
                        raise RuntimeError(f"board link of {room.device} moved")
                self.broker.add_user(room.device, edge_pw := secrets.token_urlsafe(18))
                config = demo_files.edge_config(self.dir, site.id, room, self.endpoints, edge_pw)
                off_marker(self.dir, room.device).unlink(missing_ok=True)
                self.edges[room.device] = (
                    [_script("trygg-edge"), "--config", str(config)],
                    {
                        "GPIOZERO_PIN_FACTORY": "trygg-sim",
                        "TRYGG_SIM_CONTROL": str(self.dir / f"{room.device}.sock"),
                    },
                )
                self._spawn(room.device, *self.edges[room.device])
            for desk in site.desks:
                config = demo_files.desk_config(self.dir, desk, self.http_port, self.tokens[desk])
                argv = [_script("trygg-desk"), "--config", str(config), "--headless"]
                proc = self._spawn(
                    f"desk-{desk}",
                    # A site whose colleagues don't answer: its alarms escalate.
                    [*argv, "--ack-all"] if site.answers else argv,
                    stdout=subprocess.PIPE,
                )
                threading.Thread(target=self._echo_desk, args=(desk, proc), daemon=True).start()
        self.control = ControlServer(control_path(self.dir), self._control, name="demo-control")
        self.control.start()

    # -- power: an edge is a device, and devices lose power ----------------------------------
    def _control(self, message: dict[str, Any]) -> dict[str, Any]:
        device = str(message.get("device"))
        if device not in self.edges:
            known = ", ".join(sorted(self.edges))
            raise SimError(f"no simulated device {device!r} in this demo (devices: {known})")
        if message.get("cmd") == "power-off":
            return {"ok": True, "said": self.power_off(device)}
        if message.get("cmd") == "power-on":
            return {"ok": True, "said": self.power_on(device)}
        raise SimError(f"unknown demo command {message.get('cmd')!r}")

    def power_off(self, device: str) -> str:
        """kill -9 of the device's edge: what a power cut is to its software."""
        with self._power_lock:
            proc = self.procs[device]
            if proc.poll() is not None:
                return f"{device} was already off"
            off_marker(self.dir, device).touch()
            self._reported_off.add(device)  # asked for: no "ended unexpectedly" line
            proc.kill()
            proc.wait()
        print(f"[power] {device} off (kill -9 of its edge)", file=self.out, flush=True)
        return f"{device} is off; central will show it offline"

    def power_on(self, device: str) -> str:
        """The same edge program on the same config and outbox, as after a power cut."""
        with self._power_lock:
            if self.procs[device].poll() is None:
                return f"{device} is already on"
            self._spawn(device, *self.edges[device])
            off_marker(self.dir, device).unlink(missing_ok=True)
            self._reported_off.discard(device)
        print(f"[power] {device} on (its edge started again)", file=self.out, flush=True)
        return f"{device} is on; it sends what its outbox still holds"

    def _notice_edges_off(self) -> None:
        """An edge that ended by itself (or was killed from outside) is a device off: said
        once, marked off, and left for ``power-on``."""
        with self._power_lock:
            for device in self.edges:
                proc = self.procs[device]
                if proc.poll() is None or device in self._reported_off:
                    continue
                self._reported_off.add(device)
                off_marker(self.dir, device).touch()
                print(
                    f"[power] {device} is off: its edge ended (exit {proc.returncode}); the demo"
                    f" goes on. `trygg-sim --workdir {self.dir} power-on {device}` starts it"
                    f" again (log: {self.dir / (device + '.log')})",
                    file=self.out,
                    flush=True,
                )

    def _echo_desk(self, desk: str, proc: subprocess.Popen[bytes]) -> None:
        if proc.stdout is None:
            raise RuntimeError("desk started without a stdout pipe")
        with (self.dir / f"desk-{desk}.jsonl").open("ab") as record:
            for raw in proc.stdout:
                record.write(raw)
                record.flush()
                print(desk_line(desk, raw), file=self.out, flush=True)

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
                self.office.banner_line(),
                f"  console:  {self.url}/login",
                f"  login:    user {CONSOLE_USER}, password {self.console_password}",
                f"  central:  {self.url}/healthz",
                f"  alarms:   curl -H 'Authorization: Bearer {token}' {self.url}/api/alarms",
                f"  broker:   mqtt://{self.broker.address} (logs and configs in {self.dir})",
                f"  press:    Enter here, or: {cli} tap {room.device} {room.buttons[0].input}",
                f"  outputs:  {cli} outputs {room.device}",
                *board_lines,
                f"  power:    {cli} power-off|power-on {room.device} (watch supervision)",
                *self._escalation_lines(cli),
                "  stop:     Ctrl-C",
            ]
        )

    def _escalation_lines(self, cli: str) -> list[str]:
        """Escalation, the ARC and evacuation: how to see them in this office (if it can)."""
        after = self.settings.escalate_after_s or demo_files.first_escalation_s()
        lines = []
        quiet = [site for site in self.settings.sites if not site.answers]
        if quiet and len(self.settings.sites) > 1:
            site = quiet[0]
            rooms = [r for r in site.rooms if r.announce is None] or site.rooms
            lines += [
                f"  escalate: {site.name}'s desks don't answer; nobody answers in {after:g} s:"
                " the other office is alerted",
                f"            try: {cli} tap {rooms[0].device} {rooms[0].buttons[0].input}",
                "  ARC:      none in the demo: an escalation stage naming only the ARC is"
                " skipped (central logs it; docs/arc.md)",
            ]
        for _site, room in self.settings.rooms():
            if room.announce is not None:
                inputs = "|".join(a.input for a in room.announce.inputs)
                lines.append(f"  announce: {cli} tap {room.device} {inputs} ({room.name})")
                break
        return lines

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
            if dead := self.dead(include_edges=True):
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
        if self.control is not None:  # no power-on racing the way out
            self.control.stop()
            self.control = None
        with self._power_lock:
            procs = list(self.procs.values())
            # Reverse order: desks and edges first, so nothing reports a false outage.
            for proc in reversed(procs):
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + 8
            for proc in reversed(procs):
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for device in self.edges:
            off_marker(self.dir, device).unlink(missing_ok=True)
        for board, server in self.boards:
            server.stop()
            board.stop()  # unplugs: the pty is closed and its symlink removed
        self.boards.clear()

    def dead(self, include_edges: bool = False) -> list[str]:
        """Parts that have ended; edges only if asked (an edge off is a device without power)."""
        return [
            name
            for name, proc in self.procs.items()
            if proc.poll() is not None and (include_edges or name not in self.edges)
        ]

    def watch(self) -> list[str]:
        """One look at the parts: edges that ended are reported; what else has ended."""
        self._notice_edges_off()
        return self.dead()


def desk_line(desk: str, raw: bytes) -> str:
    """One line of a headless desk's stdout as the demo prints it: an alarm (and how far it
    has escalated), a fault, or an evacuation / lockdown / all clear."""
    try:
        item = json.loads(raw)
        if item.get("event") == "fault":
            return _fault_line(desk, item)
        if item.get("event") == "announcement":
            return _announcement_line(desk, item)
        who = ", ".join(r["name"] for r in item.get("responders", [])) or "-"
        line = (
            f"[desk {desk}] {item['event']:<6} {item['level'].upper():<6} "
            f"{item['room']} ({item['site']}) state={item['state']} coming={who}"
        )
        if item.get("stage"):
            told = ", ".join(item.get("escalated_to", ()))
            whom = ", ".join([*item.get("escalated_sites", ()), *item.get("escalated_users", ())])
            line += f" escalated: stage {item['stage']} told {told} ({whom or 'nobody more'})"
        return line
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"[desk {desk}] {raw.decode(errors='replace').rstrip()}"


def _announcement_line(desk: str, item: dict[str, Any]) -> str:
    where = item["site"] + (f" zone {item['zone']}" if item.get("zone") else "")
    who = item.get("by_name") or item.get("by") or "?"
    state = "on" if item.get("active") else "ended"
    return f"[desk {desk}] announcement {item['kind'].upper()} {where} by {who} ({state})"


def _fault_line(desk: str, item: dict[str, Any]) -> str:
    where = f"{item['device'] or 'site'} ({item['site']})"
    if item.get("cleared"):
        return f"[desk {desk}] fault  cleared {item['kind']}: {where}"
    return f"[desk {desk}] fault  {item['kind']}: {where}: {item['reason']}"


def _password() -> str:
    """A random console password that central's strength rules accept."""
    while len(set(password := secrets.token_urlsafe(12))) < 8:
        pass
    return password


def run_demo(
    settings: DemoSettings,
    workdir: Path,
    scenario: Scenario | None = None,
    *,
    fresh: bool = False,
) -> int:
    lock = WorkdirLock(workdir)
    try:
        lock.acquire()
    except SimError as exc:
        print(f"demo not started: {exc}", file=sys.stderr, flush=True)
        return 1
    try:
        return _run_locked(settings, workdir, scenario, prepare_office(workdir, fresh=fresh))
    finally:
        lock.release()


def _run_locked(
    settings: DemoSettings, workdir: Path, scenario: Scenario | None, office: Office
) -> int:
    demo = Demo(settings, workdir, office=office)
    stopping = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
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
            if dead := demo.watch():
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
            refuse_if_off(demo.dir, room.device)
            pin_action(demo.dir, room.device, room.buttons[0].input, "tap")
            print(f"pressed {room.buttons[0].input} in {room.name}", flush=True)
        except SimError as exc:
            print(f"press failed: {exc}", file=sys.stderr, flush=True)
