"""``[sso]`` in central's configuration: what a safe single sign-on setting is, and every
refusal with its file, line and reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from central.config import CentralSettings
from central.core import Role
from central.core.signon import GroupRule
from configfile import ConfigError, load_settings

ENV = "TRYGG_TEST_SSO_CLIENT_SECRET"
SECRET = "Vq8~pX2rL9dK4mN7sT1wZ6bF3hJ5cG0y"
BASE = """\
[mqtt]
password = "b7Rk2-pQ9x-Lm4v8Tz3"
[web]
secure_cookies = true
[[sites]]
id = "oslo-sentrum"
name = "Oslo"
[[devices]]
site = "oslo-sentrum"
id = "rom-101"
room = "Møterom 101"
"""
SSO = """\
[sso]
issuer = "https://login.microsoftonline.com/0d3c5a1e-7f42-4b8e-9c61-2a5f8e0b7d34/v2.0"
client_id = "5f0e7a3c-9b1d-4e62-8a7f-3c1d9e4b2a60"
client_secret_env = "{env}"
redirect_uri = "https://trygg.nav.example/sso/callback"
"""
GROUPS = """\
[[sso.groups]]
group = "a1b2c3d4-0000-4000-8000-000000000001"
sites = ["oslo-sentrum"]
[[sso.groups]]
group = "a1b2c3d4-0000-4000-8000-000000000002"
roles = ["responder", "leader"]
"""
SSO = SSO + GROUPS


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)


def write(tmp_path: Path, sso: str) -> Path:
    path = tmp_path / "central.toml"
    path.write_text(BASE + sso.replace("{env}", ENV), encoding="utf-8")
    return path


def problems(tmp_path: Path, sso: str) -> list[str]:
    path = write(tmp_path, sso)
    with pytest.raises(ConfigError) as refused:
        load_settings(CentralSettings, path)
    return [str(p) for p in refused.value.problems]


def line_of(sso: str, needle: str) -> int:
    """The 1-based line of ``needle`` in the whole file (BASE + sso)."""
    text = BASE + sso.replace("{env}", ENV)
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_good_sso_section_loads_with_safe_defaults(tmp_path: Path) -> None:
    settings = load_settings(CentralSettings, write(tmp_path, SSO))
    sso = settings.sso
    assert sso is not None
    assert sso.user_claim == "preferred_username"
    assert sso.groups_claim == "groups"
    assert "openid" in sso.scopes
    assert sso.redirect_uri == "https://trygg.nav.example/sso/callback"
    assert sso.max_idle_days == 10
    assert sso.client_secret_value() == SECRET
    assert SECRET not in repr(settings)
    rules = sso.rules()
    assert rules.rules[1] == GroupRule(
        "a1b2c3d4-0000-4000-8000-000000000002", frozenset({Role.RESPONDER, Role.LEADER})
    )


def test_without_sso_there_is_none(tmp_path: Path) -> None:
    assert load_settings(CentralSettings, write(tmp_path, "")).sso is None


def test_a_secret_written_in_the_file_is_refused_at_its_line(tmp_path: Path) -> None:
    sso = SSO.replace(
        'client_secret_env = "{env}"\n', 'client_secret_env = "{env}"\nclient_secret = "x"\n'
    )
    found = problems(tmp_path, sso)
    line = line_of(sso, "client_secret =")
    assert any(
        p.startswith(f"{tmp_path / 'central.toml'}:{line}: [sso.client_secret]")
        and "never written in the configuration" in p
        for p in found
    ), found


def test_a_missing_or_placeholder_secret_names_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = line_of(SSO, "client_secret_env")
    monkeypatch.delenv(ENV)
    [missing] = problems(tmp_path, SSO)
    assert missing.startswith(f"{tmp_path / 'central.toml'}:{line}: [sso.client_secret_env]")
    assert f"environment variable {ENV} (the SSO client secret) is not set" in missing
    monkeypatch.setenv(ENV, "changeme")
    [placeholder] = problems(tmp_path, SSO)
    assert f":{line}: [sso.client_secret_env]" in placeholder
    assert "placeholder" in placeholder


@pytest.mark.parametrize(
    ("issuer", "reason"),
    [
        ("http://login.example/tenant", "must use https://"),
        ("ftp://login.example", "must be an absolute https:// URL"),
        ("https://user:pw@login.example", "must not hold a user"),
        ("https://login.example/?tenant=x", "must not hold a user, a query"),
    ],
)
def test_an_issuer_that_is_not_https_is_refused(tmp_path: Path, issuer: str, reason: str) -> None:
    sso = SSO.replace(
        "https://login.microsoftonline.com/0d3c5a1e-7f42-4b8e-9c61-2a5f8e0b7d34/v2.0", issuer
    )
    [found] = problems(tmp_path, sso)
    assert f":{line_of(sso, 'issuer')}: [sso.issuer]" in found
    assert reason in found


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_http_is_accepted_on_this_machine_only(tmp_path: Path, host: str) -> None:
    sso = SSO.replace(
        "https://login.microsoftonline.com/0d3c5a1e-7f42-4b8e-9c61-2a5f8e0b7d34/v2.0",
        f"http://{host}:5001",
    )
    settings = load_settings(CentralSettings, write(tmp_path, sso))
    assert settings.sso is not None


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (
            ('client_id = "5f0e7a3c-9b1d-4e62-8a7f-3c1d9e4b2a60"', 'client_id = "<client-id>"'),
            "sso.client_id",
            "placeholder",
        ),
        (
            ('client_secret_env = "{env}"', 'client_secret_env = "not a name"'),
            "sso.client_secret_env",
            "should match",
        ),
        (
            ('roles = ["responder", "leader"]', 'roles = ["boss"]'),
            "sso.groups.1.roles.0",
            "Input should be",
        ),
        (
            ('roles = ["responder", "leader"]', "roles = []"),
            "sso.groups.1",
            "neither roles nor sites",
        ),
        (
            ('sites = ["oslo-sentrum"]', 'sites = ["tromso"]'),
            "sso",
            "names unknown site(s): tromso",
        ),
        (("[sso]\n", '[sso]\nscopes = ["profile"]\n'), "sso.scopes", "must include 'openid'"),
        (
            (
                'redirect_uri = "https://trygg.nav.example/sso/callback"',
                'redirect_uri = "http://trygg.example/sso/callback"',
            ),
            "sso.redirect_uri",
            "https",
        ),
        (
            (
                'group = "a1b2c3d4-0000-4000-8000-000000000002"',
                'group = "a1b2c3d4-0000-4000-8000-000000000001"',
            ),
            "sso.groups",
            "repeated",
        ),
        (
            (
                GROUPS,
                "",
            ),
            "sso.groups",
            "required value is missing",
        ),
    ],
)
def test_each_unsafe_or_wrong_setting_is_refused(
    tmp_path: Path, change: tuple[str, str], where: str, reason: str
) -> None:
    old, new = change
    assert old in SSO
    found = problems(tmp_path, SSO.replace(old, new))
    assert any(f"[{where}]" in p and reason in p for p in found), found
    assert all(re.match(r".*central\.toml:\d+: \[", p) for p in found), found


def test_the_redirect_uri_is_required(tmp_path: Path) -> None:
    """Never taken from a request's Host header: it must be configured."""
    sso = SSO.replace('redirect_uri = "https://trygg.nav.example/sso/callback"\n', "")
    found = problems(tmp_path, sso)
    assert any("[sso.redirect_uri]" in p and "required" in p for p in found), found


def test_sso_without_secure_cookies_is_refused_unless_the_provider_is_on_this_machine(
    tmp_path: Path,
) -> None:
    plain = "[web]\nsecure_cookies = false\n"
    base = BASE.replace("[web]\nsecure_cookies = true\n", plain)
    path = tmp_path / "central.toml"
    path.write_text(base + SSO.replace("{env}", ENV), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(CentralSettings, path)
    found = [str(p) for p in refused.value.problems]
    assert any("[sso]" in p and "secure_cookies" in p for p in found), found
    issuer = "https://login.microsoftonline.com/0d3c5a1e-7f42-4b8e-9c61-2a5f8e0b7d34/v2.0"
    path.write_text(
        base + SSO.replace(issuer, "http://127.0.0.1:5001").replace("{env}", ENV),
        encoding="utf-8",
    )
    assert load_settings(CentralSettings, path).sso is not None
