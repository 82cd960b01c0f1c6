"""An open socket follows its person's roles and sites: when an admin changes them (the
``trygg-central user`` CLI, or the console's form), central closes the sockets opened under the
old ones (code 4012, "access changed") and the desk, reconnecting at once as after any close,
comes back with the new ones. Real parts: one central on a real socket for the module, a real
Mosquitto and an MQTT "edge" raising alarms, raw websocket screens, the real desk client, the
real CLI code on its own database connection while central runs, the console's form with a
signed-in admin.

What is proved: a responder's stale socket could still answer alarms; after the CLI takes the
role away the socket is closed and the reconnected one is refused "I'm coming". A site taken
away: the reconnected desk no longer gets that site's alarms (the hub has no screen of it
there, and the next alarm it gets is the other site's). A site added: the desk client says
"reconnecting" (never "not receiving", never "refused"), comes back with both sites, and the
new site's active alarm is in its snapshot and its next alarm reaches it. The console's form:
the desk's socket is closed likewise, and the console's own board socket of that person ends
with their session (4401). And a socket whose person was read just before a sweep it missed
is checked again (``Auth.watch``'s ``since``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
import sqlite_utils
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from central import cli
from central.auth.service import RESCOPED, REVOKED, Auth, Credential, Ending, verdict
from central.core import Person, Role
from central.store import accounts as rows
from desktop.client import ClientEvent, Connected, DeskClient, Disconnected, Refused
from desktop.config import DeskSettings
from desktop.core import AlarmEvent, EventKind
from desktop.core.presence import Presence, PresenceTracker
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    Command,
    CommandKind,
    ErrorFrame,
    Hello,
    Snapshot,
    encode_frame,
)
from tests.central.helpers import (
    OTHER_SITE,
    SITE,
    Running,
    alarm_message,
    frame_of,
    mqtt_tester,
    next_ack,
    next_frame,
    publish,
    serve,
    until,
)
from tests.support.broker import Broker
from tests.web.console import console_settings, csrf_in, log_in, password_hash

in_module_loop = pytest.mark.asyncio(loop_scope="module")  # the module's central's loop

CLOSE_WITHIN_S = 10.0  # the sweep polls every second; this bounds the wait, never asserted


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def central(
    module_broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    tmp = tmp_path_factory.mktemp("central")
    async with serve(console_settings(module_broker, tmp)) as running:
        yield running


@pytest.fixture(scope="module")
def config(central: Running, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The central's config as a file, for the CLI (which works on the same database)."""
    settings = central.settings
    m = settings.mqtt
    lines = [
        f'[mqtt]\nhost = "{m.host}"\nport = {m.port}\npassword = "{m.password}"',
        f'[store]\npath = "{settings.store.path}"',
        "[registry]\nopen = true",
    ]
    for site in settings.sites:
        lines.append(f'[[sites]]\nid = "{site.id}"\nname = "{site.name}"')
    for user in settings.users:
        sites = ", ".join(f'"{s}"' for s in user.sites)
        lines.append(
            f'[[users]]\nid = "{user.id}"\nname = "{user.name}"\ntoken = "{user.token}"\n'
            f"sites = [{sites}]"
        )
    path = tmp_path_factory.mktemp("config") / "central.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def account(
    running: Running, user_id: str, roles: Iterable[Role], sites: Iterable[str]
) -> str:
    """A database account (password ``console.PASSWORD``) with a desk token; the token."""
    central = running.central
    found = rows.Account(
        user_id, user_id.title(), password_hash(), frozenset(roles), frozenset(sites)
    )
    token = f"desk-{user_id}-token-4b7e1c9a2f6d"
    now = central.clock()

    def write(db: sqlite_utils.Database) -> None:
        rows.save_account(db, found, now)
        rows.add_token(db, user_id, token, "desk", now)

    await central.store.submit(write)
    return token


async def user_cli(config: Path, *argv: str) -> int:
    """``trygg-central user ...`` as an admin runs it, on its own thread and database
    connection while central keeps serving."""
    return await asyncio.to_thread(cli.main, ["user", *argv, "--config", str(config)])


async def desk(running: Running, token: str) -> tuple[ClientConnection, Hello]:
    """A screen's socket, past its hello and snapshot."""
    ws = await connect(
        running.ws, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5
    )
    hello = await next_frame(ws)
    assert isinstance(hello, Hello)
    assert isinstance(await next_frame(ws), Snapshot)
    return ws, hello


async def closed(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read until central closes the socket: its close code and reason."""
    try:
        async with asyncio.timeout(CLOSE_WITHIN_S):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return ws.close_code, ws.close_reason
    except TimeoutError:
        raise AssertionError("central did not close the socket") from None


async def raise_at(broker: Broker, site: str, device: str) -> UUID:
    """An alarm at ``site`` from an edge, once central has stored it (the edge's ack): its
    fan-out to the screens was queued before that."""
    message = alarm_message(device=device, site=site)
    async with mqtt_tester(broker) as edge:
        await edge.subscribe(f"trygg/v1/{site}/{device}/ack", qos=1)
        await publish(edge, message)
        await next_ack(edge, alarm_id=str(message.alarm_id), state="received")
    return message.alarm_id


def auth_of(running: Running) -> Auth:
    found: Auth = running.server.config.loaded_app.app.state.auth
    return found


async def first_alarm(ws: ClientConnection) -> AlarmNew:
    """The next new alarm this screen gets (pings answered, other frames skipped)."""
    while True:
        frame = await next_frame(ws)
        if isinstance(frame, AlarmNew):
            return frame


# --- the pure verdict ---------------------------------------------------------------------


def test_the_verdict_closes_for_a_lost_credential_and_for_changed_roles_or_sites() -> None:
    kari = Person("kari", "Kari", "", frozenset({SITE}), frozenset({Role.RESPONDER}))
    assert verdict(kari, kari) is None
    renamed = Person("kari", "Kari N.", "", kari.sites, kari.roles)
    assert verdict(kari, renamed) is None  # a name is not access
    assert verdict(kari, None) is REVOKED
    fewer = Person("kari", "Kari", "", kari.sites, frozenset({Role.EMPLOYEE}))
    assert verdict(kari, fewer) is RESCOPED
    moved = Person("kari", "Kari", "", frozenset({OTHER_SITE}), kari.roles)
    assert verdict(kari, moved) is RESCOPED
    wider = Person("kari", "Kari", "", frozenset({SITE, OTHER_SITE}), kari.roles)
    assert verdict(kari, wider) is RESCOPED
    assert (REVOKED.code, RESCOPED.code) == (4401, 4012)


# --- the CLI ------------------------------------------------------------------------------


@in_module_loop
async def test_the_cli_takes_the_responder_role_and_the_reconnected_desk_cannot_answer(
    central: Running, config: Path, module_broker: Broker
) -> None:
    token = await account(central, "rolf", {Role.RESPONDER}, {SITE})
    ws, _ = await desk(central, token)
    # As a responder, this socket answers an alarm of its site.
    first = await raise_at(module_broker, SITE, "rom-roles-1")
    assert (await frame_of(ws, AlarmNew, alarm_id=first)).alarm.site == SITE
    await ws.send(encode_frame(Command(type=CommandKind.COMING, alarm_id=first)))
    answered = await frame_of(ws, AlarmUpdate, alarm_id=first, state=AlarmState.ACKNOWLEDGED)
    assert [r.user for r in answered.alarm.responders] == ["rolf"]

    assert await user_cli(config, "role", "rolf", "--roles", "employee") == 0
    assert await closed(ws) == (RESCOPED.code, RESCOPED.reason)

    again, hello = await desk(central, token)
    assert hello.user == "rolf"
    [screen] = [s for s in central.central.hub.all_screens() if s.person.user_id == "rolf"]
    assert screen.person.roles == {Role.EMPLOYEE}
    # An employee's desk still gets its site's alarms (alarms go by site) ...
    second = await raise_at(module_broker, SITE, "rom-roles-2")
    assert (await frame_of(again, AlarmNew, alarm_id=second)).alarm.site == SITE
    # ... but may no longer answer them: the socket carries the new roles.
    await again.send(encode_frame(Command(type=CommandKind.COMING, alarm_id=second)))
    refused = await frame_of(again, ErrorFrame)
    assert refused.reason.startswith("forbidden"), refused.reason
    await again.close()


@in_module_loop
async def test_the_cli_moves_a_desk_to_another_site_and_the_old_sites_alarms_stop(
    central: Running, config: Path, module_broker: Broker
) -> None:
    token = await account(central, "siri", {Role.RESPONDER}, {SITE})
    ws, hello = await desk(central, token)
    assert hello.sites == (SITE,)
    # An unknown site: refused, nothing changed, the socket stays open.
    assert await user_cli(config, "sites", "siri", "--sites", f"{OTHER_SITE},narvik") == 1
    found = await central.central.read(lambda db: rows.account(db, "siri"))
    assert found is not None
    assert found.sites == {SITE}
    gets = await raise_at(module_broker, SITE, "rom-sites-1")
    assert (await frame_of(ws, AlarmNew, alarm_id=gets)).alarm.site == SITE

    assert await user_cli(config, "sites", "siri", "--sites", OTHER_SITE) == 0
    assert await closed(ws) == (RESCOPED.code, RESCOPED.reason)

    again, hello = await desk(central, token)
    assert hello.sites == (OTHER_SITE,)
    assert "siri" not in {s.person.user_id for s in central.central.hub.screens(SITE)}
    missed = await raise_at(module_broker, SITE, "rom-sites-2")
    reaches = await raise_at(module_broker, OTHER_SITE, "rom-sites-3")
    # Frames reach a screen in the order they were sent: had the first alarm gone to this
    # screen, it would come before the second.
    got = await first_alarm(again)
    assert got.alarm.alarm_id == reaches != missed
    await again.close()


@in_module_loop
async def test_a_site_added_reaches_the_desk_client_after_a_quiet_reconnect(
    central: Running, config: Path, module_broker: Broker
) -> None:
    token = await account(central, "tor", {Role.RESPONDER}, {SITE})
    settings = DeskSettings.model_validate({"server": central.ws, "token": SecretStr(token)})
    client = DeskClient(settings)
    heard: list[ClientEvent] = []
    client.on_event(heard.append)
    runner = asyncio.create_task(client.run())
    try:
        await until(lambda: any(isinstance(e, Connected) for e in heard), what="the desk")
        waiting = await raise_at(module_broker, OTHER_SITE, "rom-added-1")  # not its site yet

        assert await user_cli(config, "sites", "tor", "--sites", f"{SITE},{OTHER_SITE}") == 0

        def hellos() -> list[Connected]:
            return [e for e in heard if isinstance(e, Connected)]

        await until(lambda: len(hellos()) == 2, what="the desk to reconnect")
        assert hellos()[0].hello.sites == (SITE,)
        assert set(hellos()[1].hello.sites) == {SITE, OTHER_SITE}
        # The new site's active alarm is in the reconnected desk's snapshot ...
        await until(
            lambda: any(isinstance(e, AlarmEvent) and e.alarm.alarm_id == waiting for e in heard),
            what="the new site's active alarm",
        )
        # Only from the snapshot: the desk never had it as a new alarm before the change.
        told = [e.kind for e in heard if isinstance(e, AlarmEvent) and e.alarm.alarm_id == waiting]
        assert told == [EventKind.ACTIVE]
        # ... and its next alarm reaches the desk as a new one.
        new = await raise_at(module_broker, OTHER_SITE, "rom-added-2")
        await until(
            lambda: any(isinstance(e, AlarmEvent) and e.alarm.alarm_id == new for e in heard),
            what="the new site's new alarm",
        )
        told = [e.kind for e in heard if isinstance(e, AlarmEvent) and e.alarm.alarm_id == new]
        assert told[0] is EventKind.ALARM  # popped up (its later updates follow)
    finally:
        await client.close()
        await asyncio.wait_for(runner, 10)
    # One brief close, not silent, never refused: the desk said "reconnecting", not a fault.
    dropped = [e for e in heard if isinstance(e, Disconnected)]
    assert len(dropped) == 1
    assert not dropped[0].silent
    assert str(RESCOPED.code) in dropped[0].reason
    assert not [e for e in heard if isinstance(e, Refused)]
    presence = PresenceTracker(datetime.now(UTC))
    states = []
    for event in heard:
        if isinstance(event, Connected):
            presence.connected(datetime.now(UTC))
        elif isinstance(event, Disconnected):
            presence.lost(event.reason, datetime.now(UTC), silent=event.silent)
        states.append(presence.state)
    assert Presence.RECONNECTING in states
    assert Presence.NOT_RECEIVING not in states
    assert states[-1] is Presence.CONNECTED


# --- the console --------------------------------------------------------------------------


@in_module_loop
async def test_the_console_role_form_closes_the_desk_and_the_persons_board(
    central: Running,
) -> None:
    await account(central, "ada", {Role.ADMIN}, {"*"})
    token = await account(central, "una", {Role.RESPONDER, Role.LEADER}, {SITE})
    signed_in = await asyncio.gather(log_in(central.http, "ada"), log_in(central.http, "una"))
    assert [a.status_code for a in signed_in] == [303, 303]
    admin_session, una_session = (a.cookies["trygg_session"] for a in signed_in)
    ws, _ = await desk(central, token)
    board = await connect(
        central.http.replace("http", "ws") + "/board/feed",
        additional_headers={"Cookie": f"trygg_session={una_session}"},
        open_timeout=5,
    )
    async with httpx.AsyncClient(
        base_url=central.http, cookies={"trygg_session": admin_session}, timeout=10
    ) as admin:
        page = await admin.get("/admin/users")
        assert page.status_code == 200
        answer = await admin.post(
            "/admin/users/una/roles", data={"roles": "responder", "csrf": csrf_in(page.text)}
        )
        assert answer.status_code == 303, answer.text
    assert await closed(ws) == (RESCOPED.code, RESCOPED.reason)
    assert (await closed(board))[0] == REVOKED.code  # the role change ended her session
    again, hello = await desk(central, token)  # the token lives: the desk is back at once
    assert hello.user == "una"
    [screen] = [s for s in central.central.hub.all_screens() if s.person.user_id == "una"]
    assert screen.person.roles == {Role.RESPONDER}
    await again.close()


# --- a change the handshake's read just missed --------------------------------------------


@in_module_loop
async def test_a_socket_registered_after_a_sweep_it_missed_is_checked_again(
    central: Running,
) -> None:
    token = await account(central, "nils", {Role.RESPONDER}, {SITE})
    auth = auth_of(central)
    before = auth.sweeps
    # The handshake read nils as a leader (before a change); a sweep ran before it registered.
    await auth.sweep()
    stale = Person("nils", "Nils", "", frozenset({SITE}), frozenset({Role.LEADER}))
    ended: list[Ending] = []
    unwatch = auth.watch(Credential("token", token), stale, ended.append, since=before)
    try:
        await until(lambda: bool(ended), what="the late socket to be checked")
        assert ended == [RESCOPED]
    finally:
        unwatch()
    # Registered with nothing missed, and as it is: not closed by a sweep.
    kept: list[Ending] = []
    current = Person("nils", "Nils", "", frozenset({SITE}), frozenset({Role.RESPONDER}))
    unwatch = auth.watch(Credential("token", token), current, kept.append, since=auth.sweeps)
    try:
        await auth.sweep()
        assert kept == []
    finally:
        unwatch()
