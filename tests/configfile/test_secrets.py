"""The one judgement of placeholder secrets that edge, central and desk configs share."""

from __future__ import annotations

import secrets

import pytest

from configfile.secrets import (
    MIN_SECRET_BITS,
    Placeholder,
    entropy_bits,
    placeholder_kind,
    secret_problem,
)


@pytest.mark.parametrize(
    "value",
    [
        "changeme",
        "Change-Me",
        "<put the token here>",
        "YOUR_TOKEN_HERE_0123456789",
        "…",
        "password",
        "changeme-changeme-changeme",
        "xxxxxxxxxx-device",
    ],
)
def test_placeholders(value: str) -> None:
    assert placeholder_kind(value) is Placeholder.PLACEHOLDER


@pytest.mark.parametrize("value", ["aaaaaaaaaaaaaaaaaaaaaaaa", "ab" * 15, "*" * 30, "abcabcabc"])
def test_repetitive(value: str) -> None:
    assert placeholder_kind(value) is Placeholder.REPETITIVE


@pytest.mark.parametrize(
    "value", ["central-test-password", "a-real-device-password", secrets.token_urlsafe(24)]
)
def test_real_secrets_pass(value: str) -> None:
    assert placeholder_kind(value) is None


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("", 0, 0),
        ("abcdefghijklmnopqrstuvwxyz", 9, 10),  # a run counts as two: 2 × log2(26)
        ("Sommer2024!", 72, 73),  # 11 × log2(95)
        ("kari-7f3c9a1e5b2d8f4a6c0e9b1d", 170, 180),
    ],
)
def test_entropy_estimate(value: str, low: float, high: float) -> None:
    assert low <= entropy_bits(value) <= high


@pytest.mark.parametrize("value", ["Sommer2024!", "Passord1234", "abcdefghijklmnopqrstuvwxyz0"])
def test_weak_secrets_are_refused_with_a_reason(value: str) -> None:
    problem = secret_problem(value, "token")
    assert problem is not None
    assert problem.startswith("token is too weak (about ")
    assert f"at least {MIN_SECRET_BITS} needed" in problem
    assert "openssl rand" in problem


def test_secret_problem_names_placeholders_and_passes_generated_secrets() -> None:
    assert secret_problem("CHANGE-ME-token-for-kari", "token") == (
        "token is a placeholder; set a real one (e.g. `openssl rand -base64 32`)"
    )
    assert secret_problem("a" * 40, "password") == "password is too repetitive to be a real secret"
    for _ in range(200):
        assert secret_problem(secrets.token_urlsafe(16), "token") is None
        assert secret_problem(secrets.token_hex(12), "token") is None
