"""The tests' Mosquitto: the simulator's private broker plus two well-known accounts.

If Mosquitto is not installed the test fails with a message saying how to install it; it never
skips (``make test`` installs it).
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from firmware_sim.broker import PrivateBroker, free_port, require_tool

CENTRAL_USER = "central"
CENTRAL_PASSWORD = "central-test-password"
TESTER_USER = "tester"  # may publish anywhere: stands in for a hostile or buggy client
TESTER_PASSWORD = "tester-test-password"


@dataclass(frozen=True)
class TlsListener:
    """A TLS listener as deploy/mosquitto/trygg.conf has it: the office CA, the broker's own
    certificate, a client certificate required and its common name taken as the username."""

    ca: Path
    cert: Path
    key: Path
    port: int = field(default_factory=free_port)

    def config(self) -> str:
        return (
            f"listener {self.port} 127.0.0.1\n"
            f"cafile {self.ca}\ncertfile {self.cert}\nkeyfile {self.key}\n"
            "require_certificate true\nuse_identity_as_username true\n"
            "use_username_as_clientid true\n"  # per listener in Mosquitto 2.0
        )


class Broker(PrivateBroker):
    """``bind_client_ids``: as deploy/'s config, a client's id is its username
    (``use_username_as_clientid``), so no account can take over another's session. Off only
    for a test that runs many clients under one account (the tester's fleet)."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        bind_client_ids: bool = True,
        tls: TlsListener | None = None,
    ) -> None:
        super().__init__(
            Path(workdir or tempfile.mkdtemp(prefix="trygg-broker-")),
            extra_acl=f"\nuser {TESTER_USER}\ntopic readwrite trygg/#\n",
        )
        # Follows the config's `listener` line: Mosquitto 2.0 reads it per listener.
        extra = "use_username_as_clientid true\n" if bind_client_ids else ""
        if tls is not None:
            extra += tls.config()
        self.conf.write_text(self.conf.read_text() + extra)
        self.tls = tls
        self.add_user(CENTRAL_USER, CENTRAL_PASSWORD)
        self.add_user(TESTER_USER, TESTER_PASSWORD)

    def use_generated(self, passwd: Path, acl: Path) -> None:
        """Run on the files ``trygg-central broker-config`` wrote (plus the tester's ACL)."""
        self.passwd.write_text(passwd.read_text())
        self.passwd.chmod(0o600)
        self.acl.write_text(acl.read_text() + f"\nuser {TESTER_USER}\ntopic readwrite trygg/#\n")
        self.add_user(TESTER_USER, TESTER_PASSWORD)  # (and HUPs a running broker)

    def pub(self, topic: str, payload: bytes, user: str = TESTER_USER, qos: int = 1) -> None:
        """Publish like a third-party client would: with mosquitto_pub."""
        subprocess.run(
            [
                require_tool("mosquitto_pub"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-u",
                user,
                "-P",
                self.users[user],
                "-q",
                str(qos),
                "-V",
                "mqttv5",
                "-t",
                topic,
                "-s",
            ],
            input=payload,
            check=True,
            timeout=10,
        )
