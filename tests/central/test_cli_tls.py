"""``trygg-central round …`` against a central that serves only HTTPS (issue 10, item 10).

Real ``trygg-central`` CLI processes call a real central (uvicorn with a ``trustme``
certificate) over https: trusting central's own certificate (``[http] tls_cert``) when no CA
is configured, or the CA of ``[http] tls_ca``; a CA that did not sign central's certificate
is refused at the handshake, so the CLI never sends its token to a server it cannot check.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import trustme

from central.config import CentralSettings
from tests.central.helpers import SITE, make_settings, serve
from tests.support.broker import Broker
from tests.support.stack import script

MANAGER_TOKEN = "fm-token-4e8a2c6f1b9d3e7a5c0f"
ROOT = Path(__file__).parents[2]


def _settings(broker: Broker, tmp: Path) -> tuple[CentralSettings, trustme.CA]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp / "central.pem"))
    cert.private_key_pem.write_to_path(str(tmp / "central.key"))
    ca.cert_pem.write_to_path(str(tmp / "office-ca.pem"))
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp / "other-ca.pem"))
    stranger = other.issue_cert("127.0.0.1", "localhost")  # a certificate central does not have
    stranger.private_key_and_cert_chain_pem.write_to_path(str(tmp / "stranger.pem"))
    stranger.private_key_pem.write_to_path(str(tmp / "stranger.key"))
    data = make_settings(broker, tmp).model_dump(mode="json")
    data["http"].update(tls_cert=str(tmp / "central.pem"), tls_key=str(tmp / "central.key"))
    data["users"].append(
        {
            "id": "fm",
            "name": "Frida Drift",
            "token": MANAGER_TOKEN,
            "sites": [SITE],
            "roles": ["facility_manager"],
        }
    )
    data.pop("web")
    return CentralSettings.model_validate(data), ca


def _config(settings: CentralSettings, tmp: Path, ca: str | None, cert: str = "central") -> Path:
    """The same central as a TOML file for the CLI, with ``[http] tls_ca`` if given."""
    m, h = settings.mqtt, settings.http
    lines = [
        f'[mqtt]\nhost = "{m.host}"\nport = {m.port}\npassword = "{m.password}"',
        f'[http]\nhost = "{h.host}"\nport = {h.port}\n'
        f'tls_cert = "{tmp / cert}.pem"\ntls_key = "{tmp / cert}.key"',
        f'[store]\npath = "{settings.store.path}"',
    ]
    if ca is not None:
        lines[1] += f'\ntls_ca = "{tmp / ca}"'
    for site in settings.sites:
        lines.append(f'[[sites]]\nid = "{site.id}"\nname = "{site.name}"')
    for user in settings.users:
        sites = ", ".join(f'"{s}"' for s in user.sites)
        roles = ", ".join(f'"{r}"' for r in user.roles)
        lines.append(
            f'[[users]]\nid = "{user.id}"\nname = "{user.name}"\ntoken = "{user.token}"\n'
            f"sites = [{sites}]\nroles = [{roles}]"
        )
    lines.append("[registry]\nopen = true")  # as make_settings: no [[devices]]
    path = tmp / f"cli-{ca or 'pinned'}-{cert}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _round(config: Path, action: str) -> subprocess.CompletedProcess[str]:
    argv = [script("trygg-central"), "round", action, "--site", SITE, "--config", str(config)]
    return await asyncio.to_thread(
        subprocess.run, argv, capture_output=True, text=True, timeout=60, cwd=ROOT
    )


async def test_the_cli_talks_https_to_a_tls_only_central(broker: Broker, tmp_path: Path) -> None:
    settings, _ = _settings(broker, tmp_path)
    async with serve(settings) as running:
        pinned = _config(settings, tmp_path, None)
        started = await _round(pinned, "start")
        assert started.returncode == 0, started.stderr
        round_id = json.loads(started.stdout)["round_id"]
        assert running.central.testing.rounds.open_at(SITE) is not None

        with_ca = _config(settings, tmp_path, "office-ca.pem")
        shown = await _round(with_ca, "show")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["round_id"] == round_id

        wrong_ca = _config(settings, tmp_path, "other-ca.pem")
        refused = await _round(wrong_ca, "close")
        assert refused.returncode == 1
        assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr, refused.stderr
        not_central = _config(settings, tmp_path, None, cert="stranger")
        refused = await _round(not_central, "close")
        assert refused.returncode == 1
        assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr, refused.stderr
        assert running.central.testing.rounds.open_at(SITE) is not None  # nothing was sent

        closed = await _round(pinned, "close")
        assert closed.returncode == 0, closed.stderr
        assert running.central.testing.rounds.open_at(SITE) is None
