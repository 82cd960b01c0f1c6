"""A silent alarm that did not go, against a real ``trygg-central``: the desk is told at once
(refused, unconfirmed, or no connection), and one that went is never reported as failed."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from desktop.client import ClientEvent, Connected, DeskClient, HelpComing
from desktop.config import DeskSettings
from desktop.core import RaiseFailed, RaiseFailure, RaiseWatch
from desktop.headless import describe
from protocol.screen import RaiseRequest
from tests.support.broker import Broker
from tests.support.net import free_port
from tests.support.stack import Central, script

HOME, OTHER = "oslo-sentrum", "bergen"


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[Central]:
    c = Central(
        broker,
        tmp_path,
        {"kari": "Kari Nordmann"},
        sites=(HOME, OTHER),
        user_sites={"kari": (HOME,)},
    )
    c.start()
    try:
        yield c
    finally:
        c.stop()


def silent(site: str) -> RaiseRequest:
    return RaiseRequest.model_validate(
        {
            "alarm_id": str(uuid4()),
            "level": "acute",
            "site": site,
            "room": "Kontor 3.12",
            "raised_at": datetime.now(UTC).isoformat(),
        }
    )


class Running:
    def __init__(self, client: DeskClient) -> None:
        self.client = client
        self.events: list[ClientEvent] = []
        client.on_event(self.events.append)
        self.task = asyncio.create_task(client.run())

    async def wait(self, kind: type, timeout: float = 15) -> object:
        for _ in range(int(timeout / 0.02)):
            found = [e for e in self.events if isinstance(e, kind)]
            if found:
                return found[0]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {kind.__name__} in {timeout} s; events: {self.events}")


@pytest.fixture
async def kari(central: Central) -> AsyncIterator[Running]:
    settings = DeskSettings.model_validate(
        {"server": central.ws_url, "token": central.tokens["kari"]}
    )
    running = Running(DeskClient(settings, raise_watch=RaiseWatch(confirm_within_s=2.0)))
    try:
        yield running
    finally:
        await running.client.close()
        await asyncio.wait_for(running.task, 10)


async def test_a_raise_central_refuses_is_told_to_the_desk(kari: Running) -> None:
    await kari.wait(Connected)
    request = silent(OTHER)  # not kari's site: central refuses it
    kari.client.raise_alarm(request)
    failed = await kari.wait(RaiseFailed)
    assert failed == RaiseFailed(request.alarm_id, RaiseFailure.REFUSED, "not_your_site")
    assert describe(failed, kari.client.settings.server) == (
        f"silent alarm {request.alarm_id} did NOT go: central refused it (not_your_site). "
        "Get help another way: call 112, press the alarm button, or call a colleague."
    )


async def test_a_raise_that_went_is_never_reported_failed(kari: Running, central: Central) -> None:
    await kari.wait(Connected)
    request = silent(HOME)
    kari.client.raise_alarm(request)
    for _ in range(200):  # stored at central
        if any(a["alarm_id"] == str(request.alarm_id) for a in central.alarms("kari")):
            break
        await asyncio.sleep(0.05)
    # Confirmed: no deadline is left that could still turn into a failure.
    for _ in range(200):
        if not kari.client.raises.waiting:
            break
        await asyncio.sleep(0.02)
    assert kari.client.raises.waiting == frozenset()
    assert kari.client.raises.next_deadline() is None
    assert [e for e in kari.events if isinstance(e, RaiseFailed)] == []


async def test_central_frozen_the_raise_is_not_confirmed_in_time(
    kari: Running, central: Central
) -> None:
    await kari.wait(Connected)
    assert central.proc is not None
    os.kill(central.proc.pid, signal.SIGSTOP)
    try:
        request = silent(HOME)
        kari.client.raise_alarm(request)
        failed = await kari.wait(RaiseFailed)
        assert failed == RaiseFailed(request.alarm_id, RaiseFailure.NO_ANSWER)
    finally:
        os.kill(central.proc.pid, signal.SIGCONT)
    # Still queued: once central answers again it is stored, and help may come.
    for _ in range(400):
        if any(a["alarm_id"] == str(request.alarm_id) for a in central.alarms("kari")):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the unconfirmed raise never reached central")


async def test_no_connection_when_the_countdown_ends() -> None:
    settings = DeskSettings.model_validate(
        {"server": f"ws://127.0.0.1:{free_port()}/ws", "token": secrets.token_urlsafe(24)}
    )
    running = Running(DeskClient(settings))
    try:
        request = silent(HOME)
        running.client.raise_alarm(request)
        failed = await running.wait(RaiseFailed)
        assert failed == RaiseFailed(request.alarm_id, RaiseFailure.NOT_CONNECTED)
        assert describe(failed, settings.server) == (
            f"silent alarm {request.alarm_id} has NOT gone: no connection to central (it is "
            "sent when the connection is back). Get help another way: call 112, press the "
            "alarm button, or call a colleague."
        )
        assert not [e for e in running.events if isinstance(e, HelpComing)]
    finally:
        await running.client.close()
        await asyncio.wait_for(running.task, 10)


async def test_the_headless_desk_prints_a_line_when_its_silent_alarm_is_refused(
    central: Central, tmp_path: Path
) -> None:
    """A real ``trygg-desk --headless`` whose [location] is at a site not its user's."""
    config = tmp_path / "desk-kari.toml"
    config.write_text(
        f'server = "{central.ws_url}"\ntoken = "{central.tokens["kari"]}"\n'
        f'[location]\nsite = "{OTHER}"\nroom = "Kontor 3.12"\n'
    )
    desk = await asyncio.create_subprocess_exec(
        script("trygg-desk"),
        "--config",
        str(config),
        "--headless",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert desk.stdin is not None
    assert desk.stderr is not None
    seen: list[str] = []

    async def line_with(text: str) -> str:
        assert desk.stderr is not None
        while raw := await desk.stderr.readline():
            seen.append(raw.decode())
            if text in seen[-1]:
                return seen[-1]
        raise AssertionError(f"the desk never said {text!r}; it said:\n{''.join(seen)}")

    try:
        await asyncio.wait_for(line_with("connected to"), 30)
        desk.stdin.write(b"silent-alarm\n")
        await desk.stdin.drain()
        said = await asyncio.wait_for(line_with("did NOT go"), 30)
        assert said.rstrip().endswith(
            "did NOT go: central refused it (not_your_site). Get help another way: "
            "call 112, press the alarm button, or call a colleague."
        ), said
    finally:
        desk.terminate()
        await desk.wait()
