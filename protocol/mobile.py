"""The phone contract: JSON bodies between the phone page (``/m``) and central's mobile API.

Why a module of its own: the phone is a third kind of client (neither an edge on MQTT nor a
screen on the socket), and the page and central are written against these shapes alone
(docs/mobile.md). The phone makes the ``alarm_id`` and keeps the alarm until central answers
``stored: true`` — the edge's outbox promise (docs/protocol.md), over HTTP: a ``PUT`` of the
same ``alarm_id`` is the same alarm, however often it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from protocol.messages import AlarmLevel, ShortText
from protocol.screen import AlarmState, Position
from protocol.topics import SiteId

LABEL_MAX = 60


class _Body(BaseModel):
    # A field this central does not know is ignored: an alarm is never refused for a newer
    # page's extra field. A known field out of range is refused (422).
    model_config = ConfigDict(frozen=True, extra="ignore")


class CredentialRequest(_Body):
    """Log a phone in once: the password is checked and forgotten; the phone keeps a token."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    label: str = Field(default="", max_length=LABEL_MAX)


class Credential(BaseModel):
    """The phone's long-lived, revocable credential (``Authorization: Bearer <token>``)."""

    token: str
    user: str
    name: str
    site: str  # where the phone's alarms go unless it names another of ``sites``
    sites: list[str]
    expires_at: datetime


class PhoneRaise(_Body):
    """``PUT /api/mobile/alarms/{alarm_id}``: the alarm as the phone made it."""

    level: AlarmLevel
    silent: bool = False
    raised_at: AwareDatetime
    site: SiteId | None = None  # None: the account's first site
    position: Position | None = None


class MobileResponder(BaseModel):
    name: ShortText
    at: datetime


class MobileAlarm(BaseModel):
    """What the phone shows of its alarm: sending → received → "Kari kommer" → resolved.
    ``stored``: on central's disk (the phone may forget it only then); ``shown``: on a
    colleague's screen."""

    alarm_id: str
    state: Literal["raised", "received", "acknowledged", "resolved"]
    stored: bool
    shown: bool
    responders: list[MobileResponder]
    level: AlarmLevel
    silent: bool
    position: Position | None


__all__ = [
    "AlarmState",
    "Credential",
    "CredentialRequest",
    "MobileAlarm",
    "MobileResponder",
    "PhoneRaise",
]
