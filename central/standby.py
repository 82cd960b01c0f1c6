"""Standby for risky meetings, wired: the pure book (central.core.standby) to the store, the
screens and the alarm book.

What it adds to an alarm is decided in the same loop turn as the alarm itself
(:meth:`Standby.route`): the confirmed colleagues are named on the alarm before its first
broadcast, and ``central.service`` sends their screens the alarm first in that same fan-out.
Nothing here waits, and nothing here can stop an alarm: a bug in it is logged and the alarm
goes as it would have without standby (safety first, docs/standby.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from central.audit.trail import Trail
from central.config import CentralSettings
from central.core import Action, AlarmBook, Broadcast, Persist, Person
from central.core.standby import (
    AskStandby,
    Meeting,
    MeetingRequest,
    Refused,
    StandbyAction,
    StandbyBook,
    StoreMeeting,
)
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from central.registry import Registry
from central.store import Store
from central.store import meetings as stored
from protocol.messages import Responder
from protocol.screen import AlarmNew, AlarmView, StandbyFrame, encode_frame

log = logging.getLogger("central.standby")


def standby_frame(meeting: Meeting, user: str, reminder: bool = False) -> StandbyFrame:
    answer = next((c.answer.value for c in meeting.colleagues if c.user == user), "asked")
    return StandbyFrame(
        meeting_id=meeting.meeting_id,
        site=meeting.site,
        owner=meeting.owner,
        owner_name=meeting.owner_name,
        room=meeting.room,
        address=meeting.address,
        start=meeting.start,
        end=meeting.end,
        concern=meeting.concern.value,
        note=meeting.note,
        answer=answer,
        reminder=reminder,
    )


class Standby:
    """Create with central's parts; ``await start()`` after the store is open."""

    def __init__(
        self,
        settings: CentralSettings,
        registry: Registry,
        store: Store,
        hub: Hub,
        trail: Trail,
        changed: Callable[[str], None],
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.store = store
        self.hub = hub
        self.trail = trail
        self.changed = changed  # the site's boards
        self.book = StandbyBook()
        self._writes: set[asyncio.Future[None]] = set()  # submitted, not yet committed

    async def settled(self) -> None:
        """Until every change made so far is on disk (an API answer promises the record)."""
        pending = tuple(self._writes)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def start(self) -> None:
        found = await self.store.read(stored.meetings)
        self.book = StandbyBook.restore(found)
        log.info("restored %d meetings with standby", len(found))

    # --- what the API asks ---------------------------------------------------------------

    def rooms(self, site: str) -> frozenset[str]:
        """The site's rooms: its devices' rooms and its floor plan's rooms."""
        names = {d.room for d in self.registry.devices_at(site)}
        plan = self.settings.site(site)
        if plan is not None:
            names |= {r.name for r in plan.rooms}
        return frozenset(names)

    def register(
        self,
        person: Person,
        meeting_id: UUID,
        request: MeetingRequest,
        responders: dict[str, str],
        now: datetime,
    ) -> Meeting | str:
        """A new meeting, or why not (nothing kept then)."""
        rooms = self.rooms(request.site)
        actions = self.book.register(
            meeting_id, person.user_id, person.name, request, responders, rooms, now
        )
        refused = self._carry_out(actions)
        if refused is not None:
            return refused
        meeting = self.book.get(meeting_id)
        if meeting is None:  # pragma: no cover - registered just above
            return "unknown_meeting"
        where = meeting.room or "outside the office"
        self.trail.record(person.user_id, "meeting_registered", str(meeting_id), where)
        return meeting

    def answer(self, person: Person, meeting_id: UUID, confirm: bool, now: datetime) -> str | None:
        refused = self._carry_out(self.book.answer(meeting_id, person.user_id, confirm, now))
        if refused is None:
            word = "confirmed" if confirm else "declined"
            self.trail.record(person.user_id, f"standby_{word}", str(meeting_id))
            meeting = self.book.get(meeting_id)
            if meeting is not None:  # the colleague's desks show the answer
                frame = Prepared(encode_frame(standby_frame(meeting, person.user_id)))
                self._to_users(meeting.site, frame, (person.user_id,))
        return refused

    def end(self, person: Person, meeting_id: UUID, now: datetime) -> str | None:
        refused = self._carry_out(self.book.end(meeting_id, person.user_id, now))
        if refused is None:
            self.trail.record(person.user_id, "meeting_ended", str(meeting_id))
        return refused

    def cancel(self, person: Person, meeting_id: UUID, now: datetime, reason: str) -> str | None:
        refused = self._carry_out(self.book.cancel(meeting_id, person.user_id, now, reason))
        if refused is None:
            self.trail.record(person.user_id, "meeting_cancelled", str(meeting_id))
        return refused

    # --- what central's loop asks --------------------------------------------------------

    def tick(self, now: datetime) -> None:
        self._carry_out(self.book.tick(now))

    def joined(self, screen: Screen, now: datetime) -> None:
        """A desk connected: every open request to its person, again (it may have missed it)."""
        user = screen.person.user_id
        for meeting in self.book.asked(user, now):
            self.hub.send(screen, Prepared(encode_frame(standby_frame(meeting, user))))

    def route(self, book: AlarmBook, actions: list[Action], now: datetime) -> list[Action]:
        """A new alarm among ``actions`` from a meeting with standby names its confirmed
        colleagues (so they get it first, and every screen names them); the rest as it was."""
        try:
            return self._route(book, actions, now)
        except Exception:  # never in the way of an alarm
            log.exception("standby routing failed; the alarm goes without it")
            return actions

    def _route(self, book: AlarmBook, actions: list[Action], now: datetime) -> list[Action]:
        named: dict[UUID, AlarmView] = {}
        for action in actions:
            # A new alarm: its first broadcast (a resend before the first commit has none).
            if not (isinstance(action, Broadcast) and isinstance(action.frame, AlarmNew)):
                continue
            view = book.get(action.frame.alarm.alarm_id)
            if view is None or view.test or view.standby:
                continue
            colleagues = self.book.standby_for(view.site, self._rooms_of(view), view.raised_by, now)
            people = tuple(Responder(user=c.user, name=c.name, at=c.at or now) for c in colleagues)
            shown = book.stand_by(view.alarm_id, people)
            if shown is not None:
                named[view.alarm_id] = shown
                names = ", ".join(c.name for c in colleagues)
                log.info("alarm %s: standby first: %s", view.alarm_id, names)
        if not named:
            return actions
        out: list[Action] = []
        for action in actions:
            if isinstance(action, Broadcast) and isinstance(action.frame, AlarmNew):
                view = named.get(action.frame.alarm.alarm_id)
                if view is not None:
                    action = Broadcast(action.site, AlarmNew(alarm=view), only=action.only)
            elif isinstance(action, Persist) and action.alarm is not None:
                view = named.get(action.alarm_id)
                if view is not None:  # the record names them from its first write
                    row = action.alarm.model_copy(update={"standby": view.standby})
                    action = replace(action, alarm=row)
            out.append(action)
        return out

    def _rooms_of(self, view: AlarmView) -> frozenset[str]:
        rooms = {view.room}
        plan = self.settings.site(view.site)
        if plan is not None and (room := plan.room_of(view.device, view.room)) is not None:
            rooms.add(room.name)
        return frozenset(rooms)

    # --- outputs -------------------------------------------------------------------------

    def _carry_out(self, actions: list[StandbyAction]) -> str | None:
        for action in actions:
            if isinstance(action, Refused):
                return action.reason
            if isinstance(action, StoreMeeting):
                self._store(action.meeting)
                self.changed(action.meeting.site)
            elif isinstance(action, AskStandby):
                for user in action.users:
                    frame = standby_frame(action.meeting, user, action.reminder)
                    self._to_users(action.meeting.site, Prepared(encode_frame(frame)), (user,))
        return None

    def _to_users(self, site: str, frame: Prepared, users: tuple[str, ...]) -> None:
        chosen = frozenset(users)
        self.hub.broadcast(site, frame, chosen, users=chosen)

    def _store(self, meeting: Meeting) -> None:
        def done(future: asyncio.Future[None]) -> None:
            self._writes.discard(future)
            if not future.cancelled() and future.exception() is not None:
                log.error("meeting %s not stored: %s", meeting.meeting_id, future.exception())

        future = self.store.submit(stored.saved(meeting))
        self._writes.add(future)
        future.add_done_callback(done)
