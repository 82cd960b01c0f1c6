"""State that heals itself, with real processes: ``trygg-central``, Mosquitto, a headless desk,
and a device played over MQTT exactly as docs/protocol.md describes it.

- a "resolved" ack lost while the device was away is sent again when its status or heartbeat
  lists the alarm (state sync);
- a press after the resolution (the same ``alarm_id``, ``presses=2``) is a new alarm on the
  desk's screen, once, however often it is re-sent;
- a resolution whose write failed on a full disk is retried until stored, and a restart does
  not bring the alarm back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import aiomqtt

from central.core import successor_id
from protocol import HeartbeatMessage, StatusMessage, encode
from protocol.messages import Health, HeldAlarm, HeldState
from tests.central.helpers import alarm_message, mqtt_tester, next_ack, publish
from tests.support.broker import Broker
from tests.support.small_disk import fill, mount_small_disk
from tests.support.stack import SITE, Central, Desk

DEVICE = "rom-101"
ACKS = f"trygg/v1/{SITE}/{DEVICE}/ack"


def health(*held: HeldAlarm) -> Health:
    return Health(uptime_s=1.0, outputs={"desk": "off"}, inputs=("desk",), alarms=held)


async def say_online(edge: aiomqtt.Client, *held: HeldAlarm) -> None:
    status = StatusMessage(
        site=SITE, device=DEVICE, state="online", at=datetime.now(UTC), health=health(*held)
    )
    topic, payload = encode(status)
    await edge.publish(topic, payload, qos=1, retain=True)


async def heartbeat(edge: aiomqtt.Client, *held: HeldAlarm) -> None:
    beat = HeartbeatMessage(
        site=SITE, device=DEVICE, at=datetime.now(UTC), interval_s=10, health=health(*held)
    )
    topic, payload = encode(beat)
    await edge.publish(topic, payload, qos=1)  # QoS 1: in order with the alarms that follow


async def acks_until(edge: aiomqtt.Client, alarm_id: UUID) -> list[dict[str, Any]]:
    """Every ack up to and including the first one for ``alarm_id`` (a marker alarm)."""
    seen = []
    while True:
        ack = await next_ack(edge)
        seen.append(ack)
        if ack["alarm_id"] == str(alarm_id):
            return seen


async def poll(check: Callable[[], Awaitable[bool] | bool], what: str, within: float = 20) -> None:
    for _ in range(int(within / 0.05)):
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row(central: Central, alarm_id: UUID) -> dict[str, Any]:
    [alarm] = [a for a in central.alarms("ola") if a["alarm_id"] == str(alarm_id)]
    return alarm


@asynccontextmanager
async def device(broker: Broker) -> AsyncIterator[aiomqtt.Client]:
    async with mqtt_tester(broker) as edge:
        await edge.subscribe(ACKS, qos=1)
        yield edge


@asynccontextmanager
async def running(
    broker: Broker, workdir: Path, store: Path | None = None
) -> AsyncIterator[tuple[Central, Desk]]:
    # A facility manager may read the health details (screens) that wait_screens polls.
    roles: dict[str, tuple[str, ...]] = {"ola": ("responder", "facility_manager")}
    central = Central(broker, workdir, {"ola": "Ola Nordmann"}, roles=roles)
    if store is not None:
        text = central.config.read_text().replace(str(workdir / "central.db"), str(store))
        central.config.write_text(text)
    central.start()
    desk = Desk(central, "ola", workdir)
    try:
        await desk.start()
        await central.wait_screens(1)
        yield central, desk
    finally:
        await desk.stop()
        central.stop()


async def test_lost_resolved_is_resent_and_a_later_press_is_one_new_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    async with running(broker, tmp_path) as (central, desk):
        first = alarm_message(DEVICE)
        async with device(broker) as edge:
            await publish(edge, first)
            assert (await next_ack(edge, alarm_id=str(first.alarm_id)))["state"] == "received"
        # The device is away (no session): the "resolved" ack goes nowhere.
        await desk.wait_for(lambda ln: ln.get("alarm_id") == str(first.alarm_id))
        await desk.send(f"resolve {first.alarm_id}")
        await poll(lambda: row(central, first.alarm_id)["state"] == "resolved", "resolution")

        held = HeldAlarm(alarm_id=first.alarm_id, input="desk", state=HeldState.RECEIVED)
        async with device(broker) as edge:
            await say_online(edge, held)  # back: it still shows "received"
            ack = await next_ack(edge, alarm_id=str(first.alarm_id))
            assert (ack["state"], ack["presses"], ack["input"]) == ("resolved", 1, "desk")
            await heartbeat(edge, held)  # and every heartbeat that lists it hears it again
            ack = await next_ack(edge, alarm_id=str(first.alarm_id))
            assert (ack["state"], ack["input"]) == ("resolved", "desk")

            # A press that the device, not knowing, sends as a re-press: a new alarm, once.
            follow = successor_id(first.alarm_id)
            again = first.model_copy(update={"presses": 2})
            for _ in range(3):
                await publish(edge, again)
            # Each resend hears the old alarm's "resolved"; the new one is acked once stored
            # (and again for each resend that comes after that).
            old: list[str] = []
            new: list[dict[str, Any]] = []
            while len(old) < 3 or not new:
                ack = await next_ack(edge)
                if ack["alarm_id"] == str(first.alarm_id):
                    old.append(ack["state"])
                else:
                    assert ack["alarm_id"] == str(follow), ack
                    new.append(ack)
            assert old == ["resolved"] * 3
            assert {(a["state"], a["presses"], a["input"]) for a in new} == {
                ("received", 1, "desk")
            }
            line = await desk.wait_for(
                lambda ln: ln["event"] == "alarm" and ln.get("alarm_id") == str(follow)
            )
            assert line["room"] == first.room
            assert line["device"] == DEVICE

            # The device has taken it up: nothing differs, nothing is sent for it. (A marker
            # alarm published after the heartbeat bounds the wait.) The desk has shown it, so
            # the record says "received" (shown), as the device does.
            drain = alarm_message(DEVICE)  # first, the acks of the resends still on their way
            await publish(edge, drain)
            await acks_until(edge, drain.alarm_id)
            await poll(lambda: row(central, follow)["shown_at"] is not None, "shown on the desk")
            taken = HeldAlarm(alarm_id=follow, input="desk", state=HeldState.RECEIVED)
            held_drain = HeldAlarm(alarm_id=drain.alarm_id, input="wall", state=HeldState.RECEIVED)
            await heartbeat(edge, taken, held_drain)
            marker = alarm_message(DEVICE)
            await publish(edge, marker)
            between = await acks_until(edge, marker.alarm_id)
            # (The drain alarm's own "shown" ack may still be on its way: it only bounds.)
            others = [a["alarm_id"] for a in between if a["alarm_id"] != str(drain.alarm_id)]
            assert others == [str(marker.alarm_id)]

        stored = row(central, follow)
        assert (stored["state"], stored["presses"], stored["input"]) == ("received", 1, "desk")
        assert f"pressed after the resolution of {first.alarm_id}" in stored["events"][0]["detail"]
        alarms = [ln for ln in desk.lines if ln.get("alarm_id") == str(follow)]
        assert [ln["event"] for ln in alarms if ln["event"] == "alarm"] == ["alarm"]
        assert sorted(a["alarm_id"] for a in central.alarms("ola")) == sorted(
            str(i) for i in (first.alarm_id, follow, drain.alarm_id, marker.alarm_id)
        )


async def test_resolution_on_a_full_disk_is_retried_until_stored(
    broker: Broker, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    try:
        store = disk / "central.db"
        async with running(broker, tmp_path, store) as (central, desk), device(broker) as edge:
            first = alarm_message(DEVICE)
            await publish(edge, first)
            assert (await next_ack(edge, alarm_id=str(first.alarm_id)))["state"] == "received"
            await desk.wait_for(lambda ln: ln.get("alarm_id") == str(first.alarm_id))

            filler = fill(disk)
            await desk.send(f"resolve {first.alarm_id}")
            # The record cannot take it: the desk is told it is not stored yet, and keeps
            # showing the alarm active (no screen hears "resolved" before the disk has it).
            failed = f"alarm {first.alarm_id}: write failed"
            await poll(lambda: failed in central.log.read_text(), "the failed write")
            notice = f"not_stored_yet: resolved {first.alarm_id}"
            await poll(lambda: notice in desk.log.read_text(), "the desk's notice")
            assert row(central, first.alarm_id)["state"] != "resolved"
            assert not [ln for ln in desk.lines if ln.get("state") == "resolved"]

            os.unlink(filler)  # the disk clears: the retry stores it, then the edge hears it
            ack = await next_ack(edge, within=20, alarm_id=str(first.alarm_id), state="resolved")
            assert ack["input"] == "desk"
            await desk.wait_for(
                lambda ln: (
                    ln.get("alarm_id") == str(first.alarm_id) and ln.get("state") == "resolved"
                )
            )
            stored = row(central, first.alarm_id)
            assert stored["state"] == "resolved"
            assert [e["kind"] for e in stored["events"]].count("resolved") == 1

            central.kill()  # a power cut: what comes back is what is on disk
            central.start()
            assert row(central, first.alarm_id)["state"] == "resolved"
            # After the restart the alarm is not active: a device that lists nothing is told
            # of nothing (a marker alarm after the heartbeat bounds the wait).
            await heartbeat(edge)
            marker = alarm_message(DEVICE)
            await publish(edge, marker)
            between = await acks_until(edge, marker.alarm_id)
            assert [a["alarm_id"] for a in between] == [str(marker.alarm_id)]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: ASYNC221


async def test_a_resolution_lost_with_central_on_a_full_disk_was_never_shown(
    broker: Broker, tmp_path: Path
) -> None:
    """kill -9 while the resolution waits for the disk: after the restart the alarm is active
    on every screen, and no screen was ever told it was resolved."""
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    try:
        store = disk / "central.db"
        async with running(broker, tmp_path, store) as (central, desk), device(broker) as edge:
            first = alarm_message(DEVICE)
            await publish(edge, first)
            assert (await next_ack(edge, alarm_id=str(first.alarm_id)))["state"] == "received"
            await desk.wait_for(lambda ln: ln.get("alarm_id") == str(first.alarm_id))
            filler = fill(disk)
            await desk.send(f"resolve {first.alarm_id}")
            failed = f"alarm {first.alarm_id}: write failed"
            await poll(lambda: failed in central.log.read_text(), "the failed write")
            central.kill()  # before any retry can succeed
            os.unlink(filler)
            seen = len(desk.lines)
            central.start()
            assert row(central, first.alarm_id)["state"] == "received"

            def active_again() -> bool:
                return any(
                    ln.get("alarm_id") == str(first.alarm_id) and ln.get("state") == "received"
                    for ln in desk.lines[seen:]
                )

            await poll(active_again, "the alarm active on the reconnected desk")
            assert not [ln for ln in desk.lines if ln.get("state") == "resolved"], desk.lines
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: ASYNC221
