"""Talking to the OpenID Connect provider: discovery, the authorization URL, the code for
tokens, and the ID token's validation — Authlib's httpx client and joserfc, nothing home-made.

Why it is shaped so. This is the only module that speaks to the provider, and it hands back
either validated claims or a :class:`SignInFailed` with a reason; deciding what the claims
mean is ``central.core.signon``'s. The authorization-code flow with PKCE (S256) and a nonce:
the ``state``, ``nonce`` and ``code_verifier`` are made by the caller and kept in the
browser's sealed cookie (``central.auth.flowcookie``). The ID token is checked in full before
a single claim is read: its signature against the provider's JWKS (fetched again once when a
key id is unknown, for key rotation), its algorithm against the provider's list, ``iss``
equal to the configured issuer, ``aud`` holding our client id (and ``azp`` when there are
several), ``exp``/``iat`` with a minute of leeway, and the ``nonce`` we sent. The discovery
document must name the configured issuer itself (no mix-up between providers), and its
endpoints must be https unless the issuer is a test provider on this machine.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, cast
from urllib.parse import urlsplit

# Authlib's httpx client would rather have "httpx2" and says so at import; httpx is ours. Its
# own module sets that warning to "always" when imported, so it is imported first.
import authlib.deprecate  # type: ignore[import-untyped]
import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from central.config import SsoSettings, is_loopback
from central.errors import CentralError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        AsyncOAuth2Client,
    )
    from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]

log = logging.getLogger("central.sso")

METADATA_TTL_S = 3600.0
LEEWAY_S = 60
DEFAULT_ALGORITHMS = ("RS256",)


class SignInFailed(CentralError):
    """The provider could not be reached, refused the code, or sent a token that does not
    validate; ``reason`` is a short id for the audit trail, the message the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class OidcClient:
    """One per central; ``aclose()`` at shutdown. ``transport``: tests only."""

    def __init__(
        self, settings: SsoSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        extra: dict[str, Any] = {"transport": transport} if transport is not None else {}
        self._client = AsyncOAuth2Client(
            client_id=settings.client_id,
            client_secret=settings.client_secret_value(),
            scope=" ".join(settings.scopes),
            code_challenge_method="S256",
            timeout=settings.timeout_s,
            follow_redirects=False,
            **extra,
        )
        self._metadata: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._jwks: dict[str, Any] | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- the provider's documents --------------------------------------------------------

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            answer = await self._client.request("GET", url, withhold_token=True)
            answer.raise_for_status()
            data = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInFailed("provider_unreachable", f"{what}: {exc}") from None
        if not isinstance(data, dict):
            raise SignInFailed("provider_unreachable", f"{what} is not a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached for an hour)."""
        fresh = time.monotonic() - self._fetched_at < METADATA_TTL_S
        if self._metadata is not None and fresh:
            return self._metadata
        issuer = self.settings.issuer
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        found = await self._get_json(url, "discovery")
        if found.get("issuer") != issuer:
            raise SignInFailed(
                "wrong_issuer", f"discovery names {found.get('issuer')!r}, not {issuer!r}"
            )
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            self._check_endpoint(key, found.get(key))
        self._metadata, self._fetched_at, self._jwks = found, time.monotonic(), None
        return found

    def _check_endpoint(self, key: str, value: object) -> None:
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or not parts.hostname:
            raise SignInFailed("bad_discovery", f"no {key}")
        local = urlsplit(self.settings.issuer).scheme == "http"
        if parts.scheme != "https" and not (local and is_loopback(parts.hostname)):
            raise SignInFailed("bad_discovery", f"{key} is not https: {value}")

    async def _keys(self, refresh: bool) -> KeySet:
        if self._jwks is None or refresh:
            meta = await self.metadata()
            self._jwks = await self._get_json(str(meta["jwks_uri"]), "jwks")
        try:
            return KeySet.import_key_set(cast(Any, self._jwks))
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise SignInFailed("bad_jwks", str(exc)) from None

    # --- the flow ------------------------------------------------------------------------

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, verifier: str
    ) -> str:
        meta = await self.metadata()
        url, _ = self._client.create_authorization_url(
            meta["authorization_endpoint"],
            state=state,
            code_verifier=verifier,
            nonce=nonce,
            redirect_uri=redirect_uri,
        )
        return str(url)

    async def sign_in(
        self, code: str, redirect_uri: str, verifier: str, nonce: str
    ) -> dict[str, Any]:
        """The validated claims of the ID token the provider gives for ``code``."""
        meta = await self.metadata()
        try:
            token = await self._client.fetch_token(
                meta["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=verifier,
            )
        except OAuthError as exc:
            raise SignInFailed("code_refused", str(exc.error or exc)) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInFailed("provider_unreachable", f"token endpoint: {exc}") from None
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise SignInFailed("no_id_token", "the token answer holds no id_token")
        return await self._validated(id_token, nonce, token.get("access_token"), meta)

    async def _validated(
        self, id_token: str, nonce: str, access_token: object, meta: dict[str, Any]
    ) -> dict[str, Any]:
        algorithms = meta.get("id_token_signing_alg_values_supported") or DEFAULT_ALGORITHMS
        algorithms = [a for a in algorithms if isinstance(a, str) and a != "none"]
        try:
            try:
                decoded = jwt.decode(id_token, await self._keys(False), algorithms=algorithms)
            except InvalidKeyIdError:  # the provider rotated its keys
                decoded = jwt.decode(id_token, await self._keys(True), algorithms=algorithms)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "values": [self.settings.issuer]},
                    "aud": {"essential": True, "values": [self.settings.client_id]},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                },
                {
                    "nonce": nonce,
                    "client_id": self.settings.client_id,
                    "access_token": access_token if isinstance(access_token, str) else None,
                },
            )
            claims.validate(leeway=LEEWAY_S)
        except JoseError as exc:
            raise SignInFailed("bad_id_token", f"{exc.error}: {exc.description or ''}") from None
        except (ValueError, TypeError) as exc:  # not a JWT at all
            raise SignInFailed("bad_id_token", str(exc)) from None
        return dict(claims)
