"""Issue 10, item 4: an edge that logs in with its client certificate needs no password.

The edge's config refuses a missing password only when no ``tls_cert`` is set; a device with a
certificate and no password line connects to the real Mosquitto's TLS listener
(``require_certificate``, ``use_identity_as_username``) and its alarm reaches central.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from configfile import ConfigError, load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.e2e.test_mqtt_tls import Pki, pki, tls_broker, tls_central
from tests.support.agent_waits import wait_connected, wait_ready
from tests.support.broker import Broker
from tests.support.stack import edge_config

__all__ = ["pki"]  # the fixture, shared with tests/e2e/test_mqtt_tls.py


def _without_password(config: Path, broker: Broker, pki: Pki, cert: bool) -> Path:
    """The edge config with no password line; over TLS, with its certificate if ``cert``."""
    assert broker.tls is not None
    text = config.read_text()
    start = text.index("password = ")
    text = text[:start] + text[text.index("\n", start) + 1 :]
    text = text.replace(f"port = {broker.port}\n", f"port = {broker.tls.port}\n")
    tls = f'tls_ca = "{pki.ca}"\n'
    if cert:
        pem, key = pki.client("rom-101")
        tls += f'tls_cert = "{pem}"\ntls_key = "{key}"\n'
    config.write_text(text.replace("keepalive_s = 5\n", f"keepalive_s = 5\n{tls}"))
    return config


def test_a_missing_password_is_refused_only_without_a_certificate(pki: Pki, tmp_path: Path) -> None:
    broker = tls_broker(pki, tmp_path / "broker")
    try:
        config = _without_password(edge_config(tmp_path, broker), broker, pki, cert=False)
        with pytest.raises(ConfigError) as refused:
            load_settings(EdgeSettings, config)
        line = config.read_text().splitlines().index("[mqtt]") + 1
        assert [str(p) for p in refused.value.problems] == [
            f"{config}:{line}: [mqtt.password] required value is missing"
        ]
        config = _without_password(edge_config(tmp_path, broker), broker, pki, cert=True)
        settings = load_settings(EdgeSettings, config)
        assert settings.mqtt.password is None
        assert settings.mqtt.tls_cert == pki.client("rom-101")[0]
    finally:
        broker.stop()


async def test_an_edge_with_a_certificate_and_no_password_delivers_an_alarm(
    pki: Pki, tmp_path: Path
) -> None:
    broker = tls_broker(pki, tmp_path / "broker")
    central = tls_central(pki, broker, tmp_path)
    central.start()
    config = _without_password(edge_config(tmp_path, broker), broker, pki, cert=True)
    pins = MockFactory()
    agent = EdgeAgent(load_settings(EdgeSettings, config), pin_factory=pins)
    task = asyncio.create_task(agent.run())
    try:
        await wait_ready(agent, timeout=10)
        await wait_connected(agent, timeout=15)
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        alarms: list[dict[str, object]] = []
        for _ in range(200):
            alarms = central.alarms("kari")
            if alarms:
                break
            await asyncio.sleep(0.1)
        assert [(a["device"], a["level"]) for a in alarms] == [("rom-101", "acute")]
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()
        central.stop()
        broker.stop()
