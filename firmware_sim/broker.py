"""A private Mosquitto: its own config, passwords and Trygg's ACL, on a free loopback port.

Used by ``trygg-sim demo`` (and by the test-suite, which needs the same thing). It refuses to
run without the real ``mosquitto`` binary and says how to install it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from firmware_sim.errors import SimError

#: The ACL shipped in deploy/; the broker here enforces exactly what an office's broker does.
SHIPPED_ACL = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto" / "acl"


def require_tool(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if not found:
        raise SimError(
            f"{tool} is not installed; Trygg needs a real Mosquitto. "
            "Run `make demo`/`make test` (they install it) or "
            "`apt-get install mosquitto mosquitto-clients`."
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts on ``host:port``, or raise ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


class PrivateBroker:
    """One Mosquitto process. ``start``/``stop``/``kill`` may be repeated; the port stays."""

    def __init__(self, workdir: Path, extra_acl: str = "", port: int | None = None) -> None:
        self.binary = require_tool("mosquitto")
        self.passwd_tool = require_tool("mosquitto_passwd")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.passwd = self.dir / "passwd"
        self.acl = self.dir / "acl"
        self.acl.write_text(SHIPPED_ACL.read_text() + extra_acl)
        self.conf = self.dir / "mosquitto.conf"
        self.log = self.dir / "mosquitto.log"
        self.conf.write_text(
            # Started as root, Mosquitto drops to user "mosquitto", who cannot read a private
            # directory; keep the invoking user instead.
            ("user root\n" if os.geteuid() == 0 else "") + "per_listener_settings false\n"
            "allow_anonymous false\n"
            f"password_file {self.passwd}\n"
            f"acl_file {self.acl}\n"
            f"listener {self.port} 127.0.0.1\n"
            "persistence false\n"
            # As deploy/mosquitto/trygg.conf: small packets go out at once (no Nagle delay).
            "set_tcp_nodelay true\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            # Large enough to deliver a hostile 1 MiB payload to central, which must reject it.
            "max_packet_size 1100000\n"
        )
        self.passwd.write_text("")
        self.proc: subprocess.Popen[bytes] | None = None
        self.users: dict[str, str] = {}

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def add_user(self, name: str, password: str) -> None:
        subprocess.run([self.passwd_tool, "-b", str(self.passwd), name, password], check=True)
        self.passwd.chmod(0o600)
        self.users[name] = password
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)  # Mosquitto re-reads passwords on HUP

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stderr=log, stdin=subprocess.DEVNULL
            )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
