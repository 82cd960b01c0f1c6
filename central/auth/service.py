"""Who is asking: bearer tokens (the config's users, tokens issued by ``trygg-central user
token``) and console sessions; logging in and out; the CSRF secret; open sockets.

Logins are throttled (``central.auth.throttle``) and their argon2 work runs on a small pool
of its own, with a bounded queue in front: a flood of logins then costs two threads and a
"busy" answer, never the event loop or the threads the alarm path uses.

An open socket keeps working only while its credential does, and only with the access it
opened with: ``watch`` registers it with the person it was opened as, and a sweep closes those
whose token was revoked or expired, whose session ended or whose user was disabled
(``REVOKED``, 4401), and those whose person's roles or sites have changed since
(``RESCOPED``, 4012). A socket is not re-scoped in place: everything central sent it (the
hello's sites, the snapshot, open standby requests, who may answer what) was chosen for the
person it opened as, and the way to make all of that right is the reconnect the desk does
anyway, at once, as after any close: it comes back with the new roles and sites and a fresh
snapshot of them (or is refused, if no role of theirs may open a screen any more). The
sweep runs when ``credentials_version`` changes (every change of a credential, a role or a
site bumps it, whoever makes it: the console, ``trygg-central user``, a single sign-on) and
every few minutes anyway (expiry). Whether to close is :func:`verdict`'s, pure.

A socket whose handshake read its person while a sweep ran might have read it just before the
change that sweep was for, and registered just after it: ``watch`` is told the sweep count of
the handshake's start and checks that one socket again if a sweep began meanwhile.
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


@dataclass(frozen=True, slots=True)
class Ending:
    """Why a watched socket is closed: its close code and reason."""

    code: int
    reason: str


# The credential no longer works (revoked, expired, logged out, user disabled).
REVOKED = Ending(4401, "revoked")
# The person's roles or sites changed: reconnect at once for the new ones (private-use code,
# read as 1012 "service restart" is: come back now). A desk treats it as any brief close.
RESCOPED = Ending(4012, "access changed")


def verdict(opened: Person, now: Person | None) -> Ending | None:
    """Whether a socket opened as ``opened`` must close, now that its credential gives ``now``
    (None: nobody)."""
    if now is None:
        return REVOKED
    if now.user_id != opened.user_id or now.roles != opened.roles or now.sites != opened.sites:
        return RESCOPED
    return None


@dataclass(frozen=True, slots=True)
class _Watched:
    credential: Credential
    opened: Person
    close: Callable[[Ending], None]


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
        self._live: dict[int, _Watched] = {}
        self._version = ""
        self._sweeper: asyncio.Task[None] | None = None
        self.sweeps = 0  # sweeps begun so far (``watch``'s ``since``)
        self._rechecks: set[asyncio.Task[None]] = set()

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
        tasks = [*self._rechecks, *([self._sweeper] if self._sweeper is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
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

    async def current(self, credential: Credential) -> Person | None:
        """Who ``credential`` gives now (their roles and sites as stored now), or nobody."""
        if credential.kind == "token":
            return await self.by_token(credential.secret)
        return await self.by_session(credential.secret)

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

    def watch(
        self,
        credential: Credential,
        opened: Person,
        close: Callable[[Ending], None],
        since: int | None = None,
    ) -> Callable[[], None]:
        """Call ``close`` (once) when ``credential`` stops working or stops giving ``opened``'s
        roles and sites; returns the way to stop watching. ``since``: ``sweeps`` when the
        socket's handshake began (its person was read after that): if a sweep began since,
        this socket is checked once more now, as that sweep could not see it."""
        entry = _Watched(credential, opened, close)
        key = id(entry)
        self._live[key] = entry
        if since is not None and since != self.sweeps:
            task = asyncio.get_running_loop().create_task(self._sweep_one(key))
            self._rechecks.add(task)
            task.add_done_callback(self._rechecks.discard)

        def unwatch() -> None:
            self._live.pop(key, None)

        return unwatch

    async def sweep(self) -> int:
        """Close every watched socket whose credential no longer works, or no longer gives the
        roles and sites it opened with; how many were closed."""
        self.sweeps += 1
        closed = 0
        now: dict[Credential, Person | None] = {}
        for key, entry in list(self._live.items()):
            if entry.credential not in now:
                now[entry.credential] = await self.current(entry.credential)
            closed += self._end(key, entry, now[entry.credential])
        return closed

    async def _sweep_one(self, key: int) -> None:
        entry = self._live.get(key)
        if entry is None:
            return
        try:
            self._end(key, entry, await self.current(entry.credential))
        except Exception:  # the next sweep looks again
            log.exception("checking a new socket's credential failed")

    def _end(self, key: int, entry: _Watched, now: Person | None) -> int:
        ending = verdict(entry.opened, now)
        if ending is None or self._live.pop(key, None) is None:
            return 0
        if ending is REVOKED:
            log.info("closing a socket: its %s no longer works", entry.credential.kind)
        else:
            log.info("closing a socket of %s: their roles or sites changed", entry.opened.user_id)
        entry.close(ending)
        return 1

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
