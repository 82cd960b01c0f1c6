"""deploy/mosquitto/trygg.conf as an office installs it, loaded by the real Mosquitto.

Mosquitto 2.0 reads ``use_username_as_clientid`` per listener, and the option placed before
the first ``listener`` line silently opens a *default* listener on port 1883 of every address:
plain MQTT, passwords in clear, on the office network. So: the option follows each listener,
the flood limits are there, and the broker opens exactly the two declared listeners.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import trustme

from central.brokerconfig import hash_password
from firmware_sim.broker import free_port, require_tool, wait_for_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "trygg.conf"


def test_every_listener_binds_client_ids_and_flood_limits_are_set() -> None:
    text = DEPLOY.read_text()
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    listeners = [i for i, line in enumerate(settings) if line.startswith("listener ")]
    assert len(listeners) == 2
    binds = [i for i, line in enumerate(settings) if line == "use_username_as_clientid true"]
    assert len(binds) == 2 and all(b > listeners[0] for b in binds)
    assert binds[0] < listeners[1] < binds[1]  # one in each listener's block
    for limit in ("max_packet_size", "max_queued_messages", "max_inflight_messages"):
        assert re.search(rf"^{limit} \d+$", text, re.MULTILINE), limit
    # A crash must not forget the queue: state saved every few seconds, not every 30 minutes.
    autosave = re.search(r"^autosave_interval (\d+)$", text, re.MULTILINE)
    assert autosave and 0 < int(autosave.group(1)) <= 30, "autosave_interval missing or too long"
    tls_block = settings[listeners[1] :]
    assert "require_certificate true" in tls_block and "use_identity_as_username true" in tls_block


def test_mosquitto_loads_it_and_opens_only_the_declared_listeners(tmp_path: Path) -> None:
    files = tmp_path / "trygg"
    files.mkdir()
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(files / "ca.pem"))
    leaf = ca.issue_cert("127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(files / "broker.pem"))
    leaf.private_key_pem.write_to_path(str(files / "broker.key"))
    (files / "passwd").write_text(f"central:{hash_password('central-password-0123')}\n")
    (files / "passwd").chmod(0o600)
    (files / "acl").write_text("user central\ntopic readwrite trygg/#\n")
    plain, tls = free_port(), free_port()
    conf = (
        DEPLOY.read_text()
        .replace("/etc/mosquitto/trygg/", f"{files}/")
        .replace("/var/lib/mosquitto/", f"{tmp_path}/")
        .replace("listener 1883 127.0.0.1", f"listener {plain} 127.0.0.1")
        .replace("listener 8883", f"listener {tls} 127.0.0.1")
    )
    path = tmp_path / "trygg.conf"
    path.write_text(("user root\n" if os.geteuid() == 0 else "") + conf)
    log = tmp_path / "mosquitto.log"
    with log.open("wb") as out:
        broker = subprocess.Popen(
            [require_tool("mosquitto"), "-c", str(path), "-v"], stderr=out, stdout=out
        )
    try:
        wait_for_port(plain)
        wait_for_port(tls)
        assert broker.poll() is None, log.read_text()
    finally:
        broker.terminate()
        broker.wait(10)
    opened = {int(p) for p in re.findall(r"listen socket on port (\d+)", log.read_text())}
    assert opened == {plain, tls}, log.read_text()
