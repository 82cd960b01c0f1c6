"""Transport hardening for every answer central gives: security headers, HSTS, __Host- cookies.

Why a middleware, outermost: headers set by a page renderer miss everything else (JSON, CSV,
PDF, static files, the guard's own 401s and redirects), and a browser honours them only where
they are. So one ASGI layer, wrapped around the guard, stamps every HTTP response:

- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY`` and a Content-Security-Policy (pages keep their own, richer one;
  anything else gets ``default-src 'none'; frame-ancestors 'none'``);
- when the site is served over HTTPS (``web.secure_cookies``, on by itself with central's own
  TLS): ``Strict-Transport-Security``, and every cookie becomes ``__Host-<name>; Secure;
  Path=/`` without a Domain. The browser then refuses a cookie of that name set over plain
  HTTP or by a sibling host, so a guest-network attacker cannot plant a session (login CSRF or
  fixation). Incoming, only the prefixed cookies are read, with the prefix taken off, so the
  rest of central keeps one set of cookie names whether TLS is on or not.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOST_PREFIX = "__Host-"
# The console's pages: their own scripts, styles and sockets only, never framed.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
)
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"

ALWAYS = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
)


def tile_source(tile_url: str | None) -> str | None:
    """The CSP source of a map tile server (``[map] tile_url``): its scheme and host, with
    Leaflet's ``{s}`` subdomain as a wildcard; None without one."""
    if not tile_url:
        return None
    scheme, _, rest = tile_url.partition("://")
    host = rest.split("/", 1)[0].replace("{s}", "*")
    return f"{scheme}://{host}"


def page_policy(img_source: str | None = None) -> str:
    """The pages' policy; ``img_source`` (the map's tiles) may be shown as images too."""
    if img_source is None:
        return PAGE_POLICY
    return PAGE_POLICY.replace("img-src 'self' data:;", f"img-src 'self' data: {img_source};")


def host_cookie(set_cookie: str) -> str:
    """A ``Set-Cookie`` value as a ``__Host-`` cookie: prefixed, Secure, Path=/, no Domain."""
    first, *attributes = [part.strip() for part in set_cookie.split(";")]
    name, _, value = first.partition("=")
    if not name.startswith(HOST_PREFIX):
        name = HOST_PREFIX + name
    kept = [a for a in attributes if a and a.split("=")[0].strip().lower() not in _REPLACED]
    return "; ".join([f"{name}={value}", *kept, "Path=/", "Secure"])


_REPLACED = frozenset({"domain", "path", "secure"})


def unprefixed_cookies(header: str) -> str:
    """A request's ``Cookie`` header with only the ``__Host-`` cookies, prefix removed."""
    kept = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.startswith(HOST_PREFIX):
            kept.append(f"{name.removeprefix(HOST_PREFIX)}={value}")
    return "; ".join(kept)


class Hardening:
    """ASGI middleware; ``secure``: served over HTTPS, so HSTS and ``__Host-`` cookies."""

    def __init__(self, app: ASGIApp, *, secure: bool, hsts_max_age_s: int) -> None:
        self.app = app
        self.secure = secure
        self.hsts = f"max-age={hsts_max_age_s}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.secure:
            scope = dict(scope)
            scope["headers"] = [
                (name, unprefixed_cookies(value.decode("latin-1")).encode("latin-1"))
                if name == b"cookie"
                else (name, value)
                for name, value in scope.get("headers", [])
            ]
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS:
                    headers[name] = value
                if "content-security-policy" not in headers:
                    html = headers.get("content-type", "").startswith("text/html")
                    headers["content-security-policy"] = PAGE_POLICY if html else OTHER_POLICY
                if self.secure:
                    headers["strict-transport-security"] = self.hsts
                    cookies = headers.getlist("set-cookie")
                    if cookies:
                        del headers["set-cookie"]
                        for cookie in cookies:
                            headers.append("set-cookie", host_cookie(cookie))
            await send(message)

        await self.app(scope, receive, stamped)
