"""The chaos rig: a real Mosquitto, a real ``trygg-central``, ``trygg-edge`` processes on the
``trygg-sim`` pins and headless ``trygg-desk`` processes — each one a process that a fault can
kill, freeze or cut off — plus the two pieces of the machine the faults need: a network
namespace with a veth pair (to cut one edge off) and a small tmpfs (to fill central's disk).

Why plain threads and ``Popen`` rather than asyncio: a fault is a signal sent at a chosen
millisecond (kill -9 0–5 ms after a press) and the harness must keep observing while central is
frozen; blocking calls on threads keep both simple. Why a :class:`Cleanup` list: everything the
rig makes is registered the moment it exists and undone on every way out — normal return, an
exception, SIGINT/SIGTERM (turned into ``SystemExit`` by the runner) and ``atexit`` — so no
process, namespace or mount outlives a run. Every wait here is bounded.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from firmware_sim.actions import outputs, pin_action
from tests.support.broker import Broker
from tests.support.sim_edge import launch
from tests.support.stack import SITE, Central, kill_process, script

log = logging.getLogger("chaos")

#: Desk users: the first answers "coming" to every alarm (so LEDs reach "help is coming"),
#: the second only watches. Both may resolve.
DESK_USERS = {"ola": "Ola Nordmann", "kari": "Kari Hansen"}
INPUTS = (("desk", 17, 27), ("wall", 22, 23))  # input, button pin, LED pin


class Cleanup:
    """Undo actions, run last-in first-out exactly once (also from ``atexit``)."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], object]]] = []
        self._lock = threading.Lock()
        atexit.register(self.run)

    def add(self, what: str, undo: Callable[[], object]) -> None:
        with self._lock:
            self._undo.append((what, undo))

    def run(self) -> None:
        while True:
            with self._lock:
                if not self._undo:
                    return
                what, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # keep undoing the rest
                log.warning("cleanup of %s failed: %s", what, exc)


def run_cmd(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    tool = shutil.which(argv[0]) or shutil.which(argv[0], path="/usr/sbin:/sbin:/usr/bin")
    if tool is None:
        raise RuntimeError(
            f"{argv[0]} is missing: the chaos harness needs it (apt-get install "
            f"iproute2 util-linux)"
        )
    return subprocess.run(
        [tool, *argv[1:]], capture_output=True, text=True, check=check, timeout=20
    )


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise RuntimeError(f"{what} needs root (network namespaces and mounts); run as root")


def stop_process(proc: subprocess.Popen[Any] | None, grace: float = 5.0) -> None:
    """SIGCONT (a frozen process cannot exit), SIGTERM, then SIGKILL after ``grace``."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Netns:
    """A network namespace joined to the host by a veth pair with private 10.200.x.0/30
    addresses; traffic flows only between the two ends. ``cut``/``heal`` take the host end
    down and up."""

    PREFIX = "trygg-chaos-"

    def __init__(self, cleanup: Cleanup) -> None:
        require_root("the partition fault")
        self.name = f"{self.PREFIX}{os.getpid()}"
        tag = os.getpid() % 100000
        self.host_if, self.ns_if = f"tch{tag}", f"tce{tag}"
        octet = 20 + os.getpid() % 200
        self.host_addr, self.ns_addr = f"10.200.{octet}.1", f"10.200.{octet}.2"
        self._remove_stale()
        run_cmd("ip", "netns", "add", self.name)
        cleanup.add(f"netns {self.name}", self.delete)
        run_cmd(
            "ip",
            "link",
            "add",
            self.host_if,
            "type",
            "veth",
            "peer",
            "name",
            self.ns_if,
            "netns",
            self.name,
        )
        run_cmd("ip", "addr", "add", f"{self.host_addr}/30", "dev", self.host_if)
        run_cmd("ip", "link", "set", self.host_if, "up")
        for argv in (
            ("ip", "addr", "add", f"{self.ns_addr}/30", "dev", self.ns_if),
            ("ip", "link", "set", self.ns_if, "up"),
            ("ip", "link", "set", "lo", "up"),
        ):
            run_cmd("ip", "netns", "exec", self.name, *argv)

    def _remove_stale(self) -> None:
        """Namespaces left by a harness that was killed -9 (its pid is gone)."""
        listed = run_cmd("ip", "netns", "list", check=False).stdout.split()
        for name in listed:
            if name.startswith(self.PREFIX) and name[len(self.PREFIX) :].isdigit():
                pid = int(name[len(self.PREFIX) :])
                if not Path(f"/proc/{pid}").exists():
                    run_cmd("ip", "netns", "del", name, check=False)

    def wrap(self, argv: Sequence[str]) -> list[str]:
        ip = shutil.which("ip") or "/usr/sbin/ip"
        return [ip, "netns", "exec", self.name, *argv]

    def cut(self) -> None:
        run_cmd("ip", "link", "set", self.host_if, "down")

    def heal(self) -> None:
        run_cmd("ip", "link", "set", self.host_if, "up")

    def delete(self) -> None:
        run_cmd("ip", "link", "del", self.host_if, check=False)
        run_cmd("ip", "netns", "del", self.name, check=False)


class Tmpfs:
    """A small tmpfs for central's store; ``fill`` takes every free byte, ``drain`` frees it."""

    def __init__(self, cleanup: Cleanup, path: Path, size_mb: int = 64) -> None:
        require_root("the disk-full fault")
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        run_cmd("mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path))
        cleanup.add(f"tmpfs {path}", self.unmount)
        self.filler = path / "filler"

    def fill(self) -> int:
        """Write zeros until the disk says ENOSPC (unbuffered: nothing is left to flush)."""
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for chunk in (1 << 20, 1 << 16, 1 << 12):
                block = b"\0" * chunk
                while True:
                    try:
                        count = os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
                    written += count
                    if count < chunk:
                        break
        finally:
            os.close(fd)
        return written

    def drain(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        self.drain()
        if run_cmd("umount", str(self.path), check=False).returncode != 0:
            run_cmd("umount", "-l", str(self.path), check=False)


class Edge:
    """One ``trygg-edge`` on the ``trygg-sim`` pins, with two buttons and their LEDs."""

    def __init__(self, rig: Rig, device: str, host: str, netns: Netns | None = None) -> None:
        self.rig, self.device, self.netns = rig, device, netns
        self.dir = rig.dir
        password = f"{device}-{secrets.token_hex(8)}"
        rig.broker.add_user(device, password)
        lines = [
            f'site = "{SITE}"',
            f'device = "{device}"',
            f'room = "Rom {device}"',
            "heartbeat_interval_s = 1.0",
            "resend_interval_s = 1.0",
            "[mqtt]",
            f'host = "{host}"',
            f"port = {rig.broker.port}",
            f'password = "{password}"',
            "keepalive_s = 5",
            "[outbox]",
            f'path = "{self.dir / (device + "-outbox.db")}"',
        ]
        for name, pin, led in INPUTS:
            lines += [
                "[[buttons]]",
                f'input = "{name}"',
                f"pin = {pin}",
                'level = "acute"',
                f"led_pin = {led}",
            ]
        self.config = self.dir / f"{device}.toml"  # where firmware_sim.actions looks for it
        self.config.write_text("\n".join(lines) + "\n")
        self.log = self.dir / f"{device}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, held: Sequence[str] = (), wait_connected: bool = True) -> None:
        """Start (again); ``held`` inputs have their contact closed from the first moment."""
        pins = [pin for name, pin, _ in INPUTS if name in held]
        self.proc = launch(
            self.config,
            self.log,
            self.dir / f"{self.device}.sock",
            pins,
            connected=wait_connected,
            wrap=self.netns.wrap if self.netns else list,
            new_session=True,
        )
        self.starts += 1

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def act(self, input_name: str, action: str) -> None:
        pin_action(self.dir, self.device, input_name, action)

    def outputs(self) -> dict[str, dict[str, Any]]:
        return outputs(self.dir, self.device)


class Desk:
    """``trygg-desk --headless``: its JSON lines (and the stderr lines that say an alarm is no
    longer active) are handed to ``on_line`` with the time they were read."""

    def __init__(
        self,
        rig: Rig,
        user: str,
        ack_all: bool,
        on_line: Callable[[str, float, dict[str, Any]], None],
    ) -> None:
        self.user, self.on_line = user, on_line
        self.config = rig.dir / f"desk-{user}.toml"
        self.config.write_text(
            f'server = "{rig.central.ws_url}"\ntoken = "{rig.central.tokens[user]}"\n'
        )
        argv = [script("trygg-desk"), "--config", str(self.config), "--headless"]
        self.log = rig.dir / f"desk-{user}.log"
        self._log_file = self.log.open("ab")
        self.proc = subprocess.Popen(
            [*argv, *(["--ack-all"] if ack_all else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        for target in (self._stdout, self._stderr):
            threading.Thread(target=target, daemon=True, name=f"desk-{user}").start()

    def _stdout(self) -> None:
        import json

        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            now = time.time()
            try:
                self.on_line(self.user, now, json.loads(raw))
            except ValueError:
                log.warning("desk %s printed a non-JSON line: %r", self.user, raw)

    def _stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            now = time.time()
            self._log_file.write(raw)
            self._log_file.flush()
            text = raw.decode(errors="replace")
            if "is no longer active" in text:  # the client dropped an alarm resolved meanwhile
                words = text.split("alarm ", 1)[-1].split()
                if words:
                    self.on_line(self.user, now, {"event": "gone", "alarm_id": words[0]})

    def send(self, line: str) -> None:
        with self._lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                log.warning("desk %s did not take %r: %s", self.user, line, exc)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log_file.close()


class Rig:
    """Broker, central, ``edges`` edges and the desks, started in that order; ``stop`` (also
    registered with ``cleanup``) ends them in reverse."""

    def __init__(
        self,
        workdir: Path,
        cleanup: Cleanup,
        edges: int = 3,
        netns_edge: bool = False,
        tmpfs_store: bool = False,
        on_desk_line: Callable[[str, float, dict[str, Any]], None] | None = None,
    ) -> None:
        self.dir, self.cleanup = workdir, cleanup
        workdir.mkdir(parents=True, exist_ok=True)
        self.netns = Netns(cleanup) if netns_edge else None
        store_dir = workdir / "store"
        self.tmpfs = Tmpfs(cleanup, store_dir) if tmpfs_store else None
        store_dir.mkdir(exist_ok=True)
        cleanup.add("rig", self.stop)  # after the namespace and mount: runs before their undo
        self.broker = Broker(workdir / "broker")
        if self.netns:  # the cut-off edge reaches the broker on the veth's host address only
            self.broker.conf.write_text(
                self.broker.conf.read_text()
                + f"listener {self.broker.port} {self.netns.host_addr}\n"
            )
        self.broker.start()
        self.central = Central(self.broker, workdir, DESK_USERS)
        self.db = store_dir / "central.db"
        self.central.config.write_text(
            self.central.config.read_text().replace(str(workdir / "central.db"), str(self.db))
        )
        self.central.start()
        self.edges = [
            Edge(
                self,
                f"rom-{101 + i}",
                self.netns.host_addr if (self.netns and i == edges - 1) else self.broker.host,
                self.netns if i == edges - 1 else None,
            )
            for i in range(edges)
        ]
        for edge in self.edges:
            edge.start()
        sink = on_desk_line or (lambda *_: None)
        self.desks = [
            Desk(self, user, ack_all=(i == 0), on_line=sink) for i, user in enumerate(DESK_USERS)
        ]
        deadline = time.monotonic() + 30
        while self.central.health()["screens"] < len(self.desks):
            if time.monotonic() > deadline:
                raise TimeoutError(f"desks not connected: {self.central.health()}")
            time.sleep(0.05)

    @property
    def cut_edge(self) -> Edge:
        """The edge in the namespace (the last one)."""
        return self.edges[-1]

    def freeze_central(self) -> None:
        assert self.central.proc
        os.kill(self.central.proc.pid, signal.SIGSTOP)

    def thaw_central(self) -> None:
        assert self.central.proc
        os.kill(self.central.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        for desk in getattr(self, "desks", []):
            desk.stop()
        for edge in getattr(self, "edges", []):
            edge.stop()
        if hasattr(self, "central"):
            stop_process(self.central.proc)
        self.broker.stop() if hasattr(self, "broker") else None
