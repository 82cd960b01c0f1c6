"""The visit timer's shell (central.core.visits decides): the store, Web Push, desk notices and
the alarm the timer raises.

Why it is shaped so. The timer must fire with the phone locked, dead or out of coverage, so
it runs on central's ticker like every other deadline; the phone page is only one of its
inputs. What it does when a visit is overdue goes out three ways that fail independently: a
Web Push to the phone (the one thing a locked screen shows; sent to the push service the
browser chose, so it can be slow or lost), a :class:`~protocol.screen.VisitNotice` on the
chosen colleague's desk (or the site's), and — if still no check-out — the assist alarm,
raised through the alarm book like a phone's own (same escalation, same record), its
timeline saying that the visit timer raised it.

VAPID keys (how a push service knows the pushes come from this central) are made on the
first start in central's data directory (``vapid_private.pem``, 0600, written whole or not
at all), never shipped; the public key is served to the page, which subscribes with it. A key
that cannot be read turns Web Push off, nothing else: central starts, and the desk notice and
the alarm still follow. Pushes go only to public ``https`` endpoints (central.push_endpoints),
one per phone credential still valid; one the push service says is gone (404/410) is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush_async  # type: ignore[import-untyped]

from central.config import CentralSettings
from central.core import Person
from central.core.visits import (
    AskDesk,
    AskPhone,
    RaiseAssist,
    StoreVisit,
    Visit,
    VisitAction,
    VisitBook,
)
from central.push.hub import Hub
from central.push.wire import Prepared
from central.push_endpoints import PushRefused, public_session, refusal
from central.store import Store
from central.store import visits as stored
from protocol.mobile import PhoneRaise
from protocol.screen import Position, VisitNotice, encode_frame

log = logging.getLogger("central.visits")

VAPID_FILE = "vapid_private.pem"
PUSH_TITLE = "Trygg"
PUSH_TEXT = "Er du OK? Sjekk ut av besøket"  # bokmål: the page's default language
PUSH_TTL_S = 15 * 60  # a push older than this is worth nothing: the alarm follows anyway
PUSH_TIMEOUT_S = 10

#: (the person, alarm_id, the raise, the timeline's note) → None, or why it was refused.
RaiseAlarm = Callable[[Person, UUID, PhoneRaise, str], "str | None"]
PositionAlarm = Callable[[Person, UUID, Position], "str | None"]
Record = Callable[[str, str, str, str], object]


def load_vapid(path: Path) -> Vapid:
    """The VAPID key pair at ``path``, made (0600) on the first start: written to a temporary
    file beside it and renamed, so a crash leaves the whole key or none."""
    if not path.exists():
        vapid = Vapid()
        vapid.generate_keys()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".vapid-", suffix=".tmp")  # 0600
        try:
            os.close(fd)
            vapid.save_key(temp)
            os.chmod(temp, 0o600)
            with open(temp, "rb") as written:
                os.fsync(written.fileno())
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        log.info("made the Web Push (VAPID) key %s", path)
    return Vapid.from_file(str(path))


def public_key(vapid: Vapid) -> str:
    """The application server key the page subscribes with (base64url, no padding)."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def person_of(visit: Visit) -> Person:
    """The visitor as the alarm book needs them (their name and the visit's site)."""
    return Person(visit.user, visit.name, "", frozenset({visit.site}))


class Visiting:
    """Create, ``await start()``; ``tick(now)`` from central's ticker."""

    def __init__(
        self,
        settings: CentralSettings,
        store: Store,
        hub: Hub,
        raise_alarm: RaiseAlarm,
        position_alarm: PositionAlarm,
        record: Record,
        clock: Callable[[], datetime],
    ) -> None:
        self.answer_within = timedelta(minutes=settings.visits.answer_within_min)
        self.contact = settings.visits.push_contact
        self.allow_private = settings.visits.push_allow_private
        self.key_path = settings.store.path.parent / VAPID_FILE
        self.store = store
        self.hub = hub
        self.raise_alarm = raise_alarm
        self.position_alarm = position_alarm
        self.record = record
        self.clock = clock
        self.book = VisitBook(self.answer_within)
        self.vapid: Vapid | None = None
        self.pushes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        try:
            self.vapid = load_vapid(self.key_path)
        except Exception:  # a broken key file must not keep central down
            log.exception("Web Push is off: the VAPID key %s cannot be read", self.key_path)
            self.vapid = None
        self.book = VisitBook.restore(await self.store.read(stored.open_visits), self.answer_within)
        if self.book.active():
            log.info("restored %d visits not checked out", len(self.book.active()))

    @property
    def push_key(self) -> str | None:
        """The public key, or None while Web Push is off (no usable VAPID key)."""
        return public_key(self.vapid) if self.vapid is not None else None

    def tick(self, now: datetime) -> None:
        self._carry_out(self.book.tick(now), now)

    # --- what the phone does ------------------------------------------------------------

    async def begin(self, visit: Visit) -> str | None:
        """A visit starts (or is sent again); None once it is on disk, or why it was refused.
        The answer waits for the write: a phone told "started" must be able to rely on a
        restart of central keeping the visit."""
        now = self.clock()
        actions = self.book.start(visit, now)
        if isinstance(actions, str):
            return actions
        if actions:
            until = visit.until.isoformat()
            self.record(visit.user, "visit_started", str(visit.visit_id), f"until {until}")
        await asyncio.gather(*self._carry_out(actions, now))
        return None

    async def checkout(self, user: str, visit_id: UUID) -> str | None:
        now = self.clock()
        actions = self.book.checkout(user, visit_id, now)
        if isinstance(actions, str):
            return actions
        if actions:
            self.record(user, "visit_checked_out", str(visit_id), "")
        await asyncio.gather(*self._carry_out(actions, now))
        return None

    def position(self, user: str, visit_id: UUID, position: Position) -> str | None:
        """A position during the visit; once the timer has raised its alarm, the alarm's too."""
        now = self.clock()
        actions = self.book.position(user, visit_id, position, now)
        if isinstance(actions, str):
            return actions
        self._carry_out(actions, now)
        visit = self.book.get(user, visit_id)
        if actions and visit is not None and visit.alarm_id is not None:
            self.position_alarm(person_of(visit), visit.alarm_id, position)
        return None

    async def subscribe(
        self, token_hash: str, user: str, subscription: dict[str, Any]
    ) -> str | None:
        """A phone credential's push subscription (its newest), stored before the answer; or
        why central will not post to it."""
        reason = refusal(str(subscription.get("endpoint", "")), self.allow_private)
        if reason is not None:
            return reason
        await self.store.submit(stored.subscribed(token_hash, user, subscription, self.clock()))
        return None

    # --- carrying out ---------------------------------------------------------------------

    def _carry_out(self, actions: list[VisitAction], now: datetime) -> list[asyncio.Future[None]]:
        """Carry out ``actions``; the writes, for a route that answers once they are done."""
        writes: list[asyncio.Future[None]] = []
        for action in actions:
            if isinstance(action, StoreVisit):
                future = self.store.submit(stored.stored(action.visit))
                future.add_done_callback(self._written)
                writes.append(future)
            elif isinstance(action, AskPhone):
                self._ask_phone(action.visit)
            elif isinstance(action, AskDesk):
                self._ask_desk(action.visit, now)
            else:
                self._raise(action, now)
        return writes

    def _written(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("visit not stored: %s", future.exception())

    def _ask_phone(self, visit: Visit) -> None:
        if self.vapid is None:
            log.error("visit %s overdue: Web Push is off (no VAPID key)", visit.visit_id)
            return
        task = asyncio.create_task(self._push_all(visit), name="visit-push")
        self.pushes.add(task)
        task.add_done_callback(self.pushes.discard)

    async def _push_all(self, visit: Visit) -> None:
        """Every phone of the visitor's whose credential is still valid (read now, so a
        revocation by ``trygg-central token revoke`` counts too)."""
        found = await self.store.read(stored.subscriptions_of(visit.user, self.clock()))
        if not found:
            log.warning("visit %s overdue: %s has no push subscription", visit.visit_id, visit.user)
        for token_hash, subscription in found.items():
            await self._push(visit, token_hash, subscription)

    async def _push(self, visit: Visit, token_hash: str, subscription: dict[str, Any]) -> None:
        data = {
            "title": PUSH_TITLE,
            "body": PUSH_TEXT,
            "url": "/m",
            "visit_id": str(visit.visit_id),
        }
        reason = refusal(str(subscription.get("endpoint", "")), self.allow_private)
        if reason is not None:
            log.warning("visit %s: no push to %s: %s", visit.visit_id, visit.user, reason)
            return
        session = aiohttp.ClientSession() if self.allow_private else public_session()
        try:
            async with session:
                await webpush_async(
                    subscription_info=subscription,
                    data=json.dumps(data, ensure_ascii=False),
                    vapid_private_key=self.vapid,
                    vapid_claims={"sub": self.contact},
                    ttl=PUSH_TTL_S,
                    timeout=PUSH_TIMEOUT_S,
                    aiohttp_session=session,
                )
        except (PushRefused, aiohttp.ClientConnectorError) as exc:
            refused = exc if isinstance(exc, PushRefused) else exc.__cause__
            if isinstance(refused, PushRefused):  # from the check, or the resolver's
                log.warning("visit %s: no push to %s: %s", visit.visit_id, visit.user, refused)
            else:
                log.warning("visit %s: push to %s failed: %s", visit.visit_id, visit.user, exc)
            return
        except WebPushException as exc:
            gone = exc.response is not None and exc.response.status in (404, 410)
            if gone:  # the push service forgot the subscription: so do we
                await self.store.submit(stored.unsubscribed(token_hash))
            log.warning(
                "visit %s: push to %s failed%s: %s",
                visit.visit_id,
                visit.user,
                " (subscription gone, dropped)" if gone else "",
                exc,
            )
            return
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            log.warning("visit %s: push to %s failed: %s", visit.visit_id, visit.user, exc)
            return
        log.info("visit %s overdue: asked %s's phone", visit.visit_id, visit.user)

    def _ask_desk(self, visit: Visit, now: datetime) -> None:
        notice = VisitNotice(
            visit_id=visit.visit_id,
            site=visit.site,
            user=visit.user,
            name=visit.name,
            address=visit.address,
            until=visit.until,
            at=now,
        )
        frame = Prepared(encode_frame(notice))
        count = 0
        who = f"the desks of {visit.site}"
        if visit.colleague is not None:
            only = frozenset({visit.colleague})
            count = self.hub.broadcast(visit.site, frame, only, users=only)
            who = visit.colleague
        if count == 0:  # none chosen, or no screen of theirs is connected (or a wrong id)
            count = self.hub.broadcast(visit.site, frame)
            who = f"the desks of {visit.site}"
        log.warning(
            "visit %s of %s overdue: told %s (%d screens)", visit.visit_id, visit.user, who, count
        )
        self.record("central", "visit_overdue", str(visit.visit_id), f"{visit.user}; told {who}")

    def _raise(self, action: RaiseAssist, now: datetime) -> None:
        visit = action.visit
        request = PhoneRaise(
            level="assist", silent=False, raised_at=now, site=visit.site, position=visit.position
        )
        due = visit.due.isoformat()
        note = f"raised by the visit timer: no check-out of the home visit due {due}"
        refused = self.raise_alarm(person_of(visit), action.alarm_id, request, note)
        if refused is not None:
            log.error("visit %s: the alarm was refused: %s", visit.visit_id, refused)
            return
        log.warning("visit %s: no check-out, assist alarm %s", visit.visit_id, action.alarm_id)
