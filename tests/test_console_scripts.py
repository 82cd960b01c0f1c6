"""Every console script answers --help and validate-config FILE (file, line and reason)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest

from tests.support.stack import script

REPO = Path(__file__).resolve().parents[1]
SAMPLES = {
    "trygg-edge": (REPO / "edge" / "sample-edge.toml", "TRYGG_EDGE_MQTT__PASSWORD"),
    "trygg-central": (REPO / "central" / "sample-central.toml", None),
    "trygg-desk": (REPO / "desktop" / "sample-desk.toml", "TRYGG_DESK_TOKEN"),
}


@pytest.mark.parametrize("name", ["trygg-edge", "trygg-central", "trygg-desk", "trygg-sim"])
def test_help(name: str) -> None:
    result = subprocess.run([script(name), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "validate-config" in result.stdout


@pytest.mark.parametrize("name", ["trygg-edge", "trygg-central", "trygg-desk", "trygg-sim"])
def test_validate_config_names_file_line_and_reason(name: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('# a comment\nsite = "Not Valid"\nunexpected = [\n')
    result = subprocess.run(
        [script(name), "validate-config", str(bad)], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert f"{bad}:3:" in result.stderr  # the TOML error is on line 3
    assert "not valid TOML" in result.stderr


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_shipped_samples_validate_once_secrets_are_supplied(name: str, tmp_path: Path) -> None:
    sample, secret_env = SAMPLES[name]
    env = dict(os.environ)
    if secret_env:
        # The samples ship placeholders on purpose: refused until a real secret is given.
        refused = subprocess.run(
            [script(name), "validate-config", str(sample)], capture_output=True, text=True, env=env
        )
        assert refused.returncode != 0
        assert "placeholder" in refused.stderr
        env[secret_env] = secrets.token_urlsafe(24)
    else:
        # Central's sample has several secrets (tests/configfile/test_shipped_samples.py): an
        # operator replaces each CHANGE-ME with a generated one.
        text = sample.read_text(encoding="utf-8")
        sample = tmp_path / sample.name
        sample.write_text(
            re.sub(r'"CHANGE-ME[^"]*"', lambda _: f'"{secrets.token_urlsafe(32)}"', text),
            encoding="utf-8",
        )
    result = subprocess.run(
        [script(name), "validate-config", str(sample)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
