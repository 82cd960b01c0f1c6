"""PKCE (RFC 7636) in the requests central sends: the authorization URL carries an S256
``code_challenge`` and the token request the ``code_verifier`` that hashes to it.

Why not end to end: oidc-provider-mock 0.3.4, the real provider of tests/web/test_sso.py,
does not enforce PKCE (it issues tokens without a verifier, or with a wrong one), so a sign-in
through it proves nothing about PKCE. Here httpx's ``MockTransport`` stands in for the
*provider* — the one place this project accepts it, for this one check; none of central's own
I/O is replaced — and records what central's real OidcClient (Authlib) sends it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from central.auth.oidc import OidcClient, SignInFailed
from central.config import SsoSettings

ISSUER = "https://login.example/tenant/v2.0"
ENV = "TRYGG_TEST_PKCE_CLIENT_SECRET"


async def test_the_token_request_carries_the_verifier_of_the_challenge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, "Vq8~pX2rL9dK4mN7sT1wZ6bF3hJ5cG0y")
    settings = SsoSettings.model_validate(
        {
            "issuer": ISSUER,
            "client_id": "5f0e7a3c-9b1d-4e62-8a7f-3c1d9e4b2a60",
            "client_secret_env": ENV,
            "redirect_uri": "https://trygg.example/sso/callback",
            "groups": [{"group": "g", "roles": ["responder"], "sites": ["*"]}],
        }
    )
    token_requests: list[dict[str, list[str]]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": "https://login.example/authorize",
                    "token_endpoint": "https://login.example/token",
                    "jwks_uri": "https://login.example/keys",
                },
            )
        if request.url.path == "/token":
            token_requests.append(parse_qs(request.content.decode()))
            body = json.dumps({"error": "invalid_grant"})
            return httpx.Response(400, content=body, headers={"content-type": "application/json"})
        return httpx.Response(404)

    client = OidcClient(settings, transport=httpx.MockTransport(provider))
    verifier = "v" * 20 + "Xy9-_" + "w" * 39  # 64 characters, as central makes them
    try:
        url = await client.authorization_url(settings.redirect_uri, "st", "nonce", verifier)
        with pytest.raises(SignInFailed) as refused:
            await client.sign_in("the-code", settings.redirect_uri, verifier, "nonce")
    finally:
        await client.aclose()
    assert refused.value.reason == "code_refused"
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert query["code_challenge"] == [expected.rstrip(b"=").decode()]
    [sent] = token_requests
    assert sent["code_verifier"] == [verifier]
    assert sent["code"] == ["the-code"]
    assert sent["redirect_uri"] == [settings.redirect_uri]
