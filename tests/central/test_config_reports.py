"""``[email]``, ``[reports]`` and the sites' ``report_retention_days`` (docs/reports.md): safe
settings are accepted, unsafe ones refused with the file, the line and the reason."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from central.config import CentralSettings
from central.core.reports import DEFAULT_RETENTION_DAYS
from configfile import ConfigError, load_settings

BASE = """\
[mqtt]
password = "b7Rk2-pQ9x-Lm4v8Tz3"
[registry]
open = true
[[sites]]
id = "oslo-sentrum"
name = "Oslo"
{site}
[[sites]]
id = "bergen"
name = "Bergen"
[[users]]
id = "lina"
name = "Lina"
token = "a1b2c3d4e5f6g7h8i9j0k1l2"
sites = ["oslo-sentrum"]
roles = ["leader"]
{user}
{sections}
"""
EMAIL = """\
[email]
host = "{host}"
from_address = "trygg@nav.example"
console_url = "{url}"
{more}
"""


def load(tmp_path: Path, site: str = "", user: str = "", sections: str = "") -> CentralSettings:
    path = tmp_path / "central.toml"
    path.write_text(BASE.format(site=site, user=user, sections=sections), encoding="utf-8")
    return load_settings(CentralSettings, path)


def refused(tmp_path: Path, **parts: str) -> str:
    with pytest.raises(ConfigError) as found:
        load(tmp_path, **parts)
    return "\n".join(str(p) for p in found.value.problems)


def email(
    host: str = "smtp.nav.example", url: str = "https://trygg.nav.example", more: str = ""
) -> str:
    return EMAIL.format(host=host, url=url, more=more)


def test_defaults_five_years_no_email(tmp_path: Path) -> None:
    settings = load(tmp_path, site="report_retention_days = 365")
    assert settings.email is None
    assert settings.reports.retention_days == DEFAULT_RETENTION_DAYS
    assert settings.report_retention_days("oslo-sentrum") == 365
    assert settings.report_retention_days("bergen") == DEFAULT_RETENTION_DAYS


def test_a_safe_email_section_and_an_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRYGG_SMTP_PASSWORD", "k9Vq-2mXr-88tLp-Wz4n")
    more = 'username = "trygg"\npassword_env = "TRYGG_SMTP_PASSWORD"'
    settings = load(tmp_path, user='email = "lina@nav.example"', sections=email(more=more))
    assert settings.email is not None
    assert (settings.email.security, settings.email.port) == ("starttls", 587)
    assert settings.email.password_value() == "k9Vq-2mXr-88tLp-Wz4n"
    assert settings.users[0].email == "lina@nav.example"
    local = load(
        tmp_path, sections=email("127.0.0.1", "http://127.0.0.1:8080", 'security = "none"')
    )
    assert local.email is not None
    assert local.email.console_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        (
            {"sections": email(more='password = "hunter2-hunter2"')},
            "the SMTP password is never written in the configuration",
        ),
        (
            {"sections": email(more='security = "none"')},
            "security = 'none' is only allowed to an SMTP server on this machine",
        ),
        (
            {"sections": email(more='username = "trygg"')},
            "username and password_env go together",
        ),
        (
            {"sections": email(more='username = "t"\npassword_env = "TRYGG_NO_SUCH_VARIABLE_X"')},
            "TRYGG_NO_SUCH_VARIABLE_X (the SMTP password) is not set",
        ),
        ({"sections": email(url="http://trygg.nav.example")}, "console_url must use https://"),
        ({"user": 'email = "not an address"'}, "email"),
        ({"site": "report_retention_days = 7"}, "report_retention_days"),
        ({"sections": "[reports]\nretention_days = 999999"}, "retention_days"),
    ],
)
def test_unsafe_settings_are_refused(tmp_path: Path, parts: dict[str, str], reason: str) -> None:
    said = refused(tmp_path, **parts)
    assert reason in said
    assert "central.toml:" in said  # the file and the line


def test_the_cli_sets_a_database_accounts_address(tmp_path: Path) -> None:
    """``trygg-central reports email``: for database accounts only, recorded in the audit."""
    store = tmp_path / "central.db"
    path = tmp_path / "central.toml"
    text = BASE.format(site="", user="", sections=f'[store]\npath = "{store}"')
    path.write_text(text, encoding="utf-8")
    cli = [str(Path(sys.executable).parent / "trygg-central")]
    made = subprocess.run(
        [
            *cli,
            "user",
            "add",
            "vera",
            "--name",
            "Vera",
            "--roles",
            "safety_rep",
            "--sites",
            "oslo-sentrum",
            "--config",
            str(path),
            "--password-stdin",
        ],
        input="Rett-hest-batteri-stift-42\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    run = [*cli, "reports", "email", "--config", str(path)]
    done = subprocess.run([*run, "vera", "vera@nav.example"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    refused = subprocess.run([*run, "lina", "x@nav.example"], capture_output=True, text=True)
    assert refused.returncode == 1
    assert "user of the config file" in refused.stderr
    bad = subprocess.run([*run, "vera", "not an address"], capture_output=True, text=True)
    assert bad.returncode != 0
    db = sqlite3.connect(store)
    try:
        assert db.execute("SELECT user_id, email FROM contact_emails").fetchall() == [
            ("vera", "vera@nav.example")
        ]
        actions = [r[0] for r in db.execute("SELECT action FROM audit_log")]
        assert "report_email_set" in actions
    finally:
        db.close()
