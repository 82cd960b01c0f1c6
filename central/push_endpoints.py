"""Which Web Push endpoints central will post to (issue 13, the visit timer's push).

Why a module of its own: the endpoint comes from the phone (its ``PushSubscription``), and
central posts to it when a visit is overdue — a moment the employee controls. Unchecked, that
is a request from inside the network to any address a user names (SSRF). So only ``https``
endpoints on public addresses are accepted: a literal IP is judged when the subscription is
handed over (``refusal``), a name when the push is sent — by the session's resolver, on the
very addresses it connects to (no second lookup to rebind), and on every redirect
(``public_session``). ``[visits] push_allow_private = true`` lifts both (and allows ``http``),
for tests and closed installations whose push service is on the local network.
"""

from __future__ import annotations

import ipaddress
import socket
from types import SimpleNamespace
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver


class PushRefused(OSError):
    """A push endpoint central will not post to (the reason is the message)."""


def internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, multicast, unspecified or otherwise not global."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
    )


def refusal(endpoint: str, allow_private: bool) -> str | None:
    """Why central will not post to ``endpoint``, or None. A name is judged at send time."""
    try:
        url = urlsplit(endpoint)
        url.port  # noqa: B018 (a bad port raises)
    except ValueError:
        return "the push endpoint is not a valid URL"
    if url.scheme != "https" and not (allow_private and url.scheme == "http"):
        return "the push endpoint must be https"
    host = url.hostname
    if not host:
        return "the push endpoint has no host"
    if allow_private:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if internal(address):
        return f"the push endpoint's address {host} is not public"
    return None


class _PublicResolver(AbstractResolver):
    """Resolves as usual, and refuses a name if any of its addresses is not public."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for result in found:
            if internal(ipaddress.ip_address(result["host"])):
                raise PushRefused(f"push endpoint {host} resolves to {result['host']}, not public")
        return found

    async def close(self) -> None:
        await self._inner.close()


async def _each_request(
    _session: aiohttp.ClientSession,
    _context: SimpleNamespace,
    params: aiohttp.TraceRequestStartParams,
) -> None:
    """Every request of the session, a redirect's too (a literal IP skips the resolver)."""
    reason = refusal(str(params.url), allow_private=False)
    if reason is not None:
        raise PushRefused(reason)


def public_session() -> aiohttp.ClientSession:
    """A session that posts only to public ``https`` addresses."""
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_each_request)
    connector = aiohttp.TCPConnector(resolver=_PublicResolver())
    return aiohttp.ClientSession(connector=connector, trace_configs=[trace])
