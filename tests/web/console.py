"""A central for console tests: accounts of every role, sessions, tokens, CSRF tokens."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils

from central.auth.passwords import hash_password
from central.config import CentralSettings
from central.core import Role
from central.store import accounts as rows
from tests.central.helpers import Running, make_settings, serve
from tests.support.broker import Broker

PASSWORD = "Rett-hest-batteri-stift-42"
# The clients' TLS context, made once: httpx makes one per client otherwise (~18 ms of CPU
# each, even for http://), and every console logs six clients in.
TLS = ssl.create_default_context()
SECRET = "web-secret-5f1c9e7a3b8d2f6a0c4e9b1d7a3f5c8e"
ROOMS = {
    "width": 30,
    "height": 12,
    "zones": [{"id": "publikum", "name": "Publikumssone", "x": 0, "y": 0, "w": 20, "h": 12}],
    "rooms": [
        {
            "id": "mote-101",
            "name": "Møterom 101",
            "zone": "publikum",
            "x": 1,
            "y": 1,
            "w": 8,
            "h": 5,
            "devices": ["rom-101"],
            "measures": ["Alarmknapp under bordet", "Dør med <b>to</b> utganger"],
        },
        {"id": "mote-102", "name": "Møterom <i>102</i>", "x": 10, "y": 1, "w": 8, "h": 5},
    ],
}


def console_settings(
    broker: Broker, tmp: Path, sections: dict[str, Any] | None = None
) -> CentralSettings:
    data = make_settings(broker, tmp).model_dump(mode="json")
    data["web"] = {"secret": SECRET}
    data["sites"][0].update(ROOMS)
    data.update(sections or {})
    sso = data.get("sso")
    if isinstance(sso, dict) and "redirect_uri" not in sso:  # this central's own callback
        sso["redirect_uri"] = f"http://127.0.0.1:{data['http']['port']}/sso/callback"
    return CentralSettings.model_validate(data)


@dataclass
class Console:
    running: Running
    sessions: dict[Role, str] = field(default_factory=dict)  # role → session cookie
    tokens: dict[Role, str] = field(default_factory=dict)  # role → desk token

    @property
    def url(self) -> str:
        return self.running.http

    def csrf_for(self, session_id: str) -> str:
        return str(self.running.server.config.loaded_app.app.state.auth.csrf_token(session_id))

    def client(self, role: Role | None = None, **kwargs: Any) -> httpx.AsyncClient:
        cookies = {"trygg_session": self.sessions[role]} if role else {}
        kwargs.setdefault("verify", TLS)
        return httpx.AsyncClient(base_url=self.url, cookies=cookies, timeout=10, **kwargs)

    def signed_in(self, role: Role) -> httpx.AsyncClient:
        """``role``'s browser for pages and forms (a token opens neither): its session, and
        its CSRF token on every request as the console's own scripts send it."""
        return self.client(role, headers={"X-CSRF-Token": self.csrf_for(self.sessions[role])})


@cache
def password_hash() -> str:
    """``PASSWORD``'s argon2 hash, made once per test process: every account the tests add has
    that password, and a hash of it verifies for any of them (its salt is in the hash). Made
    anew per account it cost ~0.2 s each, six times per console, in the event loop central
    serves from."""
    return hash_password(PASSWORD)


async def add_account(
    running: Running, user_id: str, roles: frozenset[Role], name: str = ""
) -> None:
    central = running.central
    account = rows.Account(
        user_id, name or user_id.title(), password_hash(), roles, frozenset({"*"})
    )
    await central.store.submit(lambda db: rows.save_account(db, account, central.clock()))


async def add_token(running: Running, user_id: str, token: str, label: str, at: datetime) -> None:
    """Keep ``token`` for ``user_id`` as if it had been made at ``at``."""

    def write(db: sqlite_utils.Database) -> None:
        rows.add_token(db, user_id, token, label, at)

    await running.central.store.submit(write)


async def log_in(url: str, user_id: str, password: str = PASSWORD) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=10, verify=TLS) as client:
        page = await client.get("/login")
        token = csrf_in(page.text)
        return await client.post(
            "/login", data={"user": user_id, "password": password, "csrf": token}
        )


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@asynccontextmanager
async def console(
    broker: Broker, tmp: Path, sections: dict[str, Any] | None = None
) -> AsyncIterator[Console]:
    """Central with an account per role (every site), each logged in and holding a token;
    ``sections`` replace sections of its settings (``{"test_rounds": {...}}``)."""
    async with serve(console_settings(broker, tmp, sections)) as running:
        found = Console(running)
        for role in Role:
            await add_account(running, f"user-{role.value}", frozenset({role}))
        # Every role logs in through the real form, all at once: central checks passwords on
        # its own threads (two), so the argon2 checks overlap instead of queueing one by one.
        answers = await asyncio.gather(*(log_in(running.http, f"user-{r.value}") for r in Role))
        for role, answer in zip(Role, answers, strict=True):
            assert answer.status_code == 303, answer.text
            found.sessions[role] = answer.cookies["trygg_session"]
            token = f"desk-{role.value}-token-8c1f4e7a2b9d"
            user = f"user-{role.value}"
            await add_token(running, user, token, "test", running.central.clock())
            found.tokens[role] = token
        yield found
