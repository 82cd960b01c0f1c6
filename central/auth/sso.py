"""Signing in through the organisation's provider: the flow's two ends, and what they change.

Why it is shaped so. ``start`` makes the flow's secrets and seals them in the browser's
cookie (``central.auth.flowcookie``); ``finish`` opens that cookie, checks the ``state`` the
provider sent back against it, lets ``central.auth.oidc`` exchange the code and validate the
ID token, lets ``central.core.signon`` decide what the claims make, and then carries the
decision out in **one** store write: the account created or its roles and sites replaced (and
its other sessions ended when they changed, as an admin's role change does), the new session
opened — or, for a person whose groups no longer give a role or a site, their account stripped
and their sessions and desk tokens ended. Then ``Auth.sweep`` closes their open sockets, as it
does after any change of roles, sites or credentials (``central.auth.service``): those whose
credential ended, and those opened under the old roles and sites, whose desks reconnect under
the new ones. Every outcome is in the audit trail:
``sso_login``, ``sso_roles_changed``, ``sso_refused`` (with the reason) and
``sso_access_removed`` — and ``sso_moved`` when a renamed person's old account is stripped
(``central.core.signon``), ``sso_idle_removed`` when the idle sweep strips an account whose
person has not signed in for ``[sso] max_idle_days`` (``expire_idle``: removal at the
provider may never reach our callback, so access must lapse without it). Local accounts
are not touched by any of this: a password login is ``central.auth.service``'s, with its
own throttle, and an SSO sign-in can never land on a local account's id (``reconcile``).

Anonymous junk is held back, not recorded. Both routes are public, so ``throttled`` counts
every request per client address (``[sso] requests_per_address`` per 10 minutes, an IPv6
client by its /64). A refusal that names nobody — no flow cookie (``flow_lost``), an answer
that is not this flow's (``state_mismatch``), a flow used already (``flow_used``) — is a log
line and a count (``trygg_sso_flows_refused_total{reason}`` in /metrics), never an audit row:
anyone can make those, and a hash-chained row each would let them write the trail at will.
Refusals about a real identity keep their audit rows. And each flow is used once: the
``state`` of every flow that reached the check is remembered (in memory, bounded by
``MAX_USED``) until its cookie expires, so a copied cookie replayed with another ``code`` is
refused *before* central sends anything to the provider's token endpoint with its secret.
That memory is per process: two centrals behind one address each refuse replays to
themselves (the cookie is still deleted by the first answer, and the provider's codes are
single use).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils
from prometheus_client import CollectorRegistry, Counter

from central.audit.trail import Trail
from central.auth.flowcookie import LIFETIME, Flow, seal, unseal
from central.auth.oidc import OidcClient, SignInFailed
from central.auth.service import Auth
from central.auth.throttle import AddressLimit
from central.config import SsoSettings
from central.core.signon import (
    Admit,
    Change,
    Grant,
    Refused,
    binding,
    decide,
    reconcile,
    revokes,
)
from central.store import Store, identities
from central.store import accounts as rows

log = logging.getLogger("central.sso")
IDLE_SWEEP_S = 3600.0  # how often the idle sweep runs (max_idle_days is in days)

# The refusals that come from the flow itself, before any claim is read (page and audit).
FLOW_LOST = "flow_lost"  # no sealed cookie, or expired, or not ours: start again
STATE_MISMATCH = "state_mismatch"  # the answer belongs to another flow (forged or replayed)
PROVIDER_ERROR = "provider_error"  # the provider said no (the person cancelled, say)
FLOW_USED = "flow_used"  # this flow's state came back before: a replayed cookie
THROTTLED = "throttled"  # too many requests from the address
# Refusals that name nobody: logged and counted, never an audit row each.
ANONYMOUS = (FLOW_LOST, STATE_MISMATCH, FLOW_USED, THROTTLED)
MAX_USED = 20_000  # states remembered at most (each ~100 bytes); the oldest go first
WINDOW_MIN = 10  # the requests_per_address window


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: str
    session_id: str
    next: str


@dataclass(frozen=True, slots=True)
class NotSignedIn:
    reason: str  # a Reason of central.core.signon, one of the above, or SignInFailed's
    user_id: str | None = None
    lost: bool = False  # their account's sessions and desk tokens were ended just now


class SignOn:
    def __init__(
        self,
        settings: SsoSettings,
        auth: Auth,
        store: Store,
        clock: Callable[[], datetime],
        trail: Trail,
        config_users: frozenset[str],
        client: OidcClient | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self._auth = auth
        self._store = store
        self._clock = clock
        self._trail = trail
        # Compared case-folded: an SSO id is folded, a config user's may be ``Admin``.
        self._config_users = frozenset(u.casefold() for u in config_users)
        self._rules = settings.rules()
        self.client = client or OidcClient(settings)
        self._idle_task: asyncio.Task[None] | None = None
        self._limit = AddressLimit("sso", settings.requests_per_address, WINDOW_MIN)
        self._used: OrderedDict[str, datetime] = OrderedDict()  # state → its cookie's expiry
        self.refusals = Counter(
            "trygg_sso_flows_refused",
            "Single sign-on requests refused before any identity was known, by reason.",
            ("reason",),
            registry=registry if registry is not None else CollectorRegistry(),
        )
        for reason in ANONYMOUS:
            self.refusals.labels(reason)

    def throttled(self, address: str) -> int:
        """Count one request to /sso/login or /sso/callback: 0, or seconds to wait."""
        wait = self._limit.hit(address)
        if wait:
            self._anonymous(THROTTLED, address, f"wait {wait} s")
        return wait

    def start_sweeping(self) -> None:
        """Begin the idle sweep (hourly, and once now)."""
        self._idle_task = asyncio.create_task(self._idle_forever(), name="sso-idle-sweep")

    async def stop(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task
        await self.client.aclose()

    async def _idle_forever(self) -> None:
        while True:
            try:
                await self.expire_idle()
            except Exception:  # a failed sweep must not end the sweeping for good
                log.exception("single sign-on idle sweep failed")
            await asyncio.sleep(IDLE_SWEEP_S)

    async def expire_idle(self) -> list[str]:
        """Strip every SSO account whose person has not signed in for ``max_idle_days``:
        roles, sites, sessions and desk tokens end (one audit row each). Their next sign-in,
        if the provider still lets them in, gives back what their groups give."""
        before = self._clock() - timedelta(days=self.settings.max_idle_days)
        stripped: list[str] = []

        def write(db: sqlite_utils.Database) -> None:
            for user in identities.idle(db, before):
                identities.strip(db, user, None)
                stripped.append(user)

        await self._store.submit(write)
        for user in stripped:
            days = self.settings.max_idle_days
            self._trail.record("central", "sso_idle_removed", user, str(days))
            log.info("single sign-on: %s stripped, no sign-in for %s days", user, days)
        if stripped:
            await self._auth.sweep()
        return stripped

    async def start(self, redirect_uri: str, next_path: str) -> tuple[str, str]:
        """(the provider's authorization URL, the sealed cookie); SignInFailed if the
        provider cannot be reached."""
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)  # 64 characters (RFC 7636: 43-128)
        url = await self.client.authorization_url(redirect_uri, state, nonce, verifier)
        expires = self._clock() + LIFETIME
        flow = Flow(state, nonce, verifier, next_path, redirect_uri, expires)
        return url, seal(self._auth.secret, flow)

    async def finish(
        self, cookie: str | None, answer: Mapping[str, str], address: str
    ) -> SignedIn | NotSignedIn:
        """The provider's answer (the callback's query) for the flow sealed in ``cookie``."""
        flow = unseal(self._auth.secret, cookie, self._clock())
        if flow is None:
            return self._refused(FLOW_LOST, None, address)
        if not hmac.compare_digest(flow.state.encode(), answer.get("state", "").encode()):
            return self._refused(STATE_MISMATCH, None, address)
        if not self._first_use(flow.state, flow.expires):
            return self._refused(FLOW_USED, None, address, "a used flow's cookie came back")
        if answer.get("iss") not in (None, self.settings.issuer):  # RFC 9207: a mix-up
            return self._refused(STATE_MISMATCH, None, address, "another issuer answered")
        if answer.get("error") or not answer.get("code"):
            detail = answer.get("error", "no code")[:60]
            return self._refused(PROVIDER_ERROR, None, address, detail)
        try:
            claims = await self.client.sign_in(
                answer["code"], flow.redirect_uri, flow.verifier, flow.nonce
            )
        except SignInFailed as failed:
            log.warning("single sign-on failed: %s", failed)
            return self._refused(failed.reason, None, address, failed.detail[:200])
        decided = decide(claims, self._rules)
        if isinstance(decided, Refused):
            return await self._refuse_person(decided, address)
        return await self._admit(decided, flow.next, address)

    async def _admit(self, grant: Grant, next_path: str, address: str) -> SignedIn | NotSignedIn:
        issuer = self.settings.issuer
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=self._auth.settings.session_hours)
        outcome: list[Admit | Refused] = []
        config_user = grant.user_id.casefold() in self._config_users

        def write(db: sqlite_utils.Database) -> None:
            # The person's account by binding first: a renamed person has one already.
            held_by = identities.holder(db, binding(issuer, grant.subject))
            found = identities.existing(db, grant.user_id)
            decision = reconcile(grant, issuer, found, config_user, held_by)
            outcome.append(decision)
            if isinstance(decision, Refused):
                return
            if decision.moved_from is not None:
                identities.move(db, decision.moved_from)
            changed = decision.change is Change.CHANGED
            identities.sign_in(db, grant, issuer, now, end_sessions=changed)
            rows.add_session(db, session_id, grant.user_id, now, expires)

        await self._store.submit(write)
        decision = outcome[0]
        if isinstance(decision, Refused):
            return self._refused(decision.reason, grant.user_id, address, decision.detail)
        user = grant.user_id
        now_has = _grants(grant.roles, grant.sites)
        if decision.moved_from is not None:
            old = decision.moved_from
            self._trail.record(user, "sso_moved", old, f"{old} → {user}")
        if decision.change is Change.CHANGED:
            before = _grants(decision.roles_before, decision.sites_before)
            self._trail.record(user, "sso_roles_changed", user, f"{before} → {now_has}")
        if decision.moved_from is not None or decision.change is Change.CHANGED:
            # The old account's sockets (stripped) and those opened under the old roles and
            # sites close now; a desk reconnects at once under the new ones.
            await self._auth.sweep()
        self._trail.record(user, "sso_login", user, f"from {address}; {now_has}")
        log.info(
            "single sign-on: %s (%s) from %s, groups matched: %s",
            user,
            decision.change.value,
            address,
            len(grant.groups),
        )
        return SignedIn(user, session_id, next_path)

    async def _refuse_person(self, refused: Refused, address: str) -> NotSignedIn:
        """Claims that make nobody. If they are the account's own person and their groups no
        longer give a role or a site, the account loses what it had, sessions and tokens too."""
        issuer = self.settings.issuer
        user = refused.user_id
        now = self._clock()
        stripped: list[str] = []

        def write(db: sqlite_utils.Database) -> None:
            # The person's account by binding, whatever its id (they may have been renamed
            # and lost their groups at once); else the one under the id they came with.
            held = identities.holder(db, binding(issuer, refused.subject or ""))
            target = held if held is not None else user
            found = identities.existing(db, target) if target else None
            if target and revokes(refused, issuer, found):
                identities.strip(db, target, now)
                stripped.append(target)

        if user or refused.subject:
            await self._store.submit(write)
        self._refused(refused.reason, user, address, refused.detail)
        for gone in stripped:
            self._trail.record(gone, "sso_access_removed", gone, "sessions and tokens ended")
            await self._auth.sweep()
        return NotSignedIn(refused.reason, user, lost=bool(stripped))

    def _first_use(self, state: str, expires: datetime) -> bool:
        """Remember ``state`` as used until ``expires``; False if it was used already.
        No await between the check and the remembering: two racing callbacks cannot both
        pass."""
        now = self._clock()
        while self._used and next(iter(self._used.values())) <= now:
            self._used.popitem(last=False)  # oldest first (a later expired one waits its turn)
        if state in self._used:
            return False
        if len(self._used) >= MAX_USED:
            self._used.popitem(last=False)  # the oldest, nearest its expiry
            log.warning("single sign-on: %s flows in 10 minutes; forgetting the oldest", MAX_USED)
        self._used[state] = expires
        return True

    def _anonymous(self, reason: str, address: str, detail: str) -> None:
        self.refusals.labels(reason).inc()
        log.info("single sign-on refused (%s) from %s: %s", reason, address, detail)

    def _refused(
        self, reason: str, user_id: str | None, address: str, detail: str = ""
    ) -> NotSignedIn:
        """The refusal in the audit trail (why, and from where; the technical detail, such as
        which claim did not validate, goes to the log); one that names nobody is only
        logged and counted."""
        if reason in ANONYMOUS and user_id is None:
            self._anonymous(reason, address, detail)
            return NotSignedIn(reason, None)
        actor = user_id or "?"
        self._trail.record(actor, "sso_refused", user_id or "", f"{reason}; from {address}")
        log.info("single sign-on refused (%s) for %s from %s: %s", reason, actor, address, detail)
        return NotSignedIn(reason, user_id)


def _grants(roles: frozenset[str], sites: frozenset[str]) -> str:
    """Roles and sites as the audit trail keeps them: ``leader,responder @ oslo-sentrum``."""
    return f"{','.join(sorted(roles))} @ {','.join(sorted(sites))}"
