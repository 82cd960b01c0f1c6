"""The device registry and MQTT TLS settings in the configs: refused with file and line, and
what ``broker-config`` makes of the registry (hashes Mosquitto reads are checked by the real
broker in test_device_registry.py)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from central import brokerconfig
from central.config import CentralSettings
from configfile import ConfigError, load_settings
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Login

BASE = """[mqtt]
password = "b7Rk2-pQ9x-Lm4v8Tz3"
{mqtt}
[[sites]]
id = "site-a"
name = "A"
{devices}
"""
ROM_101 = '[[devices]]\nsite = "site-a"\nid = "rom-101"\nroom = "Møterom 101"\n'
OPEN = "[registry]\nopen = true\n"
CLOSED = "[registry]\nopen = false\n"
CLI = Path(sys.executable).parent / "trygg-central"


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "central.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_settings(CentralSettings, path)
    return [str(p) for p in refused.value.problems]


@pytest.mark.parametrize(
    ("devices", "expected"),
    [
        (ROM_101 * 2, "devices must be unique; repeated: site-a/rom-101"),
        (ROM_101.replace("site-a", "site-b"), "device rom-101 names unknown site 'site-b'"),
        (ROM_101 + 'username = "central"\n', "may not use central's MQTT username"),
        (ROM_101.replace("rom-101", "Rom 101", 1), "[devices.0.id]"),
    ],
)
def test_bad_devices_are_refused_with_file_and_line(
    tmp_path: Path, devices: str, expected: str
) -> None:
    found = problems(tmp_path, BASE.format(mqtt="", devices=devices))
    assert any(expected in p for p in found), found
    assert all(p.startswith(f"{tmp_path / 'central.toml'}:") for p in found), found


def test_a_config_without_devices_is_refused_at_its_sites_line(tmp_path: Path) -> None:
    """Secure by default: no [[devices]] and no explicit opt-in, central does not start."""
    path = tmp_path / "central.toml"
    for text in (BASE.format(mqtt="", devices=""), BASE.format(mqtt="", devices=CLOSED)):
        found = problems(tmp_path, text)
        line = text.splitlines().index("[[sites]]") + 1
        assert found == [
            f"{path}:{line}: [sites] Value error, no device registry: declare each device in a"
            " [[devices]] table (site, id, room), so that only known devices raise alarms, each"
            " in its own room; for a trial only, [registry] open = true trusts every device the"
            " broker admits (docs/security.md)"
        ]
    refused = subprocess.run(
        [CLI, "validate-config", str(path)], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert f"{path}:{line}: [sites]" in refused.stderr
    assert "no device registry" in refused.stderr


def test_an_open_registry_is_an_explicit_opt_in_and_excludes_devices(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text(BASE.format(mqtt="", devices=OPEN))
    settings = load_settings(CentralSettings, path)
    assert settings.registry.open
    assert settings.devices == ()
    found = problems(tmp_path, BASE.format(mqtt="", devices=ROM_101 + OPEN))
    line = (BASE.format(mqtt="", devices=ROM_101 + OPEN)).splitlines().index("[[devices]]") + 1
    assert found == [
        f"{path}:{line}: [devices] Value error, [registry] open = true and [[devices]] contradict"
        " each other: with devices declared, remove open = true"
    ]
    path.write_text(BASE.format(mqtt="", devices=ROM_101))
    assert not load_settings(CentralSettings, path).registry.open


def test_tls_insecure_and_half_a_client_certificate_are_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    found = problems(tmp_path, BASE.format(mqtt="tls_insecure = true", devices=""))
    assert any("tls_insecure is refused" in p for p in found), found
    found = problems(tmp_path, BASE.format(mqtt=f'tls_ca = "{ca}"\ntls_cert = "{ca}"', devices=""))
    assert any("tls_cert and tls_key go together" in p for p in found), found
    found = problems(tmp_path, BASE.format(mqtt=f'tls_ca = "{tmp_path / "no.pem"}"', devices=""))
    assert any("is not a readable file" in p for p in found), found


def test_acl_names_each_device_s_own_site_and_no_wildcard(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text(BASE.format(mqtt="", devices=ROM_101))
    acl = brokerconfig.acl_text(load_settings(CentralSettings, path))
    device_part = acl[acl.index("user rom-101") :]
    assert device_part.splitlines() == [
        "user rom-101",
        "topic write trygg/v1/site-a/rom-101/alarm",
        "topic write trygg/v1/site-a/rom-101/status",
        "topic write trygg/v1/site-a/rom-101/heartbeat",
        "topic write trygg/v1/site-a/rom-101/event",
        "topic write trygg/v1/site-a/rom-101/selftest/result",
        "topic read trygg/v1/site-a/rom-101/ack",
        "topic read trygg/v1/site-a/rom-101/selftest/run",
        "topic read trygg/v1/site-a/rom-101/announce",
    ]
    assert "+" not in device_part
    assert "pattern" not in acl


def test_acl_lets_only_a_device_that_may_announce_ask_for_it(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    reception = ROM_101.replace("101", "102") + 'announces = ["evacuate", "all_clear"]\n'
    path.write_text(BASE.format(mqtt="", devices=ROM_101 + reception))
    acl = brokerconfig.acl_text(load_settings(CentralSettings, path))
    plain = acl[acl.index("user rom-101") : acl.index("# site-a/rom-102")]
    announcer = acl[acl.index("user rom-102") :]
    assert "announce/request" not in plain
    assert announcer.splitlines()[-2:] == [
        "topic read trygg/v1/site-a/rom-102/announce",
        "topic write trygg/v1/site-a/rom-102/announce/request",
    ]


def test_missing_or_weak_device_passwords_are_named(tmp_path: Path) -> None:
    path = tmp_path / "central.toml"
    path.write_text(BASE.format(mqtt="", devices=ROM_101 + ROM_101.replace("101", "102")))
    settings = load_settings(CentralSettings, path)
    env = {"TRYGG_MQTT_PASSWORD_ROM_102": "short"}
    with pytest.raises(brokerconfig.BrokerConfigError) as refused:
        brokerconfig.find_passwords(settings, None, env)
    text = str(refused.value)
    assert "site-a/rom-101: no password" in text
    assert "TRYGG_MQTT_PASSWORD_ROM_101" in text
    assert "site-a/rom-102: password unfit" in text
    env = {"TRYGG_MQTT_PASSWORD_ROM_101": "x7Kq-" * 4, "TRYGG_MQTT_PASSWORD_ROM_102": "Zp3w-" * 4}
    found = brokerconfig.find_passwords(settings, None, env)
    assert set(found) == {"central", "rom-101", "rom-102"}


def test_hash_is_mosquittos_pbkdf2_sha512_format() -> None:
    salt = bytes(range(12))
    hashed = brokerconfig.hash_password("secret-password", salt)
    _, kind, rounds, salt64, digest64 = hashed.split("$")
    assert (kind, rounds, base64.b64decode(salt64)) == ("7", "101", salt)
    expected = hashlib.pbkdf2_hmac("sha512", b"secret-password", salt, 101)
    assert base64.b64decode(digest64) == expected


def test_an_open_registry_is_announced_at_start_and_on_the_board(
    broker: Broker, tmp_path: Path
) -> None:
    for devices, announced in (((), True), (((SITE, "rom-101", "Møterom 101"),), False)):
        workdir = tmp_path / ("open" if announced else "closed")
        workdir.mkdir()
        central = Central(broker, workdir, {}, devices=devices)
        central.start()
        try:  # the board is a page: Kari signs in (an account with a password)
            central.add_logins(Login("kari", "Kari Nordmann", ("responder",)))
            with central.log_in("kari").client() as browser:
                page = browser.get("/board/live")
            assert page.status_code == 200, page.text
            assert ("data-open-registry" in page.text) is announced
            assert ("the device registry is open" in central.logs()) is announced
        finally:
            central.stop()
