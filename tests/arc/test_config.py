"""A site's [sites.arc] section: what is accepted, what is refused, and `trygg-central arc-test`
against a real receiving centre (pysiaalarm as its own process)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from central.arc import ArcLink, SiteLink, Status, sites_of
from central.arc.session import Account, Policy
from central.config import CentralSettings
from configfile import ConfigError, load_settings
from tests.support.arc import SiaReceiver
from tests.support.net import free_port

CLI = Path(sys.executable).parent / "trygg-central"
TEXT_KEY = "A1B2C3D4E5F60718"
HEX_KEY = "9F8E7D6C5B4A39281706F5E4D3C2B1A0"

BASE = """\
[mqtt]
password = "b7Rk2-pQ9x-Lm4v8Tz3"
[registry]
open = true
[[sites]]
id = "oslo"
name = "Oslo"
[sites.arc]
account = "5678"
receivers = [{receivers}]
{extra}
"""


def config(tmp_path: Path, receivers: str = '"127.0.0.1:9000"', extra: str = "") -> Path:
    path = tmp_path / "central.toml"
    path.write_text(BASE.format(receivers=receivers, extra=extra), encoding="utf-8")
    return path


def problems(path: Path) -> str:
    with pytest.raises(ConfigError) as refused:
        load_settings(CentralSettings, path)
    return "\n".join(str(p) for p in refused.value.problems)


def test_defaults_and_the_link_they_make(tmp_path: Path) -> None:
    settings = load_settings(CentralSettings, config(tmp_path))
    assert sites_of(settings) == [
        SiteLink(
            "oslo",
            Account("5678", "ADM-CID", "0", None, 1),
            (("127.0.0.1", 9000),),
            None,
            Policy(1, 3, timedelta(seconds=2), timedelta(seconds=30), timedelta(seconds=60)),
            10.0,
        )
    ]


def test_every_setting_and_a_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSLO_ARC_KEY", HEX_KEY)
    extra = (
        'format = "sia-dcs"\nreceiver_number = "1a"\nline = "2"\narea = 3\n'
        'key_env = "OSLO_ARC_KEY"\ntimeout_s = 4\nattempts = 2\nretry_delay_s = 1\n'
        "pause_s = 20\nlink_test_s = 90\n"
    )
    path = config(tmp_path, '"arc1.example.no:4000", "[::1]:4001"', extra)
    (link,) = sites_of(load_settings(CentralSettings, path))
    assert link == SiteLink(
        "oslo",
        Account("5678", "SIA-DCS", "2", "1A", 3),
        (("arc1.example.no", 4000), ("::1", 4001)),
        bytes.fromhex(HEX_KEY),
        Policy(2, 2, timedelta(seconds=1), timedelta(seconds=20), timedelta(seconds=90)),
        4.0,
    )
    monkeypatch.setenv("OSLO_ARC_KEY", TEXT_KEY)
    text = config(tmp_path, extra='key_env = "OSLO_ARC_KEY"\nkey_encoding = "text"')
    assert sites_of(load_settings(CentralSettings, text))[0].key == TEXT_KEY.encode()


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        (None, "environment variable OSLO_ARC_KEY (the ARC key) is not set"),
        ("0123456789ABCDEF0123456789ABCDEF", "the sample key or a guessable one"),
        ("ABABABABABABABABABABABABABABABAB", "the sample key or a guessable one"),
        ("ABCDEF", "a hex ARC key is 32/48/64 hex digits"),
        ("Z" * 32, "a hex ARC key is 32/48/64 hex digits"),
    ],
)
def test_bad_keys_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, refusal: str
) -> None:
    monkeypatch.delenv("OSLO_ARC_KEY", raising=False)
    if value is not None:
        monkeypatch.setenv("OSLO_ARC_KEY", value)
    assert refusal in problems(config(tmp_path, extra='key_env = "OSLO_ARC_KEY"'))


def with_devices(tmp_path: Path, *zones: str) -> Path:
    """The base config with a registry of rom-1, rom-2, ... at oslo, each with ``zones[i]``
    (its table's extra line, "" for none)."""
    text = BASE.format(receivers='"127.0.0.1:9000"', extra="").replace(
        "[registry]\nopen = true\n", ""
    )
    for n, zone in enumerate(zones, start=1):
        text += f'[[devices]]\nsite = "oslo"\nid = "rom-{n}"\nroom = "Rom {n}"\n{zone}\n'
    path = tmp_path / "central.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_device_of_a_site_with_an_arc_names_its_zone_once(tmp_path: Path) -> None:
    ok = load_settings(CentralSettings, with_devices(tmp_path, "arc_zone = 2", "arc_zone = 1"))
    assert [(d.id, d.arc_zone) for d in ok.devices] == [("rom-1", 2), ("rom-2", 1)]
    missing = problems(with_devices(tmp_path, "arc_zone = 1", ""))
    assert "central.toml:" in missing
    assert "missing for rom-2" in missing
    assert "arc_zone at site oslo" in problems(
        with_devices(tmp_path, "arc_zone = 3", "arc_zone = 3")
    )
    assert "arc_zone" in problems(with_devices(tmp_path, "arc_zone = 901"))  # announcements'


def test_bad_addresses_and_accounts_are_refused(tmp_path: Path) -> None:
    assert "receiver 'arc.example.no' is not host:port" in problems(
        config(tmp_path, '"arc.example.no"')
    )
    assert "is not host:port" in problems(config(tmp_path, '"arc:99999"'))
    assert "account" in problems(config(tmp_path, extra='account = "XYZ"'))


def run_arc_test(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "arc-test", "--config", str(path), "--site", "oslo"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_arc_test_sends_602_to_every_receiver(tmp_path: Path) -> None:
    arc = SiaReceiver([f"5678:{TEXT_KEY}"]).start()
    try:
        dead = free_port()
        extra = 'key_env = "OSLO_ARC_KEY"\nkey_encoding = "text"\ntimeout_s = 3'
        path = config(tmp_path, f'"127.0.0.1:{arc.port}", "127.0.0.1:{dead}"', extra)
        done = run_arc_test(path, {"OSLO_ARC_KEY": TEXT_KEY})
        lines = done.stdout.splitlines()
        assert done.returncode == 1, done.stderr  # the fallback did not answer
        assert lines[0] == "site oslo: account 5678, ADM-CID, encrypted, test event 602 (RP)"
        assert lines[1].startswith(f"receiver 1 127.0.0.1:{arc.port}: ACK in ")
        assert lines[2].startswith(f"receiver 2 127.0.0.1:{dead}: no answer (")
        got = arc.wait_for(lambda e: e["type"] == "ADM-CID")
        assert (got["account"], got["event_type"], got["code"]) == ("5678", "602", "RP")
        both = config(tmp_path, f'"127.0.0.1:{arc.port}"', extra)
        assert run_arc_test(both, {"OSLO_ARC_KEY": TEXT_KEY}).returncode == 0
    finally:
        arc.stop()


def test_arc_test_names_a_site_without_an_arc(tmp_path: Path) -> None:
    path = config(tmp_path)
    path.write_text(path.read_text().replace("[sites.arc]", "[sites.nothing]"))
    text = path.read_text().split("[sites.nothing]")[0]
    path.write_text(text)
    done = run_arc_test(path, {})
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "trygg-central: site 'oslo' has no [sites.arc] section",
    )


async def test_the_link_from_settings_keeps_its_outbox_beside_the_store(tmp_path: Path) -> None:
    path = config(tmp_path, extra=f'[store]\npath = "{tmp_path / "data" / "central.db"}"')
    settings = load_settings(CentralSettings, path)
    link = ArcLink.from_settings(settings)
    await link.start()
    try:
        assert (tmp_path / "data" / "arc.db").is_file()
        state = link.state("oslo")
        assert state is not None
        assert state.status in (Status.UNKNOWN, Status.DOWN)  # nothing listens on :9000
    finally:
        await link.stop()
