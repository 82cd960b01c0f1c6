"""A real Mosquitto on a free loopback port, with its own config, passwords and Trygg's ACL.

If Mosquitto is not installed the test fails with a message saying how to install it; it never
skips (README: ``make test`` installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.support.net import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
ACL = REPO / "deploy" / "mosquitto" / "acl"

CENTRAL_USER = "central"
CENTRAL_PASSWORD = "central-test-password"
TESTER_USER = "tester"  # may publish anywhere: stands in for a hostile or buggy client
TESTER_PASSWORD = "tester-test-password"


def _require(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if not found:
        raise RuntimeError(
            f"{tool} is not installed; the tests need a real Mosquitto. "
            "Run `make test` (it installs it) or `apt-get install mosquitto mosquitto-clients`."
        )
    return found


class Broker:
    """One Mosquitto process. ``start``/``stop``/``kill`` may be called repeatedly (same port)."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.binary = _require("mosquitto")
        self.passwd_tool = _require("mosquitto_passwd")
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="trygg-broker-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.passwd = self.dir / "passwd"
        self.acl = self.dir / "acl"
        acl_text = ACL.read_text()
        acl_text += f"\nuser {TESTER_USER}\ntopic readwrite trygg/#\n"
        self.acl.write_text(acl_text)
        self.conf = self.dir / "mosquitto.conf"
        self.log = self.dir / "mosquitto.log"
        self.conf.write_text(
            ""
            # Run as root (CI), Mosquitto would drop to user "mosquitto", who cannot read a
            # private temp dir; keep the invoking user instead.
            + ("user root\n" if os.geteuid() == 0 else "")
            + "per_listener_settings false\n"
            "allow_anonymous false\n"
            f"password_file {self.passwd}\n"
            f"acl_file {self.acl}\n"
            f"listener {self.port} 127.0.0.1\n"
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "max_packet_size 1100000\n"
        )
        self.passwd.write_text("")
        self.proc: subprocess.Popen[bytes] | None = None
        self.users: dict[str, str] = {}
        self.add_user(CENTRAL_USER, CENTRAL_PASSWORD)
        self.add_user(TESTER_USER, TESTER_PASSWORD)

    def add_user(self, name: str, password: str) -> None:
        subprocess.run([self.passwd_tool, "-b", str(self.passwd), name, password], check=True)
        self.passwd.chmod(0o600)
        self.users[name] = password
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stderr=log)
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

    def pub(self, topic: str, payload: bytes, user: str = TESTER_USER, qos: int = 1) -> None:
        """Publish like a third-party client would: with mosquitto_pub."""
        tool = _require("mosquitto_pub")
        subprocess.run(
            [tool, "-h", self.host, "-p", str(self.port), "-u", user, "-P", self.users[user],
             "-q", str(qos), "-V", "mqttv5", "-t", topic, "-s"],
            input=payload, check=True, timeout=10,
        )
