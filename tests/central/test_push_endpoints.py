"""central.push_endpoints: which Web Push endpoints central posts to (issue 13's SSRF guard).
The URL check by exact equality; the send-time guard on a real resolver and a real socket: a
name that resolves to loopback is refused, and so is a literal private address, before a
single byte is sent to it."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from central.push_endpoints import PushRefused, public_session, refusal


def test_only_public_https_endpoints_pass_unless_private_ones_are_allowed() -> None:
    cases = {
        "https://fcm.googleapis.com/fcm/send/abc": None,
        "https://push.example:8443/p": None,  # a name: judged when the push is sent
        "https://93.184.216.34/p": None,
        "http://fcm.googleapis.com/p": "the push endpoint must be https",
        "ftp://push.example/p": "the push endpoint must be https",
        "https:///p": "the push endpoint has no host",
        "https://push.example:99999/p": "the push endpoint is not a valid URL",
        "https://127.0.0.1/p": "the push endpoint's address 127.0.0.1 is not public",
        "https://172.16.0.5/p": "the push endpoint's address 172.16.0.5 is not public",
        "https://100.64.0.1/p": "the push endpoint's address 100.64.0.1 is not public",
        "https://[fe80::1]/p": "the push endpoint's address fe80::1 is not public",
        "https://[ff02::1]/p": "the push endpoint's address ff02::1 is not public",
        "https://[::]/p": "the push endpoint's address :: is not public",
    }
    assert {url: refusal(url, allow_private=False) for url in cases} == cases
    allowed = {
        "http://127.0.0.1:9/p": None,
        "https://10.0.0.1/p": None,
        "ftp://127.0.0.1/p": "the push endpoint must be https",
    }
    assert {url: refusal(url, allow_private=True) for url in allowed} == allowed


async def _listener() -> tuple[asyncio.Server, int, list[bytes]]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(100))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_a_loopback_endpoint_is_refused_when_the_push_is_sent(host: str) -> None:
    server, port, seen = await _listener()
    async with server, public_session() as session:
        # PushRefused, or (from the resolver) aiohttp's connector error around it
        with pytest.raises((PushRefused, aiohttp.ClientConnectorError)) as refused:
            await session.post(f"https://{host}:{port}/p", data=b"x")
        cause = refused.value if host == "127.0.0.1" else refused.value.__cause__
        assert isinstance(cause, PushRefused)
        assert str(cause).endswith("not public"), cause
        await asyncio.sleep(0.05)
    assert seen == []  # nothing reached the listener
