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

import aiomqtt
import trustme

from central.brokerconfig import hash_password
from firmware_sim.broker import free_port, require_tool, wait_for_port
from tests.security.helpers import alarm_payload, wait_for_alarm
from tests.security.test_device_registry import DEVICES, PASSWORDS, SITE_A, SITE_B, generate
from tests.support.broker import Broker
from tests.support.stack import Central

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "trygg.conf"


def test_every_listener_binds_client_ids_and_flood_limits_are_set() -> None:
    text = DEPLOY.read_text()
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    listeners = [i for i, line in enumerate(settings) if line.startswith("listener ")]
    assert len(listeners) == 2
    binds = [i for i, line in enumerate(settings) if line == "use_username_as_clientid true"]
    assert len(binds) == 2
    assert all(b > listeners[0] for b in binds)
    assert binds[0] < listeners[1] < binds[1]  # one in each listener's block
    for limit in ("max_packet_size", "max_queued_messages", "max_inflight_messages"):
        assert re.search(rf"^{limit} \d+$", text, re.MULTILINE), limit
    # A crash must not forget the queue: state saved every few seconds, not every 30 minutes.
    autosave = re.search(r"^autosave_interval (\d+)$", text, re.MULTILINE)
    assert autosave, "autosave_interval missing"
    assert 0 < int(autosave.group(1)) <= 30, "autosave_interval too long"
    tls_block = settings[listeners[1] :]
    assert "require_certificate true" in tls_block
    assert "use_identity_as_username true" in tls_block


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


def deploy_conf(tmp_path: Path, files: Path, plain: int, tls: int) -> Path:
    """deploy/'s config with its paths and ports moved into ``tmp_path`` (certs by trustme)."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(files / "ca.pem"))
    leaf = ca.issue_cert("127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(files / "broker.pem"))
    leaf.private_key_pem.write_to_path(str(files / "broker.key"))
    conf = (
        DEPLOY.read_text()
        .replace("/etc/mosquitto/trygg/", f"{files}/")
        .replace("/var/lib/mosquitto/", f"{tmp_path}/")
        .replace("listener 1883 127.0.0.1", f"listener {plain} 127.0.0.1")
        .replace("listener 8883", f"listener {tls} 127.0.0.1")
    )
    path = tmp_path / "trygg.conf"
    path.write_text(("user root\n" if os.geteuid() == 0 else "") + conf)
    return path


def start_mosquitto(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([require_tool("mosquitto"), "-c", str(conf), "-v"], stderr=out)


async def test_the_deploy_config_with_generated_acl_withstands_a_stolen_device(
    tmp_path: Path,
) -> None:
    """The shipped config with passwd and ACL from ``trygg-central broker-config``, attacked
    by rom-101's own credentials: it takes central's client id, and it publishes as rom-102
    and at another site. Central stays on the air, and only rom-101's own alarm reaches it."""
    plain, tls = free_port(), free_port()
    # Only the account names and central's password of the tests' broker are used: central
    # connects to the deploy-config Mosquitto started here.
    central = Central(
        Broker(tmp_path / "unused"),
        tmp_path,
        {"kari": "Kari Nordmann"},
        sites=(SITE_A, SITE_B),
        devices=DEVICES,
        mqtt_port=plain,
    )
    files = generate(central, tmp_path)  # passwd and acl, as an operator makes them
    conf = deploy_conf(tmp_path, files, plain, tls)
    log = tmp_path / "mosquitto.log"
    broker = start_mosquitto(conf, log)
    central_id = re.search(r'client_id = "([^"]+)"', central.config.read_text())
    assert central_id is not None
    try:
        wait_for_port(plain)
        central.start()

        def rom(name: str, identifier: str | None = None) -> aiomqtt.Client:
            return aiomqtt.Client(
                "127.0.0.1",
                plain,
                username=name,
                password=PASSWORDS[name],
                identifier=identifier,
                protocol=aiomqtt.ProtocolVersion.V5,
                timeout=5,
            )

        spoofs = [
            alarm_payload(SITE_A, "rom-102"),  # as another device of its site
            alarm_payload(SITE_B, "rom-101"),  # at another site, under its own name
            alarm_payload(SITE_B, "rom-201"),  # at another site, as that site's device
        ]
        async with rom("rom-101", central_id.group(1)) as stolen:
            # Connected with central's client id, and kept connected: central must not be
            # thrown off, and rom-102's alarm sent meanwhile must reach it.
            _, payload_102, id_102 = alarm_payload(SITE_A, "rom-102")
            async with rom("rom-102") as rom_102:
                await rom_102.publish(f"trygg/v1/{SITE_A}/rom-102/alarm", payload_102, qos=1)
            assert (await wait_for_alarm(central, "kari", id_102))["device"] == "rom-102"
            for topic, payload, _ in spoofs:
                await stolen.publish(topic, payload, qos=1)
            topic, payload, own_id = alarm_payload(SITE_A, "rom-101")
            await stolen.publish(topic, payload, qos=1)  # after the spoofs, in order
            await wait_for_alarm(central, "kari", own_id)
        # Central saw its own alarm after the spoofs: had the broker passed them, they would
        # be there (rom-102 and rom-201 are registered; site-b/rom-101 would be a fault).
        ids = {a["alarm_id"] for a in central.alarms("kari")}
        assert ids == {id_102, own_id}, central.logs()
        assert "not in the registry" not in central.logs()
        # And central never lost its own session to the device that took its client id.
        assert "already connected, closing old connection" not in log.read_text(), log.read_text()
        assert central.logs().count("mqtt: connected to") == 1, central.logs()
        assert "mqtt: link to" not in central.logs(), central.logs()
    finally:
        central.stop()
        broker.terminate()
        broker.wait(10)
