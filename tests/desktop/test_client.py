"""DeskClient in-process against a real websocket server: the API a window will build on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from http import HTTPStatus

import pytest
from pydantic import SecretStr

from desktop.client import ClientEvent, Connected, DeskClient, Disconnected, Refused
from desktop.config import DeskSettings
from desktop.core import AlarmEvent, Backoff, EventKind
from protocol.screen import CommandKind
from tests.desktop.fake_central import FakeCentral, eventually, make_alarm
from tests.support.net import free_port

TOKEN = "kari-Zk3q9VbX2mN7pL4sR8tW1yH6"


def settings(server: str, token: str = TOKEN) -> DeskSettings:
    return DeskSettings.model_validate({"server": server, "token": SecretStr(token)})


@pytest.fixture
async def central() -> AsyncIterator[FakeCentral]:
    server = FakeCentral({TOKEN: "kari"}, [make_alarm()])
    await server.start()
    yield server
    if server.running:
        await server.stop()


async def stop(client: DeskClient, runner: asyncio.Task[None]) -> None:
    await client.close()
    await asyncio.wait_for(runner, 10)


async def test_listeners_and_iterators_see_the_same_events_in_order(
    central: FakeCentral,
) -> None:
    client = DeskClient(settings(central.url))
    heard: list[ClientEvent] = []
    client.on_event(heard.append)
    stream = client.events()
    runner = asyncio.create_task(client.run())
    await eventually(lambda: client.connected and central.connections, "the connection")
    new = make_alarm()
    await central.raise_alarm(new)
    await eventually(lambda: len(heard) == 3, "hello, the snapshot's alarm and the new one")
    await stop(client, runner)

    iterated = [event async for event in stream]  # ends when the client stops
    assert iterated == heard
    assert isinstance(heard[0], Connected)
    assert heard[0].hello.user == "kari"
    assert [(e.kind, e.alarm.alarm_id) for e in heard[1:] if isinstance(e, AlarmEvent)] == [
        (EventKind.ACTIVE, next(iter(central.alarms))),
        (EventKind.ALARM, new.alarm_id),
    ]
    assert not client.connected


async def test_a_command_given_while_disconnected_is_sent_on_connecting(
    central: FakeCentral,
) -> None:
    await central.stop()
    client = DeskClient(settings(central.url), backoff=Backoff(initial_s=0.05, maximum_s=0.2))
    alarm_id = next(iter(central.alarms))
    client.command(CommandKind.COMING, alarm_id)
    heard: list[ClientEvent] = []
    client.on_event(heard.append)
    runner = asyncio.create_task(client.run())
    await eventually(lambda: heard, "a failed attempt")
    assert isinstance(heard[0], Disconnected)
    await central.start()
    await eventually(lambda: central.received(CommandKind.COMING, alarm_id), "the queued coming")
    await stop(client, runner)
    assert len(central.received(CommandKind.COMING)) == 1


async def test_bad_frames_are_counted_and_the_connection_stays(central: FakeCentral) -> None:
    client = DeskClient(settings(central.url))
    heard: list[ClientEvent] = []
    client.on_event(heard.append)
    runner = asyncio.create_task(client.run())
    await eventually(lambda: central.connections, "the connection")
    await central.send_raw("{not json")
    await central.send_raw('{"type": "alarm", "alarm": {"room": "no id"}}')
    after = make_alarm()
    await central.raise_alarm(after)
    await eventually(
        lambda: any(isinstance(e, AlarmEvent) and e.alarm == after for e in heard), "the alarm"
    )
    assert client.core.counters == {"bad_frame.invalid_message": 2}
    assert central.accepted == 1  # never dropped the socket
    await stop(client, runner)


async def test_unreachable_central_is_retried_with_growing_delays() -> None:
    client = DeskClient(
        settings(f"ws://127.0.0.1:{free_port()}/ws"),
        backoff=Backoff(initial_s=0.01, maximum_s=0.04),
        jitter=lambda: 0.5,
    )
    heard: list[ClientEvent] = []
    client.on_event(heard.append)
    runner = asyncio.create_task(client.run())
    await eventually(lambda: len(heard) >= 4, "four failed attempts")
    await stop(client, runner)
    assert all(isinstance(e, Disconnected) for e in heard)
    assert [e.retry_in_s for e in heard[:4] if isinstance(e, Disconnected)] == [
        0.01,
        0.02,
        0.04,
        0.04,
    ]
    assert isinstance(heard[0], Disconnected)
    assert "cannot reach central" in heard[0].reason


async def test_a_refused_token_waits_the_long_delay_and_other_statuses_do_not(
    central: FakeCentral,
) -> None:
    refused = DeskClient(settings(central.url, token="wrong-" + TOKEN), jitter=lambda: 0.5)
    heard: list[ClientEvent] = []
    refused.on_event(heard.append)
    runner = asyncio.create_task(refused.run())
    await eventually(lambda: heard, "the refusal")
    assert heard == [Refused(status=403, retry_in_s=30.0)]
    await stop(refused, runner)  # close() also cuts the long wait short

    central.refuse_with = HTTPStatus.SERVICE_UNAVAILABLE
    failing = DeskClient(settings(central.url, token="wrong-" + TOKEN), jitter=lambda: 0.5)
    heard.clear()
    failing.on_event(heard.append)
    runner = asyncio.create_task(failing.run())
    await eventually(lambda: heard, "the failure")
    await stop(failing, runner)
    [event] = heard
    assert isinstance(event, Disconnected)
    assert "HTTP 503" in event.reason
    assert event.retry_in_s == 0.5
