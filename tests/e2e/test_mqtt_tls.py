"""Issue 10, item 4: MQTT over TLS with the office CA and per-device client certificates.

A real Mosquitto with a TLS listener as deploy/mosquitto/trygg.conf has it
(``require_certificate``, ``use_identity_as_username``), certificates made by ``trustme``.
Central and a real edge agent connect through it; a device presenting the certificate of
another id cannot publish as that id's topics' owner, and a certificate from another CA (or
none) is refused at the handshake.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import pytest
import trustme
from gpiozero.pins.mock import MockFactory

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from firmware_sim.broker import wait_for_port
from tests.security.helpers import alarm_payload, wait_for_alarm
from tests.support.agent_waits import wait_connected, wait_ready
from tests.support.broker import Broker, TlsListener
from tests.support.stack import SITE, Central, edge_config

USERS = {"kari": "Kari Nordmann"}


@dataclass(frozen=True)
class Pki:
    dir: Path
    ca: Path

    def client(self, name: str) -> tuple[Path, Path]:
        return self.dir / f"{name}.pem", self.dir / f"{name}.key"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """The office CA, the broker's certificate, and client certificates (CN = account)."""
    where = tmp_path / "pki"
    where.mkdir()
    office, stranger = trustme.CA(), trustme.CA()
    office.cert_pem.write_to_path(str(where / "ca.pem"))
    leaves = {
        "broker": office.issue_cert("127.0.0.1", "localhost"),
        "central": office.issue_cert("central.trygg.invalid", common_name="central"),
        "rom-101": office.issue_cert("rom-101.trygg.invalid", common_name="rom-101"),
        "rom-102": office.issue_cert("rom-102.trygg.invalid", common_name="rom-102"),
        # A certificate naming rom-101, signed by somebody else's CA.
        "forged-rom-101": stranger.issue_cert("rom-101.trygg.invalid", common_name="rom-101"),
    }
    for name, leaf in leaves.items():
        with (where / f"{name}.pem").open("wb") as out:
            for blob in leaf.cert_chain_pems:
                out.write(blob.bytes())
        leaf.private_key_pem.write_to_path(str(where / f"{name}.key"))
    return Pki(where, where / "ca.pem")


def tls_broker(pki: Pki, workdir: Path) -> Broker:
    cert, key = pki.client("broker")
    broker = Broker(workdir, tls=TlsListener(pki.ca, cert, key))
    broker.start()
    assert broker.tls is not None
    wait_for_port(broker.tls.port)
    return broker


def tls_central(pki: Pki, broker: Broker, workdir: Path) -> Central:
    assert broker.tls is not None
    cert, key = pki.client("central")
    return Central(
        broker,
        workdir,
        USERS,
        mqtt_port=broker.tls.port,
        mqtt_extra=(f'tls_ca = "{pki.ca}"', f'tls_cert = "{cert}"', f'tls_key = "{key}"'),
    )


def device_client(
    broker: Broker, pki: Pki, cert_name: str | None, username: str, ca: Path | None = None
) -> aiomqtt.Client:
    assert broker.tls is not None
    cert, key = pki.client(cert_name) if cert_name else (None, None)
    return aiomqtt.Client(
        "127.0.0.1",
        broker.tls.port,
        username=username,
        password="not-used-with-certificates",
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=5,
        tls_params=aiomqtt.TLSParameters(
            ca_certs=str(ca or pki.ca),
            certfile=str(cert) if cert else None,
            keyfile=str(key) if key else None,
        ),
    )


async def test_edge_with_its_certificate_delivers_an_alarm_over_tls(
    pki: Pki, tmp_path: Path
) -> None:
    broker = tls_broker(pki, tmp_path / "broker")
    central = tls_central(pki, broker, tmp_path)
    central.start()
    assert broker.tls is not None
    config = edge_config(tmp_path, broker, device="rom-101")
    cert, key = pki.client("rom-101")
    text = config.read_text().replace(f"port = {broker.port}\n", f"port = {broker.tls.port}\n")
    text = text.replace(
        "keepalive_s = 5\n",
        f'keepalive_s = 5\ntls_ca = "{pki.ca}"\ntls_cert = "{cert}"\ntls_key = "{key}"\n',
    )
    config.write_text(text)
    pins = MockFactory()
    agent = EdgeAgent(load_settings(EdgeSettings, config), pin_factory=pins)
    task = asyncio.create_task(agent.run())
    try:
        await wait_ready(agent, timeout=10)
        await wait_connected(agent, timeout=15)
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        for _ in range(200):
            alarms = central.alarms("kari")
            if alarms:
                break
            await asyncio.sleep(0.1)
        assert [(a["device"], a["level"]) for a in alarms] == [("rom-101", "acute")]
        for _ in range(200):  # central acked it over TLS: the edge's outbox is empty
            if agent.outbox_pending() == 0:
                break
            await asyncio.sleep(0.1)
        assert agent.outbox_pending() == 0
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()
        central.stop()
        broker.stop()


async def test_a_certificate_for_another_id_or_another_ca_is_refused(
    pki: Pki, tmp_path: Path
) -> None:
    broker = tls_broker(pki, tmp_path / "broker")
    central = tls_central(pki, broker, tmp_path)
    central.start()
    try:
        # rom-102's certificate, claiming to be rom-101 by username: the certificate wins.
        topic, payload, spoofed = alarm_payload(SITE, "rom-101")
        own_topic, own_payload, own = alarm_payload(SITE, "rom-102")
        async with device_client(broker, pki, "rom-102", username="rom-101") as impostor:
            await impostor.publish(topic, payload, qos=1)  # dropped by the broker's ACL
            await impostor.publish(own_topic, own_payload, qos=1)  # its own: delivered
        await wait_for_alarm(central, "kari", own)
        assert spoofed not in {a["alarm_id"] for a in central.alarms("kari")}
        # A certificate for rom-101 signed by another CA, or none at all: no connection.
        for cert_name in ("forged-rom-101", None):
            with pytest.raises((aiomqtt.MqttError, ssl.SSLError, OSError)):
                async with device_client(broker, pki, cert_name, username="rom-101") as c:
                    await c.publish(topic, payload, qos=1)
        assert spoofed not in {a["alarm_id"] for a in central.alarms("kari")}
    finally:
        central.stop()
        broker.stop()
