"""The tests' Mosquitto: the simulator's private broker plus two well-known accounts.

If Mosquitto is not installed the test fails with a message saying how to install it; it never
skips (``make test`` installs it).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from firmware_sim.broker import PrivateBroker, require_tool

CENTRAL_USER = "central"
CENTRAL_PASSWORD = "central-test-password"
TESTER_USER = "tester"  # may publish anywhere: stands in for a hostile or buggy client
TESTER_PASSWORD = "tester-test-password"


class Broker(PrivateBroker):
    def __init__(self, workdir: Path | None = None) -> None:
        super().__init__(
            Path(workdir or tempfile.mkdtemp(prefix="trygg-broker-")),
            extra_acl=f"\nuser {TESTER_USER}\ntopic readwrite trygg/#\n",
        )
        self.add_user(CENTRAL_USER, CENTRAL_PASSWORD)
        self.add_user(TESTER_USER, TESTER_PASSWORD)

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
