"""Issue 10, item 3: a device is tied to its site and room by central's registry.

``trygg-central broker-config`` writes Mosquitto's password file and ACL from the same
``[[devices]]`` central places alarms by; a real Mosquitto runs on exactly those files. A
device publishing as another site or another device is dropped by the broker; the room on the
board is the registry's, whatever the payload says; an alarm from an unregistered device is a
fault for that site's facility managers only, never an alarm card and never lost silently.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from pathlib import Path

import aiomqtt

from tests.security.helpers import alarm_payload, wait_for_alarm
from tests.support.broker import Broker
from tests.support.stack import Central, Desk, script

SITE_A, SITE_B = "site-a", "site-b"
DEVICES = (
    (SITE_A, "rom-101", "Møterom 101"),
    (SITE_A, "rom-102", "Møterom 102"),
    (SITE_B, "rom-201", "Møterom 201"),
)
PASSWORDS = {d: f"{d}-generated-secret-0123456789" for _, d, _ in DEVICES}


def generate(central: Central, workdir: Path) -> Path:
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir()
    for name, password in PASSWORDS.items():
        (secrets_dir / name).write_text(password + "\n")
    out = workdir / "mosquitto"
    done = subprocess.run(
        [
            script("trygg-central"),
            "broker-config",
            "--config",
            str(central.config),
            "--out",
            str(out),
            "--passwords",
            str(secrets_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "generated-secret" not in (out / "passwd").read_text()  # hashed, never in clear
    return out


async def stored_faults(db: Path, timeout: float = 10) -> set[tuple[str, str, str]]:
    """(site, device, alarm id) of the unknown_device rows central wrote (bounded polling)."""
    found: set[tuple[str, str, str]] = set()
    for _ in range(int(timeout / 0.1)):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT site, device, reason FROM faults WHERE kind = 'unknown_device'"
            ).fetchall()
        found = {(site, device, reason.split()[1]) for site, device, reason in rows}
        if len(found) >= 2:
            return found
        await asyncio.sleep(0.1)
    return found


async def test_broker_config_from_registry_binds_devices_to_site_and_room(
    tmp_path: Path,
) -> None:
    broker = Broker(tmp_path / "broker")
    central = Central(
        broker,
        tmp_path,
        {"kari": "Kari", "fm-a": "Frida A", "fm-b": "Finn B"},
        sites=(SITE_A, SITE_B),
        devices=DEVICES,
        user_sites={"fm-a": (SITE_A,), "fm-b": (SITE_B,)},
        roles={"fm-a": ("facility_manager",), "fm-b": ("facility_manager",)},
    )
    out = generate(central, tmp_path)
    broker.use_generated(out / "passwd", out / "acl")
    broker.start()
    central.start()
    desks = [Desk(central, user, tmp_path) for user in ("fm-a", "fm-b")]
    try:
        for desk in desks:
            await desk.start()
        await central.wait_screens(2)
        fm_a, fm_b = desks
        spoofed = [
            alarm_payload(SITE_B, "rom-101"),  # rom-101 raising an alarm at another site
            alarm_payload(SITE_A, "rom-102"),  # ... or as another device of its own site
        ]
        topic, payload, real_id = alarm_payload(SITE_A, "rom-101", room="Møterom 201")
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            username="rom-101",
            password=PASSWORDS["rom-101"],
            protocol=aiomqtt.ProtocolVersion.V5,
            timeout=5,
        ) as rom_101:
            for spoof_topic, spoof_payload, _ in spoofed:
                await rom_101.publish(spoof_topic, spoof_payload, qos=1)
            await rom_101.publish(topic, payload, qos=1)  # its own alarm, claiming room 201
        real = await wait_for_alarm(central, "kari", real_id)
        assert (real["site"], real["device"]) == (SITE_A, "rom-101")
        assert real["room"] == "Møterom 101"  # the registry's room: a payload cannot move it
        ids = {a["alarm_id"] for a in central.alarms("kari")}
        assert ids == {real_id}, "the broker let a spoofed alarm through"
        # rom-201 may publish under its own topics (the generated ACL is not just "deny all").
        _, payload_201, id_201 = alarm_payload(SITE_B, "rom-201")
        broker.pub(f"trygg/v1/{SITE_B}/rom-201/alarm", payload_201, user="tester")
        assert (await wait_for_alarm(central, "kari", id_201))["room"] == "Møterom 201"

        # A device the broker admits but the registry does not know (a hand-made account).
        _, unknown, unknown_id = alarm_payload(SITE_A, "rom-999")
        broker.pub(f"trygg/v1/{SITE_A}/rom-999/alarm", unknown, user="tester")
        fault = await fm_a.wait_for(lambda line: line.get("kind") == "unknown_device")
        assert fault["site"] == SITE_A
        assert fault["device"] == "rom-999"
        assert unknown_id in fault["reason"]
        assert "acute" in fault["reason"]
        _, other, other_id = alarm_payload(SITE_B, "rom-998")
        broker.pub(f"trygg/v1/{SITE_B}/rom-998/alarm", other, user="tester")
        seen_b = await fm_b.wait_for(lambda line: line.get("kind") == "unknown_device")
        assert seen_b["site"] == SITE_B
        assert other_id in seen_b["reason"]
        assert not any(line.get("site") == SITE_B for line in fm_a.lines)
        # Neither became an alarm card; both are in the record, as faults.
        assert {a["alarm_id"] for a in central.alarms("kari")} == {real_id, id_201}
        assert await stored_faults(tmp_path / "central.db") == {
            (SITE_A, "rom-999", unknown_id),
            (SITE_B, "rom-998", other_id),
        }
    finally:
        for desk in desks:
            await desk.stop()
        central.stop()
        broker.stop()
