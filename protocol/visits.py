"""The visit timer's contract: JSON bodies between the phone page (``/m``) and central.

Why a module of its own: the visit is a promise the other way round from an alarm — the phone
says when it will be back, and *silence* is the signal (central.core.visits). The page makes
the ``visit_id`` (crypto.randomUUID), so that a start sent twice is one visit. The address is
where the employee is, never who the client is (the page says why).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from protocol.screen import Position
from protocol.topics import SiteId

ADDRESS_MAX = 200


class VisitStart(BaseModel):
    """``POST /api/mobile/visits``: "I'm at a home visit until ``until``"."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    visit_id: UUID
    until: AwareDatetime
    grace_min: float = Field(default=10, ge=0, le=120)
    address: str = Field(default="", max_length=ADDRESS_MAX)
    colleague: str | None = Field(default=None, min_length=1, max_length=64)
    site: SiteId | None = None  # None: the account's first site


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscription(BaseModel):
    """``PUT /api/mobile/push-subscription``: the page's ``PushSubscription.toJSON()``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    endpoint: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    keys: PushKeys


class VisitStatus(BaseModel):
    """A visit as the phone reads it back."""

    visit_id: str
    state: Literal["running", "asked", "raised", "checked_out"]
    until: datetime
    grace_min: float
    address: str
    colleague: str | None
    site: str
    asked_at: datetime | None
    alarm_id: str | None
    position: Position | None


class PushKey(BaseModel):
    """``GET /api/mobile/push-key``: the VAPID application server key (base64url)."""

    public_key: str
