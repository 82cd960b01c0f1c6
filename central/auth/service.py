"""Who is asking: bearer tokens (the config's users, tokens issued by ``trygg-central user
token``) and console sessions; logging in and out; the CSRF secret; open sockets.

Logins are throttled (``central.auth.throttle``) and their argon2 work runs on a small pool
of its own, with a bounded queue in front: a flood of logins then costs two threads and a
"busy" answer, never the event loop or the threads the alarm path uses.

An open socket keeps working only while its credential does: ``watch`` registers it, and a
sweep closes those whose token was revoked or expired, whose session ended or whose user was
disabled. The sweep runs when ``credentials_version`` changes (the console and the CLI bump
it) and every few minutes anyway (expiry).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from central.audit.trail import Trail
from central.auth import csrf
from central.auth.passwords import verify
from central.auth.throttle import LoginThrottle
from central.config import WebSettings
from central.core import Directory, Person
from central.store import Store
from central.store import accounts as rows

log = logging.getLogger("central.auth")

SESSION_COOKIE = "trygg_session"
PRE_COOKIE = "trygg_pre"  # binds the login form's CSRF token before there is a session
LANGUAGE_COOKIE = "trygg_lang"
HASH_THREADS = 2  # argon2 for logins: at most this many cores
MAX_LOGINS_WAITING = 8  # beyond this, a login is answered "busy" at once
POLL_S = 1.0  # how often the credentials' version is looked at
FULL_SWEEP_S = 300.0  # and how often every open socket is checked anyway (expiry)


@dataclass(frozen=True, slots=True)
class LoginResult:
    session_id: str | None = None
    wait_s: int = 0  # throttled: try again in this many seconds
    busy: bool = False


@dataclass(frozen=True, slots=True)
class Credential:
    kind: str  # "token" or "session"
    secret: str


class Auth:
    def __init__(
        self,
        settings: WebSettings,
        directory: Directory,
        store: Store,
        clock: Callable[[], datetime],
        trail: Trail | None = None,
    ) -> None:
        self.settings = settings
        self._directory = directory
        self._store = store
        self._clock = clock
        self.trail = trail or Trail(store, clock)
        self.secret = settings.secret or ""
        self.throttle = LoginThrottle(
            settings.login_failures_per_account,
            settings.login_failures_per_address,
            settings.login_window_minutes,
        )
        self._hashing = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="login-hash")
        self._waiting = 0
        self._live: dict[int, tuple[Credential, Callable[[], None]]] = {}
        self._version = ""
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Without a secret in the config, central keeps a random one of its own."""
        self._version = await self._store.read(rows.credentials_version)
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="credential-sweep")
        if self.secret:
            return
        made = secrets.token_urlsafe(48)
        await self._store.submit(lambda db: rows.save_setting(db, "csrf_secret", made))
        stored = await self._store.read(lambda db: rows.setting(db, "csrf_secret"))
        self.secret = str(stored)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        self._hashing.shutdown(wait=False, cancel_futures=True)

    # --- who -----------------------------------------------------------------------------

    async def by_token(self, token: str) -> Person | None:
        person = self._directory.authenticate(token)
        if person is not None:
            user = person.user_id
            stopped = await self._store.read(lambda db: rows.blocked(db, user, token))
            return None if stopped else person
        now = self._clock()
        found = await self._store.read(lambda db: rows.by_token(db, token, now))
        return found.person() if found is not None else None

    async def by_session(self, session_id: str) -> Person | None:
        now = self._clock()
        found = await self._store.read(lambda db: rows.by_session(db, session_id, now))
        return found.person() if found is not None else None

    async def still_valid(self, credential: Credential) -> bool:
        if credential.kind == "token":
            return await self.by_token(credential.secret) is not None
        return await self.by_session(credential.secret) is not None

    # --- log in and out ------------------------------------------------------------------

    async def login(self, user_id: str, password: str, address: str = "?") -> LoginResult:
        """A new session, or why not: wrong name or password (the same for both), throttled
        (``wait_s``), or too many logins at once (``busy``)."""
        found = await self.verified(user_id, password, address)
        if isinstance(found, LoginResult):
            return found
        user = found.user_id
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + timedelta(hours=self.settings.session_hours)
        await self._store.submit(lambda db: rows.add_session(db, session_id, user, now, expires))
        self.trail.record(user, "login", user, f"from {address}")
        return LoginResult(session_id=session_id)

    async def verified(
        self, user_id: str, password: str, address: str = "?"
    ) -> rows.Account | LoginResult:
        """The account whose password this is (enabled), or why not (an empty result: wrong
        name or password); a failure is throttled and in the audit trail. The console's
        login and a phone's credential (central.api.mobile) both pass here."""
        wait = self.throttle.wait_s(user_id, address)
        if wait:
            self.trail.record(user_id or "?", "login_throttled", user_id, f"from {address}")
            return LoginResult(wait_s=wait)
        if self._waiting >= MAX_LOGINS_WAITING:
            return LoginResult(busy=True)
        found: rows.Account | None = await self._store.read(lambda db: rows.account(db, user_id))
        hashed = found.password_hash if found is not None and not found.disabled else None
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            good = await loop.run_in_executor(self._hashing, verify, password, hashed)
        finally:
            self._waiting -= 1
        if not good:
            self.throttle.failed(user_id, address)
            self.trail.record(user_id or "?", "login_failed", user_id, f"from {address}")
            return LoginResult()
        if found is None:  # `good` is only true for an account that was found
            raise RuntimeError("login verified without an account")
        return found

    async def logout(self, session_id: str, user_id: str = "?") -> None:
        await self._store.submit(lambda db: rows.end_session(db, session_id))
        self.trail.record(user_id, "logout", user_id)
        await self.sweep()

    # --- open sockets --------------------------------------------------------------------

    def watch(self, credential: Credential, close: Callable[[], None]) -> Callable[[], None]:
        """Call ``close`` when ``credential`` stops working; returns the way to stop watching."""
        key = id(close)
        self._live[key] = (credential, close)
        return lambda: self._live.pop(key, None) and None

    async def sweep(self) -> int:
        """Close every watched socket whose credential no longer works; how many were closed."""
        closed = 0
        verdicts: dict[Credential, bool] = {}
        for key, (credential, close) in list(self._live.items()):
            if credential not in verdicts:
                verdicts[credential] = await self.still_valid(credential)
            if not verdicts[credential] and self._live.pop(key, None) is not None:
                log.info("closing a socket: its %s no longer works", credential.kind)
                close()
                closed += 1
        return closed

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        last_full = loop.time()
        while True:
            await asyncio.sleep(POLL_S)
            try:
                version = await self._store.read(rows.credentials_version)
                if version != self._version or loop.time() - last_full > FULL_SWEEP_S:
                    self._version = version
                    last_full = loop.time()
                    await self.sweep()
            except Exception:  # a failed read must not end the sweeping for good
                log.exception("credential sweep failed")

    # --- forms ---------------------------------------------------------------------------

    def csrf_token(self, binding: str) -> str:
        return csrf.token_for(self.secret, binding)

    def csrf_valid(self, binding: str | None, token: str | None) -> bool:
        return csrf.valid(self.secret, binding, token)
