"""A Web Push endpoint on loopback that stands in for a browser's push service (issue 13).

Browsers' push services are out of reach in tests, so the test plays both the push service and
the browser: it makes the subscription itself (its own P-256 key pair and auth secret, as a
browser would), hands it to central like the page does, and this server receives what central
sends and decrypts it (RFC 8291, ``aes128gcm``) with the subscription's private key — so a
test checks the text a phone would show, and that only that phone could read it.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece  # type: ignore[import-untyped]
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    text: str  # the decrypted payload


@dataclass
class PushEndpoint:
    url: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # requests that were not a valid push
    status: int = 201  # the answer to a valid push (404/410: "this subscription is gone")

    def subscription(self) -> dict[str, Any]:
        """What the page's ``PushSubscription.toJSON()`` would give for this endpoint."""
        public = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.url, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("content-encoding") != "aes128gcm":
            self.refused.append(f"content-encoding {headers.get('content-encoding')!r}")
            return web.Response(status=400)
        if not headers.get("authorization", "").startswith("vapid "):
            self.refused.append("no VAPID authorization")
            return web.Response(status=401)
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        self.received.append(Received(headers, plain.decode("utf-8")))
        return web.Response(status=self.status)

    async def wait(self, count: int = 1, timeout: float = 30) -> list[Received]:
        for _ in range(int(timeout / 0.05)):
            if len(self.received) >= count:
                return self.received
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} pushes not received in {timeout} s: {self.refused}")


@asynccontextmanager
async def push_endpoint() -> AsyncIterator[PushEndpoint]:
    """A push service on 127.0.0.1 (a free port) for the duration of the block."""
    endpoint = PushEndpoint(url="")
    app = web.Application()
    app.router.add_post("/push/{sub}", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    endpoint.url = f"http://127.0.0.1:{port}/push/sub-1"
    try:
        yield endpoint
    finally:
        await runner.cleanup()
