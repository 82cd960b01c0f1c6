"""A neighbour who answers an escalated alarm while central's disk is full is told, on his own
desk, that his answer is not stored yet (a ``Notice``), though his desk is of another site.

Real ``trygg-central``, Mosquitto, headless desks; a small tmpfs filled up (as test_heal).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.central.helpers import alarm_message, mqtt_tester, publish
from tests.central.test_heal import poll
from tests.support.broker import Broker
from tests.support.small_disk import fill, mount_small_disk
from tests.support.stack import SITE, Central, running_desks

NEIGHBOUR = "bergen-sentrum"
USERS = {"kari": "Kari Nordmann", "per": "Per Hansen"}


async def test_a_neighbour_s_answer_that_waits_for_the_disk_is_noticed_on_his_desk(
    broker: Broker, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    try:
        routine = tmp_path / "escalation.toml"
        routine.write_text(
            'unseen_after_s = 600\n[[acute.stages]]\nafter_s = 1\nnotify = ["neighbours"]\n'
        )
        central = Central(
            broker,
            tmp_path,
            USERS,
            sites=(SITE, NEIGHBOUR),
            user_sites={"kari": (SITE,), "per": (NEIGHBOUR,)},
            site_extra={SITE: (f'neighbours = ["{NEIGHBOUR}"]',)},
            extra=("[routines]", f'escalation = "{routine}"'),
        )
        store = str(disk / "central.db")
        central.config.write_text(
            central.config.read_text().replace(str(tmp_path / "central.db"), store)
        )
        central.start()
        try:
            async with (
                running_desks(central, USERS, tmp_path) as desks,
                mqtt_tester(broker) as edge,
            ):
                per = desks["per"]
                message = alarm_message("rom-101")
                await publish(edge, message)
                alarm_id = str(message.alarm_id)
                # Nobody at the site answers: it reaches Per's desk, of the neighbouring site.
                await per.wait_for(lambda ln: ln.get("alarm_id") == alarm_id, timeout=30)
                filler = fill(disk)
                await per.send(f"coming {alarm_id}")
                failed = f"alarm {alarm_id}: write failed"
                await poll(lambda: failed in central.log.read_text(), "the failed write")
                notice = f"not_stored_yet: coming {alarm_id}"
                await poll(lambda: notice in per.log.read_text(), "the notice on Per's desk")
                assert notice not in desks["kari"].log.read_text()  # his change, his notice
                os.unlink(filler)  # the disk clears: the retry stores it, and screens hear it
                await per.wait_for(
                    lambda ln: (
                        ln.get("alarm_id") == alarm_id
                        and [r["user"] for r in ln.get("responders", ())] == ["per"]
                    ),
                    timeout=30,
                )
        finally:
            central.stop()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: ASYNC221
