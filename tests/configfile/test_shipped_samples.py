"""The shipped samples must not start as they are: every secret in them is refused, by line.

An operator who copies ``central/sample-central.toml`` and forgets a token must get a refusal
naming the line, not a central that accepts a token printed in the repository.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

from tests.support.stack import script

REPO = Path(__file__).resolve().parents[2]
CENTRAL = REPO / "central" / "sample-central.toml"
EDGE = REPO / "edge" / "sample-edge.toml"


def secret_lines(sample: Path) -> list[int]:
    lines = sample.read_text(encoding="utf-8").splitlines()
    return [n for n, t in enumerate(lines, 1) if re.match(r"\s*(password|token|secret)\s*=", t)]


def validate(name: str, path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [script(name), "validate-config", str(path)], capture_output=True, text=True, env=env
    )
    return result.returncode, result.stderr


def test_central_sample_is_refused_naming_each_secret_line() -> None:
    lines = secret_lines(CENTRAL)
    assert len(lines) == 4  # the broker password and three users' tokens
    code, err = validate("trygg-central", CENTRAL)
    assert code == 2
    for line in lines:
        assert f"{CENTRAL}:{line}: " in err, err
        assert "is a placeholder" in err, err
    assert err.count("is a placeholder") == len(lines)


def test_edge_sample_is_refused_naming_the_password_line() -> None:
    [line] = secret_lines(EDGE)
    code, err = validate("trygg-edge", EDGE, env={"PATH": "/usr/bin:/bin"})
    assert code == 2
    assert f"{EDGE}:{line}: [mqtt.password]" in err, err
    assert "is a placeholder" in err, err


def test_central_sample_with_generated_secrets_is_ok_and_weak_ones_are_not(
    tmp_path: Path,
) -> None:
    text = CENTRAL.read_text(encoding="utf-8")
    real = re.sub(r'"CHANGE-ME[^"]*"', lambda _: f'"{secrets.token_urlsafe(32)}"', text)
    good = tmp_path / "central.toml"
    good.write_text(real, encoding="utf-8")
    assert validate("trygg-central", good) == (0, "")
    weak = tmp_path / "weak.toml"
    weak.write_text(
        re.sub(r'password = "[^"]*"', 'password = "Sommer2024!"', real, count=1), encoding="utf-8"
    )
    line = secret_lines(CENTRAL)[0]
    code, err = validate("trygg-central", weak)
    assert code == 2
    assert f"{weak}:{line}: [mqtt.password] Value error, password is too weak (about 72 bits" in err
