"""A central for self-test tests: a test screen, a facility manager, short edges. Used by
tests/e2e/test_selftest*.py (real processes) and tests/central (in-process)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.support.broker import Broker
from tests.support.stack import SITE, Central

# kari and ola answer alarms; frida is the facility manager; "testskjerm" is the site's test
# screen (a headless desk in the tests).
USERS = {
    "kari": "Kari Nordmann",
    "ola": "Ola Hansen",
    "frida": "Frida Forvalter",
    "testskjerm": "Testskjerm Oslo",
}
MANAGER = "frida"
TEST_SCREEN = "testskjerm"


class SelftestCentral(Central):
    """``trygg-central`` whose config marks roles and the site's test screen."""

    def __init__(self, broker: Broker, workdir: Path) -> None:
        super().__init__(broker, workdir, USERS)
        text = self.config.read_text()
        text = text.replace(
            f'[[sites]]\nid = "{SITE}"\nname = "Site {SITE}"\n',
            f'[[sites]]\nid = "{SITE}"\nname = "Site {SITE}"\ntest_screen = "{TEST_SCREEN}"\n',
        )
        text = text.replace(
            f'id = "{MANAGER}"\nname = "{USERS[MANAGER]}"\n',
            f'id = "{MANAGER}"\nname = "{USERS[MANAGER]}"\n'
            'roles = ["responder", "facility_manager"]\n',
        )
        self.config.write_text(text)

    def api(self, method: str, path: str, user: str = MANAGER, **kwargs: Any) -> Any:
        reply = httpx.request(
            method,
            f"{self.url}{path}",
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
            timeout=10,
            **kwargs,
        )
        reply.raise_for_status()
        return reply.json() if "json" in reply.headers.get("content-type", "") else reply.text

    async def poll(
        self, fetch: Callable[[], Any], done: Callable[[Any], bool], within: float = 20
    ) -> Any:
        """Bounded polling of the API (the test log has no push of its own)."""
        deadline = time.monotonic() + within
        while True:
            value = await asyncio.to_thread(fetch)
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {within} s: {value}\n{self.logs()}")
            await asyncio.sleep(0.1)

    async def device_online(self, device: str, within: float = 20) -> dict[str, Any]:
        def fetch() -> list[dict[str, Any]]:
            return list(self.api("GET", "/api/devices")["devices"])

        found = await self.poll(
            fetch,
            lambda ds: any(d["device"] == device and d["state"] == "online" for d in ds),
            within,
        )
        return next(d for d in found if d["device"] == device)

    def run_schedule(self, schedule: str, deadline_s: float = 5.0, **query: str) -> list[str]:
        params = {"site": SITE, "deadline_s": str(deadline_s), **query}
        return list(self.api("POST", f"/api/schedules/{schedule}/run", params=params)["runs"])

    async def finished_run(self, run_id: str, within: float = 20) -> dict[str, Any]:
        return dict(
            await self.poll(
                lambda: self.api("GET", f"/api/tests/{run_id}"),
                lambda run: run["result"] != "open",
                within,
            )
        )

    async def screen(self, user: str) -> ClientConnection:
        """A raw websocket screen (e.g. the facility manager's console), hello read."""
        socket = await connect(
            self.ws_url, additional_headers={"Authorization": f"Bearer {self.tokens[user]}"}
        )
        hello = json.loads(await socket.recv())
        assert hello["type"] == "hello"
        assert hello["user"] == user
        return socket


def edge_password() -> str:
    return f"edge-{secrets.token_hex(8)}"
