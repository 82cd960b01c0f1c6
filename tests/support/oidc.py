"""A real OpenID Connect provider for the single sign-on tests (oidc-provider-mock, a Flask app
on Authlib), on a free loopback port in a thread of the test process, and a browser-less
sign-in through it with httpx: central's redirect, the provider's form, the code back.

The provider signs real RS256 ID tokens with its own key and publishes its JWKS; it takes any
client id and secret, and a user's claims are set over its HTTP API (``PUT /users/<sub>``)
while it runs, so a test can move a person between groups between two sign-ins. Claims it is
given go into the ID token as they are — including ``aud``, ``nonce`` or ``iss`` — which is
how the tests make a provider issue a token for another audience or with another nonce.
The provider's WSGI app is wrapped to count the requests its token endpoint gets
(``Provider.token_requests``): what central sent the provider with its client secret, counted
where it arrives, not taken from central's word.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from central.core import Role
from tests.central.helpers import Running, serve
from tests.support.broker import Broker
from tests.web.console import add_account, console_settings

try:
    from oidc_provider_mock import run_server_in_thread  # type: ignore[import-untyped]
except ImportError as missing:  # a dev dependency: a missing one fails the test, never skips
    raise RuntimeError(
        "oidc-provider-mock is not installed: `make venv` installs the dev extra"
    ) from missing

CLIENT_ID = "trygg-console-test"
SECRET_ENV = "TRYGG_TEST_SSO_CLIENT_SECRET"
CLIENT_SECRET = "Vq8~pX2rL9dK4mN7sT1wZ6bF3hJ5cG0y"  # any secret passes the mock; ours is real
G_OSLO = "3f6c0b1e-oslo-staff"
G_RESPONDERS = "8d2a4c7e-responders"
G_LEADERS = "c41e9a0b-leaders"
G_ADMINS = "0a9b8c7d-trygg-admins"
G_SAFETY = "5e4d3c2b-safety-reps"


def sso_section(issuer: str, **changes: Any) -> dict[str, Any]:
    """``[sso]`` for a central of the test site ``oslo-sentrum``: staff, responders, leaders."""
    section: dict[str, Any] = {
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret_env": SECRET_ENV,
        "groups": [
            {"group": G_OSLO, "sites": ["oslo-sentrum"]},
            {"group": G_RESPONDERS, "roles": ["responder"]},
            {"group": G_LEADERS, "roles": ["leader"]},
            {"group": G_SAFETY, "roles": ["safety_rep"]},
            {"group": G_ADMINS, "roles": ["admin"], "sites": ["*"]},
        ],
    }
    section.update(changes)
    return section


TOKEN_PATH = "/oauth2/token"


class _Tally:
    """Counts the POSTs to the token endpoint (the provider serves from several threads)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == TOKEN_PATH:
            with self._lock:
                self.count += 1
        return self.app(environ, start)


@dataclass
class Provider:
    url: str  # also the issuer: http://localhost:<port>
    tally: _Tally | None = None

    def token_requests(self) -> int:
        """How many requests the provider's token endpoint has had so far."""
        assert self.tally is not None, "this provider does not count"
        return self.tally.count

    def set_user(self, sub: str, **claims: Any) -> None:
        """Create or change the person ``sub`` (their next token carries these claims)."""
        answer = httpx.put(f"{self.url}/users/{sub}", json=claims, timeout=10)
        assert answer.status_code == 204, answer.text


@contextmanager
def provider() -> Iterator[Provider]:
    """The provider on a free port of this machine; nonces required, as central sends one."""
    with run_server_in_thread(port=0, require_nonce=True) as server:
        tally = _Tally(server.app)
        server.app = tally  # werkzeug reads server.app at each request
        yield Provider(f"http://localhost:{server.server_port}", tally)


async def to_callback(client: httpx.AsyncClient, central: str, sub: str, next_path: str) -> str:
    """Start at central, sign in as ``sub`` at the provider; the URL it sends the browser to."""
    start = await client.get(f"{central}/sso/login", params={"next": next_path})
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    form = await client.get(authorize)
    assert form.status_code == 200, form.text
    assert re.search(r'name="sub"', form.text), "the provider's form has no sub field"
    sent = await client.post(authorize, data={"sub": sub})
    assert sent.status_code in (302, 303), sent.text
    return urljoin(authorize, sent.headers["location"])


async def sign_in(
    client: httpx.AsyncClient, central: str, sub: str, next_path: str = "/board"
) -> httpx.Response:
    """The whole sign-in, as a browser does it; central's answer to the callback."""
    callback = await to_callback(client, central, sub, next_path)
    return await client.get(callback)


@asynccontextmanager
async def central_with_sso(
    idp: Provider, broker_dir: Path, central_dir: Path, accounts: Mapping[str, frozenset[Role]]
) -> AsyncIterator[Running]:
    """A central on real sockets signing in through ``idp``, with its own broker and the
    local ``accounts`` (user id -> roles); the client secret is in the environment meanwhile."""
    broker = Broker(broker_dir)
    broker.start()
    os.environ[SECRET_ENV] = CLIENT_SECRET
    try:
        settings = console_settings(broker, central_dir, {"sso": sso_section(idp.url)})
        async with serve(settings) as running:
            for user, roles in accounts.items():
                await add_account(running, user, roles)
            yield running
    finally:
        os.environ.pop(SECRET_ENV, None)
        broker.stop()
