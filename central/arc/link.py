"""The ARC link's I/O shell: the outbox on disk, one task per site, TCP to the receivers.

Everything that decides (what to send, retries, the fallback, the link test, up/down) is in
:mod:`central.arc.session`; this shell only moves bytes and rows. Per site one task: it takes
offered events from a queue (``send`` never blocks), stores each (:mod:`central.arc.outbox`)
before it is offered to the session — so a restart sends every event not yet acknowledged —
and runs the session's ``Transmit`` actions one at a time: connect, write the frame, read the
answer, all within ``timeout``; a connection per message (DC-09 allows it, and a receiving
centre that restarted is then no special case). Every failure is logged and retried by the
session's rules; nothing here raises into central.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from central.arc.events import ArcEvent
from central.arc.frames import BadReply, encode, parse_reply
from central.arc.outbox import Outbox
from central.arc.session import (
    Account,
    Action,
    ArcSession,
    Delivered,
    LinkChanged,
    LinkState,
    Policy,
    Refused,
    Resynced,
    Status,
    Transmit,
)
from central.config import ArcSettings, CentralSettings

log = logging.getLogger(__name__)

PAD_ALPHABET = string.ascii_letters + string.digits
MAX_REPLY = 4096
T = TypeVar("T")


def random_pad(length: int) -> str:
    return "".join(secrets.choice(PAD_ALPHABET) for _ in range(length))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SiteLink:
    """One site's ARC, as the link needs it (see :meth:`from_settings`)."""

    site: str
    account: Account
    receivers: tuple[tuple[str, int], ...]
    key: bytes | None = field(default=None, repr=False)
    policy: Policy = field(default_factory=Policy)
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, site: str, arc: ArcSettings) -> SiteLink:
        receivers = []
        for address in arc.receivers:
            host, _, port = address.rpartition(":")
            receivers.append((host.strip("[]"), int(port)))
        account = Account(
            arc.account.upper(),
            "ADM-CID" if arc.format == "adm-cid" else "SIA-DCS",
            arc.line.upper(),
            arc.receiver_number.upper() if arc.receiver_number else None,
            arc.area,
        )
        policy = Policy(
            receivers=len(receivers),
            attempts=arc.attempts,
            retry_delay=timedelta(seconds=arc.retry_delay_s),
            pause=timedelta(seconds=arc.pause_s),
            link_test=timedelta(seconds=arc.link_test_s),
        )
        return cls(site, account, tuple(receivers), arc.key(), policy, arc.timeout_s)


def sites_of(settings: CentralSettings) -> list[SiteLink]:
    """Every configured site that has an ``[sites.arc]`` section."""
    return [SiteLink.from_settings(s.id, s.arc) for s in settings.sites if s.arc is not None]


def default_db(settings: CentralSettings) -> Path:
    """``arc.db`` next to central's database."""
    return settings.store.path.with_name("arc.db")


async def exchange(host: str, port: int, frame: bytes, timeout: float) -> bytes:
    """One DC-09 exchange over TCP: the answer's bytes (b"" if the peer closed silently).
    OSError or TimeoutError when there is no connection or no answer in time."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(frame)
            await writer.drain()
            answer = b""
            while len(answer) < MAX_REPLY:
                chunk = await reader.read(MAX_REPLY)
                if not chunk:
                    break
                answer += chunk
                if b"\r" in answer or answer.strip() == b'"NAK"':
                    break
            return answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class ArcLink:
    """Central's link to the alarm receiving centres of its sites (see the package doc)."""

    def __init__(
        self,
        sites: Sequence[SiteLink],
        db_path: Path,
        *,
        clock: Callable[[], datetime] = utc_now,
        pad: Callable[[int], str] = random_pad,
    ) -> None:
        self._sites = {s.site: s for s in sites}
        self._db_path = db_path
        self._clock = clock
        self._pad = pad
        self._sessions: dict[str, ArcSession] = {}
        self._inbox: dict[str, asyncio.Queue[ArcEvent]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="arc-outbox")
        self._outbox: Outbox | None = None
        self.delivered = 0  # events acknowledged since start
        self.refused = 0  # events the receiver answered DUH to
        self.repeats = 0  # events offered again (same key), not sent again

    @classmethod
    def from_settings(cls, settings: CentralSettings, db_path: Path | None = None) -> ArcLink:
        return cls(sites_of(settings), db_path or default_db(settings))

    # --- the API -----------------------------------------------------------------------------

    async def start(self) -> None:
        if not self._sites and not self._db_path.exists():
            return  # no site has (or had) an ARC: no outbox file, nothing to send
        now = self._clock()
        self._outbox = await self._on_disk(Outbox, self._db_path, now)
        for site in self._sites.values():
            self._sessions[site.site] = ArcSession(site.site, site.account, site.policy, now)
            self._inbox[site.site] = asyncio.Queue()
        unsent: dict[str, list[ArcEvent]] = {name: [] for name in self._sites}
        for event in await self._on_disk(self._outbox.pending):
            if event.site in unsent:
                unsent[event.site].append(event)
            else:
                log.error("ARC event %s of site %s, which has no ARC now", event.key, event.site)
        for name, events in unsent.items():
            task = asyncio.create_task(self._run(name, events), name=f"arc-{name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._outbox is not None:
            await self._on_disk(self._outbox.close)
            self._outbox = None
        self._disk.shutdown(wait=True)

    async def open_troubles(self) -> list[ArcEvent]:
        """The trouble events the ARCs were offered and never the restore of (for
        central.arc.troubles after a restart)."""
        if self._outbox is None:
            return []
        return await self._on_disk(self._outbox.open_troubles)

    def send(self, event: ArcEvent) -> None:
        """Queue an event for its site's ARC; never blocks. A site without an ARC: ignored."""
        inbox = self._inbox.get(event.site)
        if inbox is None:
            log.debug("no ARC for site %s: %s not sent", event.site, event.kind)
            return
        inbox.put_nowait(event)

    def state(self, site: str) -> LinkState | None:
        """The site's link: unknown / up / down, since when, why (None: no ARC)."""
        session = self._sessions.get(site)
        return session.state if session else None

    def faults(self) -> dict[str, LinkState]:
        """The sites whose ARC is unreachable ("ARC unreachable" for facility managers)."""
        return {s: x.state for s, x in self._sessions.items() if x.state.status == Status.DOWN}

    def pending(self, site: str) -> int:
        """Events of the site not yet acknowledged (queued, in memory)."""
        session = self._sessions.get(site)
        return session.pending if session else 0

    # --- the site's task ---------------------------------------------------------------------

    async def _run(self, site: str, unsent: list[ArcEvent]) -> None:
        session = self._sessions[site]
        inbox = self._inbox[site]
        for event in unsent:  # stored before a restart, never acknowledged: first in line
            await self._apply(site, session.offer(event, self._clock()))
        while True:
            try:
                await self._step(site, session, inbox)
            except Exception:  # a bug here must not end the site's link for good
                log.exception("ARC link of %s: unexpected error; going on", site)
                await asyncio.sleep(1)

    async def _step(self, site: str, session: ArcSession, inbox: asyncio.Queue[ArcEvent]) -> None:
        await self._apply(site, session.due(self._clock()))
        wake = session.next_due()
        wait = None if wake is None else max(0.0, (wake - self._clock()).total_seconds())
        try:
            async with asyncio.timeout(wait):
                event = await inbox.get()
        except TimeoutError:
            return
        await self._offer(site, session, event)

    async def _offer(self, site: str, session: ArcSession, event: ArcEvent) -> None:
        try:
            new = await self._on_disk(self._box().add, event)
        except Exception:
            log.exception("ARC outbox: cannot store %s; sending it anyway", event.unique)
            new = True
        if new:
            await self._apply(site, session.offer(event, self._clock()))
        else:
            self.repeats += 1
            log.info("ARC event %s of %s was offered before: not sent again", event.unique, site)

    async def _apply(self, site: str, actions: list[Action]) -> None:
        work = list(actions)
        while work:
            action = work.pop(0)
            if isinstance(action, Transmit):
                work += await self._transmit(site, action)
            elif isinstance(action, Delivered | Refused):
                await self._done(action)
            elif isinstance(action, LinkChanged):
                state = action.state
                report = log.warning if state.status == Status.DOWN else log.info
                report("ARC link of %s is %s %s", site, state.status.value, state.reason)
            elif isinstance(action, Resynced):
                log.warning("ARC of %s: clock resynced by %s (NAK)", site, action.offset)

    async def _transmit(self, site: str, action: Transmit) -> list[Action]:
        config = self._sites[site]
        session = self._sessions[site]
        host, port = config.receivers[action.receiver]
        frame = encode(action.frame, config.key, self._pad)
        what = action.frame.format if action.event is None else action.event.unique
        try:
            raw = await exchange(host, port, frame, config.timeout)
        except (OSError, TimeoutError) as err:
            reason = f"{type(err).__name__}: {err}".rstrip(": ")
            log.warning("ARC %s:%d (%s, %s): %s", host, port, site, what, reason)
            return session.failed(reason, self._clock())
        if not raw:
            log.warning("ARC %s:%d (%s, %s): closed without an answer", host, port, site, what)
            return session.failed("closed without an answer", self._clock())
        reply = parse_reply(raw, config.key)
        if isinstance(reply, BadReply):
            log.warning("ARC %s:%d (%s, %s): %s", host, port, site, what, reply.reason)
            return session.failed(reply.reason, self._clock())
        if reply.kind not in ("ACK", "RSP"):
            log.warning("ARC %s:%d (%s, %s): %s", host, port, site, what, reply.kind)
        return session.answered(reply, self._clock())

    async def _done(self, action: Delivered | Refused) -> None:
        refused = isinstance(action, Refused)
        if refused:
            self.refused += 1
            log.error("ARC of %s cannot take %s (DUH)", action.site, action.event.unique)
        else:
            self.delivered += 1
        state = "refused" if refused else "delivered"
        try:
            await self._on_disk(self._box().done, action.event, state, self._clock())
        except Exception:
            log.exception("ARC outbox: cannot mark %s %s", action.event.unique, state)

    def _box(self) -> Outbox:
        if self._outbox is None:
            raise RuntimeError("the ARC link is not started")
        return self._outbox

    async def _on_disk(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._disk, fn, *args)
