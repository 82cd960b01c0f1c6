"""The real ``trygg-desk --headless`` against a real websocket server speaking the contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol.messages import Responder
from protocol.screen import AlarmState, CommandKind
from tests.desktop.desk_process import DeskProcess, write_config
from tests.desktop.fake_central import FakeCentral, eventually, make_alarm, make_fault

KARI_TOKEN = "kari-Zk3q9VbX2mN7pL4sR8tW1yH6"
OLA_TOKEN = "ola-Qe5rT7yU9iO1pA3sD5fG7hJ9"
USERS = {KARI_TOKEN: "kari", OLA_TOKEN: "ola"}


@pytest.fixture
async def cleanup() -> AsyncIterator[list[object]]:
    """Servers and desk processes to stop at the end of the test, whatever happened."""
    things: list[object] = []
    yield things
    for thing in reversed(things):
        if isinstance(thing, DeskProcess) or (isinstance(thing, FakeCentral) and thing.running):
            await thing.stop()


async def start_desk(
    cleanup: list[object], tmp_path: Path, central: FakeCentral, token: str, *args: str
) -> DeskProcess:
    config = write_config(tmp_path / "desk.toml", central.url, token)
    desk = await DeskProcess.start(config, "--headless", *args)
    cleanup.append(desk)
    return desk


async def start_central(cleanup: list[object], central: FakeCentral) -> FakeCentral:
    await central.start()
    cleanup.append(central)
    return central


async def test_prints_alarms_as_json_lines_and_sends_delivered_and_commands(
    tmp_path: Path, cleanup: list[object]
) -> None:
    old = make_alarm(room="Resepsjonen")
    central = await start_central(cleanup, FakeCentral(USERS, [old]))
    desk = await start_desk(cleanup, tmp_path, central, KARI_TOKEN)

    active = await desk.wait_event("active", old.alarm_id)
    assert active["room"] == "Resepsjonen"
    assert active["raised_at"] == "2024-05-02T09:30:00Z"  # json mode: strings, not objects
    assert active["state"] == "received"
    await desk.wait_stderr("connected to")

    new = make_alarm(level="assist", room="Møterom 101")
    await eventually(lambda: central.connections, "the desk to be registered")
    await central.raise_alarm(new)
    line = await desk.wait_event("alarm", new.alarm_id)
    assert line["level"] == "assist"
    assert line["room"] == "Møterom 101"

    await central.update(new.model_copy(update={"presses": 3}))
    await desk.wait_event("update", new.alarm_id, presses=3)

    await eventually(
        lambda: (
            central.received(CommandKind.DELIVERED, old.alarm_id)
            and central.received(CommandKind.DELIVERED, new.alarm_id)
        ),
        "delivered for the snapshot alarm and the new one",
    )

    await desk.type("frobnicate 123")
    await desk.type(f"coming {new.alarm_id}")
    await desk.type("")
    await desk.type(f"cant_come {old.alarm_id}")
    await desk.type(f"resolve {new.alarm_id}")
    await desk.wait_event("update", new.alarm_id, state="resolved", resolved_by="kari")
    await eventually(
        lambda: any(u["declined"] for u in desk.events("update", old.alarm_id)),
        "the update saying kari can't come",
    )
    assert desk.events("update", old.alarm_id)[-1]["declined"][0]["user"] == "kari"
    await desk.wait_stderr("ignored stdin line 'frobnicate 123'")

    assert [c.type for c in central.received(CommandKind.COMING)] == [CommandKind.COMING]
    assert central.received(CommandKind.RESOLVE, new.alarm_id)
    assert central.received(CommandKind.CANT_COME, old.alarm_id)
    assert desk.proc.returncode is None  # a bad line is ignored, not fatal
    assert await desk.stop() == 0
    assert desk.not_json == []
    # Delivered once per alarm on one connection, however many frames mention it.
    assert len(central.received(CommandKind.DELIVERED, new.alarm_id)) == 1
    # A printed line is the alarm shown to whoever reads this desk: "shown", once per alarm.
    assert len(central.received(CommandKind.SHOWN, old.alarm_id)) == 1
    assert len(central.received(CommandKind.SHOWN, new.alarm_id)) == 1


async def test_ack_all_sends_coming_once_per_active_alarm(
    tmp_path: Path, cleanup: list[object]
) -> None:
    kari = Responder(user="kari", name="Kari", at=datetime(2024, 5, 2, 9, 31, tzinfo=UTC))
    answered = make_alarm(responders=(kari,), state=AlarmState.ACKNOWLEDGED)
    waiting = make_alarm()
    central = await start_central(cleanup, FakeCentral(USERS, [answered, waiting]))
    desk = await start_desk(cleanup, tmp_path, central, KARI_TOKEN, "--ack-all")

    await desk.wait_event("active", waiting.alarm_id)
    await eventually(lambda: central.connections, "the desk to be registered")
    new = make_alarm()
    await central.raise_alarm(new)
    await central.update(new.model_copy(update={"presses": 2}))
    await desk.wait_event("update", new.alarm_id, state="acknowledged")
    resolved = make_alarm(state=AlarmState.RESOLVED)
    await central.raise_alarm(resolved)

    # A last alarm as a barrier: the desk answers frames in order on one socket, so once its
    # "delivered" has arrived, every command for the frames before it has arrived too.
    barrier = make_alarm()
    await central.raise_alarm(barrier)
    await eventually(lambda: central.received(CommandKind.DELIVERED, barrier.alarm_id), "barrier")

    coming = [c.alarm_id for c in central.received(CommandKind.COMING)]
    assert sorted(coming, key=str) == sorted(
        [waiting.alarm_id, new.alarm_id, barrier.alarm_id], key=str
    )
    assert answered.alarm_id not in coming  # kari is already coming
    assert resolved.alarm_id not in coming
    assert await desk.stop() == 0


async def test_reconnects_after_central_restarts_and_prints_the_new_snapshot(
    tmp_path: Path, cleanup: list[object]
) -> None:
    first = make_alarm()
    central = await start_central(cleanup, FakeCentral(USERS, [first]))
    desk = await start_desk(cleanup, tmp_path, central, OLA_TOKEN)
    assert desk.proc.stdin is not None
    desk.proc.stdin.close()  # the end of stdin is not the end of the client
    await desk.wait_event("active", first.alarm_id)
    await desk.wait_stderr("stdin closed; still showing alarms")
    assert central.accepted == 1

    await central.stop()
    await desk.wait_stderr("not connected")
    # While central is away the first alarm is resolved and another is raised.
    central.alarms[first.alarm_id] = first.model_copy(update={"state": AlarmState.RESOLVED})
    second = make_alarm(room="Kantina")
    central.alarms[second.alarm_id] = second
    await central.start()

    line = await desk.wait_event("active", second.alarm_id)
    assert line["room"] == "Kantina"
    await desk.wait_stderr(f"alarm {first.alarm_id} is no longer active")
    await eventually(
        lambda: central.received(CommandKind.DELIVERED, second.alarm_id),
        "delivered for the new snapshot's alarm",
    )
    assert central.accepted == 2
    assert len(desk.events("active", first.alarm_id)) == 1  # not shown again after restart
    assert await desk.stop() == 0


async def test_wrong_token_is_reported_and_retried_slowly(
    tmp_path: Path, cleanup: list[object]
) -> None:
    central = await start_central(cleanup, FakeCentral(USERS))
    desk = await start_desk(cleanup, tmp_path, central, "nobody-" + "q7Wm3Rt9Yp2Lk5Zx8Nv4")

    await desk.wait_stderr("central refused the token (HTTP 403)")
    await eventually(lambda: central.refused >= 1, "the refused handshake")
    # With the normal backoff a client would be back within a second; a refused token waits
    # far longer. Watch for a while: still running, no second attempt.
    await asyncio.sleep(1.5)
    assert desk.proc.returncode is None
    assert central.refused == 1
    assert central.accepted == 0
    assert desk.lines == []
    assert any("TRYGG_DESK_TOKEN" in line for line in desk.stderr)
    assert await desk.stop() == 0


async def test_prints_fault_frames_raised_cleared_and_resent_after_a_reconnect(
    tmp_path: Path, cleanup: list[object]
) -> None:
    central = await start_central(cleanup, FakeCentral(USERS))
    open_before = make_fault(kind="tamper", reason="lid open")
    central.faults[("oslo-sentrum", "rom-101", "tamper")] = open_before  # sent after snapshot
    desk = await start_desk(cleanup, tmp_path, central, KARI_TOKEN)

    def faults() -> list[dict[str, object]]:
        return [line for line in desk.lines if line["event"] == "fault"]

    await eventually(lambda: faults(), "the open fault after the snapshot")
    assert faults()[0] == {
        "event": "fault",
        "site": "oslo-sentrum",
        "device": "rom-101",
        "kind": "tamper",
        "reason": "lid open",
        "at": "2024-05-02T09:20:00Z",
        "cleared": False,
    }
    await eventually(lambda: central.connections, "the desk to be registered")
    no_screen = make_fault(device="", kind="no_screen", reason="nobody connected")
    await central.fault(no_screen)
    await eventually(lambda: len(faults()) == 2, "the site's fault")
    assert faults()[1]["device"] == ""
    assert faults()[1]["kind"] == "no_screen"
    cleared = make_fault(kind="tamper", reason="lid closed", cleared=True)
    await central.fault(cleared)
    await eventually(lambda: len(faults()) == 3, "the cleared fault")
    assert faults()[2]["cleared"] is True
    assert faults()[2]["kind"] == "tamper"

    await central.stop()
    await desk.wait_stderr("not connected")
    await central.start()
    await eventually(lambda: len(faults()) == 4, "the open fault sent again")
    assert faults()[3]["kind"] == "no_screen"
    assert faults()[3]["cleared"] is False
    await desk.wait_stderr("the open faults are sent again")
    assert not any("bad frame" in line for line in desk.stderr)
    assert await desk.stop() == 0
    assert desk.not_json == []
