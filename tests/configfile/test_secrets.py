"""The one judgement of placeholder secrets that edge, central and desk configs share."""

from __future__ import annotations

import secrets

import pytest

from configfile.secrets import Placeholder, placeholder_kind


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
