"""A flood nobody at its site answers, on real processes: it escalates once, as one card, to the
neighbouring site, whose colleague sees the card (desk and console board, live) and answers it
for every alarm of the flood; the alarm receiving centre hears one panic and one restore for the
whole flood, not one per alarm; and a colleague's screen that showed the card has shown every
alarm of it (each device told "a colleague has it").

Real Mosquitto, real ``trygg-central`` and ``trygg-desk --headless`` processes, pysiaalarm as
the ARC (tests/support/arc.py), the console's board feed over a real websocket. Every wait is
bounded polling.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from central.core.flood import BURST
from tests.e2e.test_escalation_arc import (
    ACCOUNT,
    DEVICES,
    KEY_ENV,
    NEIGHBOUR,
    TEXT_KEY,
    ZONE,
    arc_section,
    cid,
)
from tests.security.helpers import alarm_payload
from tests.security.test_flood import mqtt_client, of_device
from tests.support.arc import SiaReceiver
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Login, Session, running_desks
from tests.support.timeline import escalations, wait_until

USERS = {"kari": "Kari Nordmann", "per": "Per Hansen"}
# Per watches his console board (pages need a session): an account with a password and a desk.
PER = Login("per", USERS["per"], ("responder",), (NEIGHBOUR,), desk_token=True)
ARC_AFTER_S = 4
FLOOD = BURST + 1


def make_central(broker: Broker, workdir: Path, arc_port: int) -> Central:
    """Acute: the neighbours after 1 s, the ARC after 4 s. Kari's headless desk reports what
    it prints as shown, so the "not shown" limit does not decide here."""
    path = workdir / "escalation.toml"
    lines = ["unseen_after_s = 600"]
    for target, delay in (("neighbours", 1), ("arc", ARC_AFTER_S)):
        lines += ["[[acute.stages]]", f"after_s = {delay}", f'notify = ["{target}"]']
    path.write_text("\n".join(lines) + "\n")
    return Central(
        broker,
        workdir,
        {"kari": USERS["kari"]},
        sites=(SITE, NEIGHBOUR),
        devices=DEVICES,
        user_sites={"kari": (SITE,)},
        site_extra={SITE: (f'neighbours = ["{NEIGHBOUR}"]', *arc_section(arc_port))},
        device_extra={(SITE, "resepsjon"): ("arc_zone = 1",), (SITE, "rom-101"): ("arc_zone = 2",)},
        extra=("[routines]", f'escalation = "{path}"'),
    )


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[SiaReceiver]:
    monkeypatch.setenv(KEY_ENV, TEXT_KEY)  # the ARC key central inherits
    arc = SiaReceiver([f"{ACCOUNT}:{TEXT_KEY}"]).start()
    try:
        yield arc
    finally:
        arc.stop()


def board_live(browser: Session) -> tuple[list[str], list[tuple[str, int]]]:
    """The console board's alarm cards and, of those, the flood cards (source, count)."""
    with browser.client() as client:
        page = client.get("/board/live")
    assert page.status_code == 200, page.text
    found = re.findall(r'data-alarm="([0-9a-f-]+)"', page.text)
    floods = re.findall(r'data-flood="([^"]+)" data-flood-alarms="(\d+)"', page.text)
    return found, [(source, int(n)) for source, n in floods]


def feed(browser: Session) -> Any:
    """The console board's live feed (``/board/feed``) as a signed-in browser opens it."""
    url = browser.url.replace("http://", "ws://") + "/board/feed"
    return websockets.connect(url, additional_headers=browser.cookie_header, open_timeout=10)


def record(central: Central, ids: set[str]) -> dict[str, dict[str, Any]]:
    return {a["alarm_id"]: a for a in central.alarms("kari") if a["alarm_id"] in ids}


async def test_an_unanswered_flood_escalates_once_as_one_card_and_reaches_the_arc_once(
    broker: Broker, tmp_path: Path, receiver: SiaReceiver
) -> None:
    central = make_central(broker, tmp_path, receiver.port)
    central.start()
    try:
        central.add_logins(PER)
        per_browser = central.log_in(PER.user)
        async with running_desks(central, USERS, tmp_path) as desks, mqtt_client(broker) as mqtt:
            kari, per = desks["kari"], desks["per"]
            async with feed(per_browser) as per_feed:
                assert board_live(per_browser) == ([], [])
                sent = [alarm_payload(SITE, "rom-101") for _ in range(FLOOD)]
                for topic, payload, _ in sent:
                    await mqtt.publish(topic, payload, qos=1)
                ids = {alarm_id for _, _, alarm_id in sent}
                card_id = sent[0][2]  # the oldest is the card
                # Kari's desk shows the one card; nobody at the site answers.
                await kari.wait_for(
                    lambda _: [c.get("flood") for c in of_device(kari, "rom-101")] == [FLOOD],
                    timeout=30,
                )
                # Per, at the neighbouring site, gets the flood as its one card, escalated.
                await per.wait_for(
                    lambda _: [c.get("flood") for c in of_device(per, "rom-101")] == [FLOOD],
                    timeout=30,
                )
                (card,) = of_device(per, "rom-101")
                assert card["alarm_id"] == card_id
                assert (card["stage"], card["escalated_sites"]) == (1, [NEIGHBOUR])
                # His console board is told, and shows the card.
                async with asyncio.timeout(20):
                    assert await per_feed.recv() == SITE
                await wait_until(
                    "the card on Per's board",
                    lambda: board_live(per_browser) == ([card_id], [(f"{SITE}/rom-101", FLOOD)]),
                    central,
                )

            # The ARC hears the flood: one panic on rom-101's zone.
            await receiver.await_for(lambda e: e["type"] == "ADM-CID" and e["ri"] == ZONE)
            # Kari's screen showed the card: every alarm of the flood is shown on record
            # (its device hears "a colleague has it"), not only the card's.
            await wait_until(
                "every alarm of the flood shown",
                lambda: all(a["shown_at"] for a in record(central, ids).values()),
                central,
            )

            # Per answers the card: he is coming to every alarm of the flood.
            await per.send(f"coming {card_id}")
            await wait_until(
                "Per coming to all of them",
                lambda: (
                    [[r["user"] for r in a["responders"]] for a in record(central, ids).values()]
                    == [["per"]] * FLOOD
                ),
                central,
            )
            # ... and resolves it: all resolved, his board is told and empties.
            async with feed(per_browser) as per_feed:
                await per.send(f"resolve {card_id}")
                await wait_until(
                    "all resolved",
                    lambda: {a["state"] for a in record(central, ids).values()} == {"resolved"},
                    central,
                )
                async with asyncio.timeout(20):
                    while True:
                        assert await per_feed.recv() == SITE
                        if board_live(per_browser) == ([], []):
                            break
            await per.wait_for(lambda _: not of_device(per, "rom-101"))
            await kari.wait_for(lambda _: not of_device(kari, "rom-101"))
            # The restore of the one event the ARC had.
            await receiver.await_for(
                lambda e: e["type"] == "ADM-CID" and e["ri"] == ZONE and e["qualifier"] == "3"
            )

        # One flood: one escalation per stage, of the card's alarm; the ARC had it once.
        stored = record(central, ids)
        assert escalations(central, card_id) == [
            "stage=1; to=neighbours; reason=no_answer; after_s=1",
            f"stage=2; to=arc; reason=no_answer; after_s={ARC_AFTER_S}",
        ]
        assert [i for i in ids if escalations(central, i)] == [card_id]
        assert {a["resolved_by"] for a in stored.values()} == {"per"}
        assert [cid(e) for e in receiver.alarms()] == [
            ("1", "120", ZONE, "PA"),
            ("3", "120", ZONE, "PH"),
        ]
        # Per's desk never heard of any other alarm of the flood: only of its card.
        assert not [ln for ln in per.lines if ln.get("alarm_id") in ids - {card_id}]
    finally:
        central.stop()
