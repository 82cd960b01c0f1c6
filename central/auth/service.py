"""Who is asking: bearer tokens (the config's users, tokens issued by ``trygg-central user
token``) and console sessions; logging in and out; the CSRF secret."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from central.auth import csrf
from central.auth.passwords import verify
from central.config import WebSettings
from central.core import Directory, Person
from central.store import Store
from central.store import accounts as rows

SESSION_COOKIE = "trygg_session"
PRE_COOKIE = "trygg_pre"  # binds the login form's CSRF token before there is a session
LANGUAGE_COOKIE = "trygg_lang"


class Auth:
    def __init__(
        self,
        settings: WebSettings,
        directory: Directory,
        store: Store,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._directory = directory
        self._store = store
        self._clock = clock
        self.secret = settings.secret or ""

    async def start(self) -> None:
        """Without a secret in the config, central keeps a random one of its own."""
        if self.secret:
            return
        made = secrets.token_urlsafe(48)
        await self._store.submit(lambda db: rows.save_setting(db, "csrf_secret", made))
        stored = await self._store.read(lambda db: rows.setting(db, "csrf_secret"))
        self.secret = str(stored)

    # --- who -----------------------------------------------------------------------------

    async def by_token(self, token: str) -> Person | None:
        person = self._directory.authenticate(token)
        if person is not None:
            return person
        found = await self._store.read(lambda db: rows.by_token(db, token))
        return found.person() if found is not None else None

    async def by_session(self, session_id: str) -> Person | None:
        now = self._clock()
        found = await self._store.read(lambda db: rows.by_session(db, session_id, now))
        return found.person() if found is not None else None

    # --- log in and out ------------------------------------------------------------------

    async def login(self, user_id: str, password: str) -> str | None:
        """A new session id, or None if the name or password is wrong (the same for both)."""
        found = await self._store.read(lambda db: rows.account(db, user_id))
        hashed = found.password_hash if found is not None and not found.disabled else None
        if not await asyncio.to_thread(verify, password, hashed):
            return None
        assert found is not None
        user = found.user_id
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + timedelta(hours=self.settings.session_hours)
        await self._store.submit(lambda db: rows.add_session(db, session_id, user, now, expires))
        return session_id

    async def logout(self, session_id: str) -> None:
        await self._store.submit(lambda db: rows.end_session(db, session_id))

    # --- forms ---------------------------------------------------------------------------

    def csrf_token(self, binding: str) -> str:
        return csrf.token_for(self.secret, binding)

    def csrf_valid(self, binding: str | None, token: str | None) -> bool:
        return csrf.valid(self.secret, binding, token)
