"""The desk-pairing contract (RFC 8628, the OAuth device flow): JSON between ``trygg-desk
connect`` and central.

Why a module of its own: the desk and central never import each other (they meet on the wire,
docs/architecture.md), and a third-party desk must be able to pair from this file alone. The
shapes follow RFC 8628 §3.2 and §3.5 so that any device-flow client understands them:

1. ``POST /api/desk/pairings`` with :class:`PairingRequest` → 201 :class:`PairingStarted`: a
   ``device_code`` the desk keeps to itself and a ``user_code`` it shows, with where to enter
   it (``verification_uri``, and ``verification_uri_complete`` with the code filled in).
2. The person opens ``/connect`` on the console, signs in (single sign-on or a local account),
   types the code, sees what they approve and approves.
3. The desk polls ``POST /api/desk/pairings/token`` with :class:`TokenRequest` every
   ``interval`` seconds: 400 with :class:`PairingError` (``authorization_pending``,
   ``slow_down``: add 5 s to the interval; ``access_denied``, ``expired_token``: stop), or 200
   with :class:`DeskCredential` once — its token is a revocable desk token of the approver.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PAIRINGS_PATH = "/api/desk/pairings"
TOKEN_PATH = "/api/desk/pairings/token"  # noqa: S105 (a path, not a secret)
DEVICE_CODE_GRANT: Literal["urn:ietf:params:oauth:grant-type:device_code"] = (
    "urn:ietf:params:oauth:grant-type:device_code"
)
LABEL_MAX = 60


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PairingRequest(_Body):
    """What the desk calls itself (its computer's name): shown to the person approving."""

    label: str = Field(default="", max_length=LABEL_MAX)


class PairingStarted(_Body):
    device_code: str
    user_code: str  # ABCD-EFGH
    verification_uri: str
    verification_uri_complete: str
    expires_in: int  # seconds
    interval: int  # seconds between polls


class TokenRequest(_Body):
    grant_type: Literal["urn:ietf:params:oauth:grant-type:device_code"] = DEVICE_CODE_GRANT
    device_code: str = Field(min_length=1, max_length=100)


PairingErrorCode = Literal[
    "authorization_pending", "slow_down", "access_denied", "expired_token", "invalid_request"
]


class PairingError(_Body):
    error: PairingErrorCode
    error_description: str = ""


class DeskCredential(_Body):
    """The desk's credential: ``Authorization: Bearer <token>`` on its socket."""

    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (RFC 6749's word)
    token_id: str  # how the console and ``trygg-central token`` name it
    user: str
    expires_at: datetime
