"""The ARC link against a real receiving centre: pysiaalarm as its own process, real sockets.

pysiaalarm is an independent DC-09 receiver: it decides whether our CRC, encryption and
timestamps are right. Faults are real too: a port nobody listens on, a receiver that stops,
a front that answers with a wrong CRC, a NAK or nothing. Waits are bounded polling.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from central.arc.events import ArcEvent, ArcKind
from central.arc.frames import Format
from central.arc.link import ArcLink, SiteLink
from central.arc.probe import arc_test
from central.arc.session import Account, Policy, Status
from tests.support.arc import FaultyFront, SiaReceiver
from tests.support.net import free_port

SITE = "oslo"
TEXT_KEY = "A1B2C3D4E5F60718"  # 16 hex characters, used as the key's bytes (pysiaalarm)
LONG_KEY = "9F8E7D6C5B4A39281706F5E4D3C2B1A0"  # 32: AES-256 read that way
FAST = Policy(
    receivers=1,
    attempts=2,
    retry_delay=timedelta(seconds=0.05),
    pause=timedelta(seconds=0.3),
    link_test=timedelta(hours=1),
)


def site_link(
    ports: list[int],
    *,
    account: str = "1234",
    form: Format = "ADM-CID",
    key: str | None = None,
    attempts: int = 2,
) -> SiteLink:
    policy = Policy(
        receivers=len(ports),
        attempts=attempts,
        retry_delay=FAST.retry_delay,
        pause=FAST.pause,
        link_test=FAST.link_test,
    )
    receivers = tuple(("127.0.0.1", p) for p in ports)
    return SiteLink(
        SITE,
        Account(account, form, "0", "1", 1),
        receivers,
        key.encode() if key else None,
        policy,
        timeout=3.0,
    )


def panic(key: str = "alarm-1", zone: int = 15, restore: bool = False) -> ArcEvent:
    return ArcEvent(SITE, key, ArcKind.PANIC, datetime.now(UTC), zone, restore)


async def until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.02)


def states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT uniq, state FROM arc_outbox ORDER BY id").fetchall())


@pytest.fixture
def receiver() -> Iterator[SiaReceiver]:
    arc = SiaReceiver(["1234", f"5678:{TEXT_KEY}", f"9ABC:{LONG_KEY}"]).start()
    try:
        yield arc
    finally:
        arc.stop()


@pytest.fixture
async def links() -> AsyncIterator[list[ArcLink]]:
    """Every link a test starts is stopped at its end (append after start)."""
    started: list[ArcLink] = []
    yield started
    for link in started:
        await link.stop()


async def started(links: list[ArcLink], link: ArcLink) -> ArcLink:
    await link.start()
    links.append(link)
    return link


def alarm_of(account: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["account"] == account and e["type"] != "NULL"


@pytest.mark.parametrize(
    ("account", "form", "key", "code", "encrypted"),
    [
        ("1234", "ADM-CID", None, "PA", False),
        ("1234", "SIA-DCS", None, "PA", False),
        ("5678", "ADM-CID", TEXT_KEY, "PA", True),
        ("9ABC", "SIA-DCS", LONG_KEY, "PA", True),
    ],
)
async def test_the_receiver_decodes_account_and_code(
    receiver: SiaReceiver,
    links: list[ArcLink],
    tmp_path: Path,
    account: str,
    form: Format,
    key: str | None,
    code: str,
    encrypted: bool,
) -> None:
    config = site_link([receiver.port], account=account, form=form, key=key)
    link = await started(links, ArcLink([config], tmp_path / "arc.db"))
    link.send(panic())
    got = await receiver.await_for(alarm_of(account))
    assert (got["account"], got["code"], got["encrypted"]) == (account, code, encrypted)
    if form == "ADM-CID":
        assert (got["qualifier"], got["event_type"], got["partition"], got["ri"]) == (
            "1",
            "120",
            "01",
            "015",
        )
    else:
        assert (got["ri"], got["message"]) == ("1", "015")
    await until(lambda: link.delivered == 1, "the ACK is recorded")
    assert states(tmp_path / "arc.db") == {"alarm-1:panic:alarm": "delivered"}
    state = link.state(SITE)
    assert state is not None
    assert state.status == Status.UP
    assert link.faults() == {}
    link.send(panic(restore=True))
    restore = await receiver.await_for(lambda e: alarm_of(account)(e) and e["code"] == "PH")
    assert restore["code"] == "PH"  # ADM-CID 3120 and SIA PH both read as "panic restore"


async def test_a_stale_clock_is_resynced_by_the_receivers_nak(
    receiver: SiaReceiver,
    links: list[ArcLink],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def behind() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=10)

    caplog.set_level(logging.WARNING, "central.arc.link")
    config = site_link([receiver.port], account="5678", key=TEXT_KEY)
    link = await started(links, ArcLink([config], tmp_path / "arc.db", clock=behind))
    link.send(panic())
    got = await receiver.await_for(alarm_of("5678"))
    assert got["code"] == "PA"
    assert "clock resynced" in caplog.text
    sent = datetime.fromisoformat(got["timestamp"])
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)  # the receiver's time, not ours


async def test_an_unknown_account_gets_no_event_and_is_retried_until_accepted(
    links: list[ArcLink], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "central.arc.link")
    stranger = SiaReceiver(["9999"]).start()
    try:
        link = await started(links, ArcLink([site_link([stranger.port])], tmp_path / "arc.db"))
        link.send(panic())
        await until(lambda: SITE in link.faults(), "the link is down (every try NAKed)")
        assert stranger.alarms() == []
        assert "NAK" in caplog.text
        assert states(tmp_path / "arc.db") == {"alarm-1:panic:alarm": "pending"}
    finally:
        stranger.stop()
    arc = SiaReceiver(["1234"], port=stranger.port).start()  # the ARC adds the account
    try:
        got = await arc.await_for(alarm_of("1234"))
        assert got["code"] == "PA"
        await until(lambda: link.faults() == {}, "the link is up again")
        assert states(tmp_path / "arc.db") == {"alarm-1:panic:alarm": "delivered"}
    finally:
        arc.stop()


async def test_a_dead_primary_falls_back_and_both_dead_is_a_fault(
    receiver: SiaReceiver, links: list[ArcLink], tmp_path: Path
) -> None:
    dead = free_port()
    link = await started(links, ArcLink([site_link([dead, receiver.port])], tmp_path / "one.db"))
    link.send(panic())
    assert (await receiver.await_for(alarm_of("1234")))["code"] == "PA"

    primary, fallback = free_port(), free_port()
    alone = await started(links, ArcLink([site_link([primary, fallback])], tmp_path / "two.db"))
    alone.send(panic("alarm-2", zone=7))
    await until(lambda: SITE in alone.faults(), "ARC unreachable while both are down")
    down = alone.faults()[SITE]
    assert down.status == Status.DOWN
    assert down.reason.startswith("no receiver answered: ConnectionRefusedError")
    assert alone.pending(SITE) == 1
    late = SiaReceiver(["1234"], port=fallback).start()
    try:
        got = await late.await_for(alarm_of("1234"))
        assert (got["code"], got["ri"]) == ("PA", "007")
        await until(lambda: alone.faults() == {}, "the link is up again")
        assert alone.pending(SITE) == 0
    finally:
        late.stop()


async def test_wrong_crc_nak_and_silence_are_logged_and_retried(
    receiver: SiaReceiver,
    links: list[ArcLink],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "central.arc.link")
    front = await FaultyFront(receiver.port, ["crc", "nak", "close", "crc"]).start()
    try:
        config = site_link([front.port], attempts=5)
        link = await started(links, ArcLink([config], tmp_path / "arc.db"))
        link.send(panic())
        assert (await receiver.await_for(alarm_of("1234")))["code"] == "PA"
        await until(lambda: link.delivered == 1, "the ACK is recorded")
        assert front.seen[:5] == ["crc", "nak", "close", "crc", "pass"]
        assert "wrong CRC 0000" in caplog.text
        assert "): NAK" in caplog.text
        assert "closed without an answer" in caplog.text
        assert link.faults() == {}
    finally:
        await front.stop()


async def test_an_event_offered_twice_is_sent_once_also_across_a_restart(
    receiver: SiaReceiver, links: list[ArcLink], tmp_path: Path
) -> None:
    db = tmp_path / "arc.db"
    first = await started(links, ArcLink([site_link([receiver.port])], db))
    first.send(panic())
    first.send(panic())
    await until(lambda: first.delivered == 1 and first.repeats == 1, "one sent, one repeat")
    await first.stop()
    again = await started(links, ArcLink([site_link([receiver.port])], db))
    again.send(panic())
    await until(lambda: again.repeats == 1, "the repeat after the restart is recognised")
    again.send(panic("alarm-2"))  # a later event passes behind it: the queue is not stuck
    await until(lambda: again.delivered == 1, "the new event is sent")
    assert [e["ri"] for e in receiver.alarms()] == ["015", "015"]
    assert states(db) == {"alarm-1:panic:alarm": "delivered", "alarm-2:panic:alarm": "delivered"}


async def test_events_stored_before_a_restart_are_sent_after_it(
    links: list[ArcLink], tmp_path: Path
) -> None:
    db = tmp_path / "arc.db"
    port = free_port()
    first = await started(links, ArcLink([site_link([port])], db))
    first.send(panic("alarm-1"))
    first.send(panic("alarm-2", zone=2))
    await until(lambda: len(states(db)) == 2, "both are stored")
    await first.stop()
    arc = SiaReceiver(["1234"], port=port).start()
    try:
        again = await started(links, ArcLink([site_link([port])], db))
        await until(lambda: again.delivered == 2, "both are sent after the restart")
        assert [e["ri"] for e in arc.alarms()] == ["015", "002"]
    finally:
        arc.stop()


async def test_a_site_without_an_arc_is_ignored(links: list[ArcLink], tmp_path: Path) -> None:
    link = await started(links, ArcLink([], tmp_path / "arc.db"))
    link.send(panic())
    assert (link.state(SITE), link.pending(SITE), link.faults()) == (None, 0, {})


async def test_events_of_a_site_that_lost_its_arc_are_kept_and_named(
    links: list[ArcLink], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "arc.db"
    first = await started(links, ArcLink([site_link([free_port()])], db))
    first.send(panic())
    await until(lambda: len(states(db)) == 1, "stored")
    await first.stop()
    caplog.set_level(logging.ERROR, "central.arc.link")
    await started(links, ArcLink([], db))
    assert "ARC event alarm-1 of site oslo, which has no ARC now" in caplog.text
    assert states(db) == {"alarm-1:panic:alarm": "pending"}


async def test_the_arc_test_in_process(receiver: SiaReceiver) -> None:
    dead = free_port()
    ok, lines = await arc_test(site_link([receiver.port, dead], account="9ABC", key=LONG_KEY))
    assert not ok
    assert lines[0] == "site oslo: account 9ABC, ADM-CID, encrypted, test event 602 (RP)"
    assert lines[1].startswith(f"receiver 1 127.0.0.1:{receiver.port}: ACK in ")
    assert lines[2].startswith(f"receiver 2 127.0.0.1:{dead}: no answer (")
    ok, lines = await arc_test(site_link([receiver.port], account="FFF"))
    assert (ok, lines[1]) == (
        False,
        f"receiver 1 127.0.0.1:{receiver.port}: NAK (account FFF refused or unknown?)",
    )


async def test_duh_marks_the_event_refused_and_the_next_goes_on(
    receiver: SiaReceiver,
    links: list[ArcLink],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "central.arc.link")
    front = await FaultyFront(receiver.port, []).start()
    try:
        link = await started(links, ArcLink([site_link([front.port])], tmp_path / "arc.db"))
        await until(lambda: link.faults() == {} and front.seen == ["pass"], "the link test")
        front.faults = ["duh"]
        link.send(panic())
        link.send(ArcEvent(SITE, "alarm-2", ArcKind.ASSIST, datetime.now(UTC), 4))
        assert (await receiver.await_for(lambda e: e["code"] == "QA"))["ri"] == "004"
        await until(lambda: link.refused == 1 and link.delivered == 1, "one refused, one sent")
        assert "ARC of oslo cannot take alarm-1:panic:alarm (DUH)" in caplog.text
        assert states(tmp_path / "arc.db") == {
            "alarm-1:panic:alarm": "refused",
            "alarm-2:assist:alarm": "delivered",
        }
    finally:
        await front.stop()
