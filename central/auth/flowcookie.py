"""The single sign-on flow's short-lived cookie: state, nonce and PKCE verifier, sealed.

Why a cookie and not a server-side store: between sending the browser to the provider and
getting it back, central must remember three secrets of *this* browser — the ``state`` that
ties the answer to the request (a forged or replayed callback carries another), the ``nonce``
the ID token must echo, and the PKCE ``code_verifier`` that only the one who started the flow
can show at the token endpoint. Keeping them in the browser that started the flow binds them
to it, needs no table and no cleanup, and works with two centrals behind one address.

Sealed with AES-256-GCM (``cryptography``) under a key derived from central's web secret: the
browser can neither read the verifier nor change a field, and a cookie older than its
``expires`` (10 minutes) or made by another central's secret does not open. The cookie is
HttpOnly, ``SameSite=Lax`` (the provider's redirect back is a top-level GET from another
site, which Lax lets through and Strict would not) and deleted by the callback, whatever its
outcome: a flow is used once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COOKIE = "trygg_sso"
LIFETIME = timedelta(minutes=10)
_AAD = b"trygg-sso-flow-v1"
MAX_COOKIE = 3000  # a sealed flow is ~300 bytes; anything much longer is not ours


@dataclass(frozen=True, slots=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    next: str  # where to go after signing in (a path on this site)
    redirect_uri: str  # the one sent to the provider: the token request must repeat it
    expires: datetime


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"trygg sso flow cookie\x00" + secret.encode()).digest()


def seal(secret: str, flow: Flow) -> str:
    body = json.dumps(
        {
            "s": flow.state,
            "n": flow.nonce,
            "v": flow.verifier,
            "x": flow.next,
            "r": flow.redirect_uri,
            "e": flow.expires.isoformat(),
        }
    ).encode()
    iv = os.urandom(12)
    sealed = AESGCM(_key(secret)).encrypt(iv, body, _AAD)
    return base64.urlsafe_b64encode(iv + sealed).decode().rstrip("=")


def unseal(secret: str, value: str | None, now: datetime) -> Flow | None:
    """The flow in ``value`` if it is ours, intact and not expired; else None."""
    if not value or len(value) > MAX_COOKIE:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        body = AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], _AAD)
        data = json.loads(body)
        flow = Flow(
            state=str(data["s"]),
            nonce=str(data["n"]),
            verifier=str(data["v"]),
            next=str(data["x"]),
            redirect_uri=str(data["r"]),
            expires=datetime.fromisoformat(str(data["e"])),
        )
    except (InvalidTag, ValueError, KeyError, TypeError, binascii.Error):
        return None
    return flow if now < flow.expires else None
