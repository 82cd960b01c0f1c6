"""The guard: an ASGI middleware that decides every request before any route runs.

It finds the route the request will reach, reads the action that route declares
(``central.auth.routes``; the roles of each action are in ``central.auth.rules``), works out
who is asking (bearer token in the Authorization header, else session cookie; never a token
in the URL, which ends up in logs, histories and Referer headers) and lets the request through
only if the rules allow it. An accepted socket is watched: when its token or session stops
working (revoked, expired, user disabled), the guard closes it (code 4401); when the person's
roles or sites change, too (code 4012: the desk reconnects at once, under the new ones; see
``central.auth.service``). Unsafe methods
from a browser (no bearer token) must carry the CSRF token of their session, as a form field
or an ``X-CSRF-Token`` header.

A bearer token is a machine's credential, never a login: it is accepted only where machines
call (:func:`accepts_token`: ``/api/*``, the screens' socket ``/ws``, ``/metrics``,
``/healthz``, ``/openapi.json``) and refused (403) everywhere else — the console's pages, its
socket, ``/connect*`` (which issues desk tokens), account and token management. So a desk's
token, copied off a PC, cannot open an admin's console, read the audit trail or mint more
tokens; those need the person's session (signed in, with a CSRF token for every change). The
guard records which credential a request came with (``state["credential"]``).
Refusals: 401 (API, sockets: before accept, so HTTP 403), a redirect to the login page (pages),
403 with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import NamedTuple
from urllib.parse import parse_qs, quote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.auth import csrf
from central.auth.routes import endpoint_for
from central.auth.rules import WS, Action, allowed
from central.auth.service import PRE_COOKIE, SESSION_COOKIE, Auth, Credential, Ending
from central.auth.service import REVOKED as ENDED
from central.core import Person

log = logging.getLogger("central.auth")

MAX_FORM_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Public routes a client without a session calls with a JSON body (no CSRF token to give).
NO_SESSION_JSON = frozenset(
    {"/api/mobile/credential", "/api/desk/pairings", "/api/desk/pairings/token"}
)
MACHINE_PATHS = frozenset({"/openapi.json", "/metrics"})  # outside /api/, yet not pages
# Outside /api/, the routes a bearer token is accepted on (machines: desks, scrapers, probes).
TOKEN_PATHS = MACHINE_PATHS | {"/ws", "/healthz"}
REVOKED = ENDED.code  # the close code of a socket whose credential ended
# Renders an HTML error page: (scope, status, message) → ASGI app answering it.
ErrorPage = Callable[[Scope, int, str], ASGIApp]


def cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: no cookies
                return {}
    return {k: v.value for k, v in jar.items()}


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""


def accepts_token(template: str) -> bool:
    """Whether a bearer token is accepted on the route ``template`` (else only a session)."""
    return template.startswith("/api/") or template in TOKEN_PATHS


def bearer(scope: Scope) -> str | None:
    scheme, _, value = _header(scope, b"authorization").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class Guard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        starlette_app = scope["app"]
        method = WS if scope["type"] == "websocket" else scope["method"]
        endpoint = endpoint_for(starlette_app, scope)
        if endpoint is None:  # no route: the router answers 404/405
            await self.app(scope, receive, send)
            return
        template = endpoint.path
        auth: Auth = starlette_app.state.auth
        state = scope.setdefault("state", {})
        sweeps = auth.sweeps  # before the person is read: see Auth.watch
        person, session_id = await _who(auth, scope)
        token = bearer(scope)
        state["person"] = person
        state["session_id"] = session_id
        state["credential"] = "token" if token is not None else "session" if session_id else None
        action = endpoint.action
        # Machines' endpoints answer 401/403 in JSON, never a redirect to the login page.
        api = template.startswith("/api/") or template in MACHINE_PATHS or method == WS
        if action is None:
            log.error("%s %s declares no action: refused", method, template)
            await self._refuse(scope, receive, send, 403, "no rule allows this endpoint", api)
            return
        if token is not None and not accepts_token(template):
            # A token is no login: pages, /connect and account management need a session.
            await self._refuse(
                scope, receive, send, 403, "a token is not accepted here: sign in", api
            )
            return
        if not allowed(person, action):
            if person is None:
                await self._refuse(scope, receive, send, 401, "please log in", api)
            else:
                await self._refuse(scope, receive, send, 403, "your role does not allow this", api)
            return
        if method == WS:
            if session_id is not None and not _same_origin(scope):
                await self._refuse(scope, receive, send, 403, "cross-site socket", api)
                return
            credential = (
                Credential("token", token)
                if token is not None
                else Credential("session", session_id or "")
            )
            watching = _Watching(auth, credential, person, sweeps)
            await _watched(self.app, watching, scope, receive, send)
            return
        if method in SAFE_METHODS or (token is not None and person is not None):
            await self.app(scope, receive, send)
            return
        if action is Action.PUBLIC and endpoint.path in NO_SESSION_JSON and _json(scope):
            # A phone asking for its credential has no session: nothing to forge, and another
            # site cannot send JSON here without a CORS preflight that nobody answers. Only
            # the routes named here: any other public POST keeps the CSRF check.
            await self.app(scope, receive, send)
            return
        binding = session_id or cookies(scope).get(PRE_COOKIE)
        given = _header(scope, csrf.HEADER.encode())
        body: list[Message] = []
        if not given and _header(scope, b"content-type").startswith(
            "application/x-www-form-urlencoded"
        ):
            raw, body = await _read_body(receive)
            given = (parse_qs(raw.decode("utf-8", "replace")).get(csrf.FIELD) or [""])[0]
        if not auth.csrf_valid(binding, given):
            await self._refuse(scope, receive, send, 403, "the form has expired; try again", api)
            return
        await self.app(scope, _replay(body, receive) if body else receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, reason: str, api: bool
    ) -> None:
        starlette_app = scope["app"]
        if scope["type"] == "websocket":
            central = starlette_app.state.central
            what = "screen" if scope["path"] == "/ws" else "console"
            central.rejected[f"{what}_{'unauthorized' if status == 401 else 'forbidden'}"] += 1
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        if status == 401 and not api:
            query = scope.get("query_string", b"").decode("latin-1")
            if "token" in parse_qs(query):  # a secret in the URL is not carried any further
                query = ""
            target = scope["path"] + ("?" + query if query else "")
            await _respond(send, 303, b"", [(b"location", f"/login?next={quote(target)}".encode())])
            return
        if api:
            headers = [(b"content-type", b"application/json")]
            if status == 401:
                headers.append((b"www-authenticate", b"Bearer"))
            await _respond(send, status, json.dumps({"detail": reason}).encode(), headers)
            return
        page: ErrorPage = starlette_app.state.error_page
        await page(scope, status, reason)(scope, receive, send)


async def _who(auth: Auth, scope: Scope) -> tuple[Person | None, str | None]:
    token = bearer(scope)
    if token is not None:
        return await auth.by_token(token), None
    session_id = cookies(scope).get(SESSION_COOKIE)
    if session_id:
        person = await auth.by_session(session_id)
        if person is not None:
            return person, session_id
    return None, None


class _Watching(NamedTuple):
    auth: Auth
    credential: Credential
    person: Person | None  # as the socket opened: its roles and sites
    sweeps: int  # Auth.sweeps when the handshake began


async def _watched(
    app: ASGIApp, watching: _Watching, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run the socket's app; if its credential ends meanwhile, or the person's roles or sites
    change, close the socket and tell the app it is gone (its next ``receive`` is a
    disconnect)."""
    auth, credential, person, sweeps = watching
    if person is None:  # a public socket (there is none yet): no credential to watch
        await app(scope, receive, send)
        return
    ended = asyncio.Event()
    why: list[Ending] = []
    closed = False

    def end(ending: Ending) -> None:
        why.append(ending)
        ended.set()

    async def guarded_send(message: Message) -> None:
        nonlocal closed
        if closed:
            return
        if message["type"] == "websocket.close":
            closed = True
        await send(message)

    async def guarded_receive() -> Message:
        nonlocal closed
        if not ended.is_set():
            incoming = asyncio.ensure_future(receive())
            stop = asyncio.ensure_future(ended.wait())
            done, _ = await asyncio.wait({incoming, stop}, return_when=asyncio.FIRST_COMPLETED)
            if incoming in done:
                stop.cancel()
                return incoming.result()
            incoming.cancel()
        ending = why[0] if why else ENDED
        if not closed:
            closed = True
            with contextlib.suppress(Exception):  # already gone: nothing to close
                close = {"type": "websocket.close", "code": ending.code, "reason": ending.reason}
                await send(close)
        return {"type": "websocket.disconnect", "code": ending.code}

    unwatch = auth.watch(credential, person, end, since=sweeps)
    try:
        await app(scope, guarded_receive, guarded_send)
    finally:
        unwatch()


def _json(scope: Scope) -> bool:
    kind = _header(scope, b"content-type").split(";")[0].strip().lower()
    return kind == "application/json"


def _same_origin(scope: Scope) -> bool:
    origin = _header(scope, b"origin")
    return not origin or urlsplit(origin).netloc == _header(scope, b"host")


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    chunks, messages, size = [], [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_FORM_BYTES:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
