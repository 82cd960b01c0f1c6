"""``trygg-central arc-test``: one periodic-test report (602 / RP) to each receiver of a site.

For an operator commissioning the link with the ARC: it does not go through the outbox or the
running central (nothing is stored; it can run beside central), it tries every receiver once
— primary and fallbacks — and says what each answered. A NAK carrying the receiver's time is
followed by one resend with that time, as the link itself does.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from central.arc.events import ArcEvent, ArcKind, cid_data, sia_data
from central.arc.frames import BadReply, Frame, encode, parse_reply
from central.arc.link import SiteLink, exchange, random_pad


async def _one(link: SiteLink, index: int, seq: int) -> tuple[bool, str]:
    host, port = link.receivers[index]
    account = link.account
    now = datetime.now(UTC)
    test = ArcEvent(link.site, f"arc-test-{now.isoformat()}", ArcKind.TEST, now)
    make = cid_data if account.format == "ADM-CID" else sia_data
    frame = Frame(
        account.format, seq, account.account, account.line, account.receiver,
        make(test, account.area), now,
    )  # fmt: skip
    name = f"receiver {index + 1} {host}:{port}"
    for resend in (False, True):
        started = time.monotonic()
        try:
            raw = await exchange(host, port, encode(frame, link.key, random_pad), link.timeout)
        except (OSError, TimeoutError) as err:
            return False, f"{name}: no answer ({type(err).__name__}: {err})"
        took = time.monotonic() - started
        reply = parse_reply(raw, link.key) if raw else BadReply("closed without an answer")
        if isinstance(reply, BadReply):
            return False, f"{name}: {reply.reason}"
        if reply.kind in ("ACK", "RSP") and reply.seq == seq:
            return True, f"{name}: {reply.kind} in {took:.2f} s{' after resync' * resend}"
        if reply.kind == "NAK" and reply.at is not None and not resend:
            frame = Frame(
                frame.format, seq, frame.account, frame.line, frame.receiver, frame.data, reply.at
            )
            continue
        return False, f"{name}: {reply.kind} (account {account.account} refused or unknown?)"
    return False, f"{name}: NAK again after the resync"  # pragma: no cover - loop ends above


async def arc_test(link: SiteLink) -> tuple[bool, list[str]]:
    """(every receiver acknowledged, one line per receiver)."""
    lines = [
        f"site {link.site}: account {link.account.account}, {link.account.format},"
        f" {'encrypted' if link.key else 'not encrypted'}, test event 602 (RP)"
    ]
    ok = True
    for index in range(len(link.receivers)):
        good, line = await _one(link, index, 9000 + index)
        ok &= good
        lines.append(line)
    return ok, lines
