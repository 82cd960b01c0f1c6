"""The single sign-on flow's sealed cookie (central.auth.flowcookie): it opens only intact,
in time, and under the secret that sealed it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from central.auth.flowcookie import Flow, seal, unseal

SECRET = "web-secret-5f1c9e7a3b8d2f6a0c4e9b1d7a3f5c8e"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
FLOW = Flow("state-1", "nonce-1", "verifier-" + "x" * 55, "/board", "https://t/sso/callback", T0)


def test_a_sealed_flow_opens_until_it_expires() -> None:
    sealed = seal(SECRET, FLOW)
    assert unseal(SECRET, sealed, T0 - timedelta(seconds=1)) == FLOW
    assert unseal(SECRET, sealed, T0) is None  # expired
    # The browser sees none of it: not the verifier, not the nonce, not where it goes.
    for secret_part in ("verifier-", "nonce-1", "state-1", "/board"):
        assert secret_part not in sealed
        assert secret_part.encode() not in base64.urlsafe_b64decode(sealed + "==")


def test_another_central_or_a_changed_cookie_opens_nothing() -> None:
    sealed = seal(SECRET, FLOW)
    early = T0 - timedelta(minutes=1)
    assert unseal("another-secret-of-another-central-00", sealed, early) is None
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    assert unseal(SECRET, flipped, early) is None
    assert seal(SECRET, FLOW) != sealed  # a fresh IV each time


@pytest.mark.parametrize("value", [None, "", "not base64 !", "AAAA", "x" * 5000])
def test_garbage_is_no_flow(value: str | None) -> None:
    assert unseal(SECRET, value, T0 - timedelta(minutes=1)) is None
