"""The incident reports' e-mail outbox (central.mailing) against a real store (SQLite) and real
SMTP servers on loopback: one pass sends what is due, and what goes wrong stays in its place —
a recipient refused for good is refused and the pass goes on; a server that fails (never
answers, refuses to relay) costs one try and stops the pass, nothing is dropped; a row no
message can be made of is refused with its reason and blocks nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
import pytest_asyncio

from central.config import EmailSettings
from central.core import Person, Role
from central.core.reports import Draft, Injuries, Kind, Place, Report, file
from central.mailing import REFUSED, RETRIED, Mailer
from central.store import Store
from central.store import reports as rows
from tests.support.smtp import Inbox, Silent

SITE = "oslo-sentrum"
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
ANNE = Person("anne", "Anne", "", frozenset({SITE}), frozenset({Role.EMPLOYEE}))


def settings(port: int) -> EmailSettings:
    return EmailSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        from_address="trygg@nav.test",
        console_url="http://127.0.0.1:8080",
        timeout_s=0.5,
        retry_max_s=60,
    )


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    found = Store(tmp_path / "central.db")
    await found.open()
    try:
        yield found
    finally:
        await found.close()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    found = Inbox()
    found.start()
    try:
        yield found
    finally:
        found.stop()


async def owe(store: Store, *addresses: str) -> Report:
    """A report filed, with an e-mail owed to each of ``addresses``."""
    draft = Draft(SITE, (Kind.THREAT,), Place.OFFICE, NOW, Injuries.NONE, False, False)
    report = file(uuid4(), ANNE, draft, NOW)
    assert isinstance(report, Report)
    mails = [(f"user{i}", address) for i, address in enumerate(addresses)]
    await store.submit(rows.filed(report, [], mails, NOW))
    return report


async def outbox(store: Store) -> list[tuple[str, str, int, str]]:
    """(address, status, attempts, last error) of every row, in order."""
    found: list[tuple[str, str, int, str]] = await store.read(
        lambda db: [
            (r["address"], r["status"], r["attempts"], r["last_error"])
            for r in db.query("SELECT * FROM report_mail ORDER BY id")
        ]
    )
    return found


def mailer(store: Store, port: int, now: datetime = NOW) -> Mailer:
    return Mailer(settings(port), store, lambda: now, {SITE: "NAV Oslo"})


async def test_a_server_that_never_answers_costs_one_try_per_pass(store: Store) -> None:
    await owe(store, "a@nav.test", "b@nav.test", "c@nav.test")
    silent = Silent()
    try:
        sending = mailer(store, silent.port)
        await sending.send_due()
        assert [(s, n) for _, s, n, _ in await outbox(store)] == [
            ("pending", 1),  # tried, timed out, kept for later
            ("pending", 0),  # not tried: the server fails them all alike
            ("pending", 0),
        ]
        assert sending.failed == {RETRIED: 1, REFUSED: 0}
        await sending.send_due()  # at once again: the server's pause holds
        assert [n for _, _, n, _ in await outbox(store)] == [1, 0, 0]
    finally:
        silent.close()


@pytest.mark.parametrize(
    "reply", ["550 5.7.1 Relay access denied", "530 5.7.0 Must issue a STARTTLS command first"]
)
async def test_a_server_set_up_wrong_drops_nothing(store: Store, reply: str) -> None:
    await owe(store, "a@nav.test", "b@nav.test")
    step = "RCPT" if reply.startswith("550") else "MAIL"
    server = Inbox(replies={step: reply})
    server.start()
    try:
        sending = mailer(store, server.port)
        await sending.send_due()
        found = await outbox(store)
        assert [(s, n) for _, s, n, _ in found] == [("pending", 1), ("pending", 0)]
        assert reply.split(" ", 2)[2] in found[0][3]
        # Put right, and the pause over: both go.
        server.replies.clear()
        later = mailer(store, server.port, NOW + timedelta(minutes=5))
        await later.send_due()
        assert [s for _, s, _, _ in await outbox(store)] == ["sent", "sent"]
        assert sorted(r for m in server.messages for r in m.rcpt_tos) == [
            "a@nav.test",
            "b@nav.test",
        ]
    finally:
        server.stop()


async def test_a_recipient_refused_for_good_is_refused_and_the_pass_goes_on(
    store: Store,
) -> None:
    await owe(store, "nobody@nav.test", "noone@nav.test")
    server = Inbox(replies={"RCPT": "550 5.1.1 No such user here"})
    server.start()
    try:
        sending = mailer(store, server.port)
        await sending.send_due()
        assert [(s, n) for _, s, n, _ in await outbox(store)] == [("refused", 1), ("refused", 1)]
        assert sending.failed == {RETRIED: 0, REFUSED: 2}
    finally:
        server.stop()


async def test_a_poison_row_is_refused_with_its_reason_and_blocks_nobody(
    store: Store, inbox: Inbox
) -> None:
    """An address no header can carry (a line break: a header injected) makes no message: it
    used to raise out of the pass, every pass, so nothing after it was ever sent."""
    await owe(store, "lina@nav.test\r\nBcc: everyone@nav.test", "vera@nav.test")
    sending = mailer(store, inbox.port)
    await sending.send_due()
    found = await outbox(store)
    assert [(s, n) for _, s, n, _ in found] == [("refused", 1), ("sent", 1)]
    assert found[0][3].startswith("no message can be made")
    assert [m.rcpt_tos for m in inbox.messages] == [("vera@nav.test",)]
    assert sending.sent == 1
    assert sending.failed[REFUSED] == 1
