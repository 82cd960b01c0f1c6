"""Pairing a desk (RFC 8628, the OAuth device flow, done by central itself) as pure logic.

Why it is shaped so. A desk must get its credential without anyone copying a token by hand,
and the person approving must be the one signed in to the console (by SSO or a local
password). So the desk asks for a pairing and shows a short *user code*; the person types it
on the console's ``/connect`` page, sees what they approve (the desk's name and address, when
it asked) and approves; the desk, polling with its long *device code*, then receives a desk
token of that person, issued once. Everything that decides — is the code well formed, has it
expired, was it used, may the desk poll again yet — is here, with ``now`` passed in; the
shell (``central.auth.pairing``) keeps pairings in the store and issues the token.

The rules:

- a user code is 8 letters from an alphabet without vowels or look-alikes (RFC 8628 §6.1:
  BCDFGHJKLMNPQRSTVWXZ, 20^8 ≈ 2^34.6), shown as ``ABCD-EFGH``; typed in any case, with or
  without the dash or spaces;
- a pairing lives ``lifetime`` (10 minutes by default) and is decided once: approved, denied
  or expired; an approved pairing gives its token once (``delivered``), then nothing more;
- a desk that polls sooner than the interval is told ``slow_down`` (§3.5) and changes
  nothing; guessing codes on the console is throttled by the shell (per account and address).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 8
LIFETIME = timedelta(minutes=10)
INTERVAL_S = 2  # how often a desk may poll
SLACK = timedelta(milliseconds=500)  # a poll this much early still counts as on time


class State(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    DELIVERED = "delivered"  # the token went to the desk: the pairing is used up


@dataclass(frozen=True, slots=True)
class Pairing:
    label: str  # the desk's name, as it said it (shown to the approver)
    address: str  # where the desk asked from
    created_at: datetime
    expires_at: datetime
    state: State = State.PENDING
    user_id: str = ""  # who approved (or denied)
    last_poll_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def normalize(typed: str) -> str | None:
    """The user code in ``typed`` (any case, dashes and spaces ignored), or None."""
    if len(typed) > 40:
        return None
    code = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def shown(code: str) -> str:
    """``BCDFGHJK`` → ``BCDF-GHJK``: two halves are easier to read out and type."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def new(label: str, address: str, now: datetime, lifetime: timedelta = LIFETIME) -> Pairing:
    return Pairing(_label(label), address[:64], now, now + lifetime)


def _label(text: str) -> str:
    """What the desk calls itself: printable, one line, at most 60 characters."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:60] or "?"


# --- the console's side: approve or deny ---------------------------------------------------


class Refusal(StrEnum):
    EXPIRED = "expired"
    USED = "used"  # already approved, denied or delivered


def decide(pairing: Pairing, user_id: str, approve: bool, now: datetime) -> Pairing | Refusal:
    """The pairing approved (or denied) by ``user_id``, or why not."""
    if pairing.expired(now):
        return Refusal.EXPIRED
    if pairing.state is not State.PENDING:
        return Refusal.USED
    return replace(pairing, state=State.APPROVED if approve else State.DENIED, user_id=user_id)


def open_for_approval(pairing: Pairing, now: datetime) -> Refusal | None:
    """None if the pairing may be shown for approval now; else why not."""
    if pairing.expired(now):
        return Refusal.EXPIRED
    if pairing.state is not State.PENDING:
        return Refusal.USED
    return None


# --- the desk's side: poll ----------------------------------------------------------------


class Poll(StrEnum):
    """RFC 8628 §3.5's answers (and ``deliver``: issue the token now)."""

    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    DENIED = "access_denied"
    EXPIRED = "expired_token"
    DELIVER = "deliver"


def poll(pairing: Pairing | None, now: datetime) -> tuple[Poll, Pairing | None]:
    """What a desk's poll gets, and the pairing as it is afterwards (None: unchanged).

    An unknown device code is ``expired_token`` (expired pairings are purged, and a guess must
    learn nothing more); a delivered one too, so a device code is worth one token only.
    """
    if pairing is None or pairing.state is State.DELIVERED:
        return Poll.EXPIRED, None
    if pairing.state is State.DENIED:
        return Poll.DENIED, None
    if pairing.expired(now):
        return Poll.EXPIRED, None
    last = pairing.last_poll_at
    if last is not None and now < last + timedelta(seconds=INTERVAL_S) - SLACK:
        return Poll.SLOW_DOWN, None
    if pairing.state is State.APPROVED:
        return Poll.DELIVER, replace(pairing, state=State.DELIVERED, last_poll_at=now)
    return Poll.PENDING, replace(pairing, last_poll_at=now)
