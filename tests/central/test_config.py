"""Central's configuration: what is refused, and the CLI's validate-config."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from central.config import CentralSettings
from configfile import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "central" / "sample-central.toml"
CLI = Path(sys.executable).parent / "trygg-central"

GOOD = """\
[mqtt]
password = "b7Rk2-pQ9x-Lm4v8Tz3"
[[sites]]
id = "oslo-sentrum"
name = "Oslo"
[[users]]
id = "kari"
name = "Kari"
token = "{token}"
sites = [{sites}]
[[devices]]
site = "oslo-sentrum"
id = "rom-101"
room = "Møterom 101"
"""


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_settings(CentralSettings, config(tmp_path, text))
    return [str(p) for p in refused.value.problems]


def filled_sample(tmp_path: Path) -> Path:
    """The sample with its CHANGE-ME secrets replaced by generated ones, as an operator does."""
    text = SAMPLE.read_text(encoding="utf-8")
    real = re.sub(r'"CHANGE-ME[^"]*"', lambda _: f'"{secrets.token_urlsafe(32)}"', text)
    return config(tmp_path, real)


def test_sample_is_valid_and_defaults_fill_in(tmp_path: Path) -> None:
    settings = load_settings(CentralSettings, filled_sample(tmp_path))
    assert settings.mqtt.client_id == "trygg-central"
    assert settings.http.port == 8080
    minimal = load_settings(
        CentralSettings,
        config(tmp_path, GOOD.format(token="a1b2c3d4e5f6g7h8i9j0k1l2", sites='"*"')),
    )
    assert minimal.mqtt.username == "central"
    assert minimal.people()[0].everywhere


def test_env_overrides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYGG_CENTRAL_MQTT__PASSWORD", "from-the-environment-42")
    path = config(tmp_path, GOOD.format(token="a1b2c3d4e5f6g7h8i9j0k1l2", sites='"*"'))
    assert load_settings(CentralSettings, path).mqtt.password == "from-the-environment-42"


@pytest.mark.parametrize(
    ("token", "sites", "expected"),
    [
        ("short-token", '"*"', "[users.0.token] String should have at least 24 characters"),
        (
            "changeme-changeme-changeme",
            '"*"',
            "[users.0.token] Value error, token is a placeholder",
        ),
        ("<put-a-real-token-here-please>", '"*"', "placeholder"),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaa", '"*"', "too repetitive"),
        ("a1b2c3d4e5f6g7h8i9j0k1l2", '"bergen"', "unknown site(s): bergen"),
    ],
)
def test_bad_users_are_refused_with_file_and_line(
    tmp_path: Path, token: str, sites: str, expected: str
) -> None:
    found = problems(tmp_path, GOOD.format(token=token, sites=sites))
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path / "central.toml")) for p in found)


def test_repeats_empty_password_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    text = GOOD.format(token="a1b2c3d4e5f6g7h8i9j0k1l2", sites='"*"')
    text = text.replace('password = "b7Rk2-pQ9x-Lm4v8Tz3"', 'password = ""\nqos = 2')
    text += text[text.index("[[sites]]") :]  # the same site and user again
    found = problems(tmp_path, text)
    assert any("central.toml:2: [mqtt.password]" in p for p in found), found
    assert any("[mqtt.qos] Extra inputs are not permitted" in p for p in found), found
    assert any("site ids must be unique; repeated: oslo-sentrum" in p for p in found), found
    assert any("user ids must be unique; repeated: kari" in p for p in found), found


def test_shared_tokens_are_refused(tmp_path: Path) -> None:
    text = GOOD.format(token="a1b2c3d4e5f6g7h8i9j0k1l2", sites='"*"')
    text += text[text.index("[[users]]") : text.index("[[devices]]")].replace(
        'id = "kari"', 'id = "ola"'
    )
    assert any("users kari, ola share a token" in p for p in problems(tmp_path, text))


def test_placeholder_password_is_refused(tmp_path: Path) -> None:
    text = GOOD.format(token="a1b2c3d4e5f6g7h8i9j0k1l2", sites='"*"')
    found = problems(tmp_path, text.replace("b7Rk2-pQ9x-Lm4v8Tz3", "Password"))
    assert any("[mqtt.password] Value error, password is a placeholder" in p for p in found)
    found = problems(tmp_path, text.replace("b7Rk2-pQ9x-Lm4v8Tz3", "   "))
    assert any("password is empty" in p for p in found)


def test_cli_validate_config(tmp_path: Path) -> None:
    (tmp_path / "sample").mkdir()
    sample = filled_sample(tmp_path / "sample")
    ok = subprocess.run([CLI, "validate-config", sample], capture_output=True, text=True)
    assert ok.returncode == 0
    assert ok.stdout.strip() == f"{sample}: ok"
    bad = config(tmp_path, GOOD.format(token="short", sites='"*"'))
    refused = subprocess.run([CLI, "validate-config", bad], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert f"{bad}:9: [users.0.token]" in refused.stderr
    run = subprocess.run([CLI, "--config", bad], capture_output=True, text=True)
    assert run.returncode == 2
    assert "[users.0.token]" in run.stderr
    helped = subprocess.run([CLI, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0
    assert "validate-config" in helped.stdout


SITE_AND_USERS = """\
[mqtt]
password = "b7Rk2-pQ9x-Lm4v8Tz3"
[[sites]]
id = "oslo-sentrum"
name = "Oslo"
{site}
[[users]]
id = "frida"
name = "Frida"
token = "a1b2c3d4e5f6g7h8i9j0k1l2"
sites = ["oslo-sentrum"]
roles = ["responder", "facility_manager"]
[[users]]
id = "per"
name = "Per"
token = "z9y8x7w6v5u4t3s2r1q0p9o8"
sites = ["bergen-x"]
[[devices]]
site = "oslo-sentrum"
id = "rom-101"
room = "Møterom 101"
"""


def test_roles_opening_hours_and_test_screen(tmp_path: Path) -> None:
    text = SITE_AND_USERS.format(
        site='opening_hours = "08:00-16:00"\ntest_screen = "frida"'
    ).replace('sites = ["bergen-x"]', 'sites = ["*"]')
    settings = load_settings(CentralSettings, config(tmp_path, text))
    frida, per = settings.people()
    assert frida.facility_manager
    assert not per.facility_manager
    site = settings.sites[0]
    assert site.test_screen == "frida"
    assert site.hours() is not None
    assert settings.site("oslo-sentrum") is site
    assert settings.site("nowhere") is None


@pytest.mark.parametrize(
    ("site", "reason"),
    [
        ('test_screen = "nobody"', "test_screen 'nobody' is not a user"),
        ('test_screen = "per"', "'per' is not a user of that site"),
        ('opening_hours = "16:00-08:00"', "end before they start"),
        ('zone = "Mars/Olympus"', "unknown time zone"),
        ('opening_days = ["fri", "funday"]', "Input should be"),
    ],
)
def test_site_settings_refused(tmp_path: Path, site: str, reason: str) -> None:
    text = SITE_AND_USERS.format(site=site).replace(
        'sites = ["bergen-x"]', 'sites = ["oslo-sentrum"]'
    )
    if "'per' is not a user of that site" in reason:
        text = text.replace(
            '[[sites]]\nid = "oslo-sentrum"',
            '[[sites]]\nid = "bergen-x"\nname = "B"\n[[sites]]\nid = "oslo-sentrum"',
        )
        text = text.replace(
            'token = "z9y8x7w6v5u4t3s2r1q0p9o8"\nsites = ["oslo-sentrum"]',
            'token = "z9y8x7w6v5u4t3s2r1q0p9o8"\nsites = ["bergen-x"]',
        )
    found = problems(tmp_path, text)
    assert any(reason in p for p in found), found


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    text = SITE_AND_USERS.format(site="").replace("facility_manager", "janitor")
    assert any("roles" in p for p in problems(tmp_path, text))
