"""Pairing a desk with the console (RFC 8628 done by central): the shell around
``central.core.pairing``.

Why it is shaped so. Three parties touch a pairing — an anonymous desk that asks for one and
polls, and a signed-in person who looks a user code up and approves or denies it — so each
step is one method here, and each change is a single store write that reads the pairing,
asks the core, and writes the result, all in one transaction: two polls racing can never get
two tokens, and an approval can never land on a pairing that just expired.

Guessing is held back twice. A desk may start only so many pairings per address and there is
a cap on open ones (an anonymous endpoint must not fill the disk); a person may type only so
many wrong codes per account and per address (``LoginThrottle``, the login's own counting),
and every wrong code is in the audit trail. The limits are settings (``[web] pairing_*``):
behind NAT, or a proxy on loopback without ``X-Forwarded-For``, one address is many people.
Addresses are counted as ``central.core.addresses`` says (an IPv6 client by its /64).

The store's one writer is the alarms' too, so an anonymous poll must not queue on it for
nothing: a poll reads first, and only a poll that changes a pairing (its pace, or the token
it collects) writes — decided again inside that write, so racing polls stay safe. A poll
with an unknown, expired or used device code costs a read, and polls are limited per
address as well. The token a desk receives is an ordinary desk
token of the approver (``accounts.add_token``, label ``desk: <its name>``): listed and
revocable on the console's accounts page and by ``trygg-central token revoke``, dying after
``web.token_days``. It is made at the poll that collects it, never stored in clear.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlite_utils

from central.audit.trail import Trail
from central.auth.throttle import AddressLimit, LoginThrottle
from central.config import WebSettings
from central.core import pairing as core
from central.core.addresses import same_place
from central.core.model import Person
from central.store import Store
from central.store import accounts as rows
from central.store import pairings as stored

START_WINDOW_MIN = 10  # [web] pairing_starts_per_address counts per this window
POLL_WINDOW_MIN = 1  # [web] pairing_polls_per_address counts per this window
WRONG_CODE_WINDOW_MIN = 15  # [web] pairing_wrong_codes_per_* count per this window
DESK_LABEL = "desk: {label}"


@dataclass(frozen=True, slots=True)
class Begun:
    device_code: str
    user_code: str  # shown form, ABCD-EFGH
    expires_in: int
    interval: int


@dataclass(frozen=True, slots=True)
class Busy:
    wait_s: int


@dataclass(frozen=True, slots=True)
class Found:
    """A pairing the person may approve now, and its code (normalized); ``elsewhere``: the
    desk asked from another address than the approver's browser (the page warns)."""

    code: str
    pairing: core.Pairing
    elsewhere: bool = False


@dataclass(frozen=True, slots=True)
class NotFound:
    reason: str  # "wrong_code", "expired", "used", "throttled", "unconfirmed"
    wait_s: int = 0


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    token_id: str
    user_id: str
    expires_at: datetime


class Pairings:
    def __init__(
        self, web: WebSettings, store: Store, clock: Callable[[], datetime], trail: Trail
    ) -> None:
        self._web = web
        self._store = store
        self._clock = clock
        self._trail = trail
        self._guesses = LoginThrottle(
            web.pairing_wrong_codes_per_account,
            web.pairing_wrong_codes_per_address,
            WRONG_CODE_WINDOW_MIN,
        )
        self._starts = AddressLimit("pair-start", web.pairing_starts_per_address, START_WINDOW_MIN)
        self._polls = AddressLimit("pair-poll", web.pairing_polls_per_address, POLL_WINDOW_MIN)

    # --- the desk ------------------------------------------------------------------------

    async def begin(self, label: str, address: str) -> Begun | Busy:
        wait = self._starts.hit(address)
        if wait:
            return Busy(wait)
        now = self._clock()
        pairing = core.new(label, address, now)
        device_code = secrets.token_urlsafe(32)
        made: list[str] = []

        def write(db: sqlite_utils.Database) -> None:
            if stored.pending(db, now) >= self._web.pairing_open_max:
                return
            for _ in range(5):  # a clash of user codes is rare; never reuse a live one
                code = "".join(secrets.choice(core.ALPHABET) for _ in range(core.CODE_LENGTH))
                if stored.by_code(db, code) is None:
                    stored.add(db, device_code, code, pairing, now)
                    made.append(code)
                    return

        await self._store.submit(write)
        if not made:
            return Busy(core.INTERVAL_S * 30)
        lifetime = int((pairing.expires_at - now).total_seconds())
        return Begun(device_code, core.shown(made[0]), lifetime, core.INTERVAL_S)

    async def poll(self, device_code: str, address: str) -> tuple[core.Poll, Issued | None] | Busy:
        """What the desk's poll gets; with ``DELIVER`` the token, made now and only now.
        ``Busy`` when the address polls too often; nothing is read or written then."""
        wait = self._polls.hit(address)
        if wait:
            return Busy(wait)
        now = self._clock()
        if len(device_code) > 100:
            return core.Poll.EXPIRED, None
        seen = await self._store.read(lambda db: stored.by_device(db, device_code))
        answer, after = core.poll(seen, now)
        if after is None:  # unknown, expired, used, denied, too early: nothing to write
            return answer, None
        token = secrets.token_urlsafe(32)
        days = self._web.token_days
        result: list[tuple[core.Poll, Issued | None]] = []

        def write(db: sqlite_utils.Database) -> None:
            found = stored.by_device(db, device_code)  # again: another poll may have been first
            answer, after = core.poll(found, now)
            if after is None or found is None:
                result.append((answer, None))
                return
            if answer is not core.Poll.DELIVER:
                stored.save(db, "device_hash", device_code, after)
                result.append((answer, None))
                return
            account = rows.account(db, after.user_id)
            if account is None or account.disabled or not account.roles:
                denied = replace(after, state=core.State.DENIED)
                stored.save(db, "device_hash", device_code, denied)
                result.append((core.Poll.DENIED, None))
                return
            label = DESK_LABEL.format(label=after.label)
            token_id = rows.add_token(db, after.user_id, token, label, now, days)
            stored.save(db, "device_hash", device_code, after, token_id)
            expires = now + timedelta(days=days)
            result.append((answer, Issued(token, token_id, after.user_id, expires)))

        await self._store.submit(write)
        answer, issued = result[0] if result else (core.Poll.EXPIRED, None)
        if issued is not None:
            detail = f"for {issued.user_id}, {days:g} days"
            self._trail.record(issued.user_id, "token_issued", issued.token_id, detail)
        return answer, issued

    # --- the person at the console ---------------------------------------------------------

    async def look_up(self, typed: str, person: Person, address: str) -> Found | NotFound:
        """The pairing of ``typed`` if ``person`` may approve it now; a wrong code counts."""
        wait = self._guesses.wait_s(person.user_id, address)
        if wait:
            return NotFound("throttled", wait)
        code = core.normalize(typed)
        found = await self._store.read(lambda db: stored.by_code(db, code)) if code else None
        if code is None or found is None:
            self._guesses.failed(person.user_id, address)
            self._trail.record(person.user_id, "pairing_code_wrong", "", f"from {address}")
            return NotFound("wrong_code")
        refusal = core.open_for_approval(found, self._clock())
        if refusal is not None:
            return NotFound(refusal.value)
        return Found(code, found, elsewhere=not same_place(found.address, address))

    async def decide(
        self, typed: str, person: Person, approve: bool, address: str, confirmed: bool = False
    ) -> Found | NotFound:
        """Approve (or deny) the pairing of ``typed`` as ``person``; checked again in the
        write, so a pairing that expired or was used since the page was shown is refused.
        A desk that asked from another address than the approver's browser is approved only
        ``confirmed`` (the page's extra tick); refusing it needs no confirmation."""
        looked = await self.look_up(typed, person, address)
        if isinstance(looked, NotFound):
            return looked
        if approve and looked.elsewhere and not confirmed:
            return NotFound("unconfirmed")
        now = self._clock()
        outcome: list[core.Pairing | core.Refusal] = []

        def write(db: sqlite_utils.Database) -> None:
            found = stored.by_code(db, looked.code)
            if found is None:
                outcome.append(core.Refusal.USED)
                return
            decided = core.decide(found, person.user_id, approve, now)
            outcome.append(decided)
            if isinstance(decided, core.Pairing):
                stored.save(db, "code_hash", looked.code, decided)

        await self._store.submit(write)
        decided = outcome[0] if outcome else core.Refusal.USED
        if isinstance(decided, core.Refusal):
            return NotFound(decided.value)
        action = "desk_paired" if approve else "desk_pairing_denied"
        where = f"{decided.label} ({decided.address})"  # the desk's name and where it asked
        if looked.elsewhere:
            where += f"; approved from {address}" if approve else f"; refused from {address}"
        self._trail.record(person.user_id, action, person.user_id, where)
        return Found(looked.code, decided)
