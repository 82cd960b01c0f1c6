"""CSRF tokens bound to the browser: HMAC(secret, session id or pre-login cookie).

Every form carries the token of its browser's session (before login: of a random ``pre``
cookie). A forged form from another site cannot know it: the cookie is HttpOnly and the token
is a MAC under central's secret. Requests authenticated by a bearer token need none: a browser
never adds that header by itself.
"""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf"
HEADER = "x-csrf-token"


def token_for(secret: str, binding: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def valid(secret: str, binding: str | None, token: str | None) -> bool:
    if not binding or not token:
        return False
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged field may hold
    # any text), and a refusal must be a 403, never a server error.
    return hmac.compare_digest(token_for(secret, binding).encode(), token.encode())
