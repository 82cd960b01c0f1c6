"""Standby for a risky meeting (STANDARD 2.2), without I/O: registered, asked, answered, over.

An employee who expects a difficult meeting registers it ahead: where (a room of the site, or
outside the office at an address), when, how worried they are, a short note without the
client's identity, and who should be on standby (named responders of the site, or any
responder). The book asks those colleagues at once and again shortly before the start
(:data:`REMIND_BEFORE`); each confirms or declines. During the window, an alarm from the room
(or from the employee's own desk or phone) names the confirmed colleagues, who get it first
(``central.core.alarms``: ``standby`` on the alarm).

Two rules shape it:

* **Safety first.** Standby only ever *adds* people to an alarm's audience and orders who is
  sent to first, in the same fan-out; nobody else's alarm waits for it. So this book is asked
  a question (:meth:`StandbyBook.standby_for`) and never holds up an alarm.
* **Every registration is the record of the assessment.** A meeting is never deleted: ending
  it early or cancelling it ("I decided not to hold this meeting") is recorded on it, and every
  change is written whole (:class:`StoreMeeting`), so a restart restores the book as it was.

Refusals change nothing and say why (:class:`Refused`), like the alarm book's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

#: A reminder goes to the standby colleagues this long before the start.
REMIND_BEFORE = timedelta(minutes=15)
MAX_NOTE = 200
#: The longest meeting window: a room must not stay "on standby" on the board for ever.
MAX_MEETING = timedelta(hours=12)
MAX_ADDRESS = 200
CANCEL_WORDS = "I decided not to hold this meeting"


class Concern(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Answer(StrEnum):
    ASKED = "asked"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Colleague:
    """A colleague asked to stand by, and their answer (``at``: when they gave it)."""

    user: str
    name: str
    answer: Answer = Answer.ASKED
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeetingRequest:
    """What the employee registers. ``room`` None: outside the office, at ``address``.
    ``standby`` empty with ``any_responder``: every responder of the site is asked."""

    site: str
    start: datetime
    end: datetime
    concern: Concern
    room: str | None = None
    address: str = ""
    note: str = ""
    standby: tuple[str, ...] = ()
    any_responder: bool = False


@dataclass(frozen=True, slots=True)
class Meeting:
    meeting_id: UUID
    owner: str
    owner_name: str
    site: str
    room: str | None  # None: outside the office
    address: str
    start: datetime
    end: datetime
    concern: Concern
    note: str
    any_responder: bool
    colleagues: tuple[Colleague, ...]
    registered_at: datetime
    reminded: bool = False
    ended_at: datetime | None = None  # ended early by the employee
    cancelled_at: datetime | None = None
    cancel_reason: str = ""

    @property
    def over(self) -> bool:
        return self.ended_at is not None or self.cancelled_at is not None

    def during(self, now: datetime) -> bool:
        """Whether the meeting is on at ``now`` (its window, not ended nor cancelled)."""
        return not self.over and self.start <= now < self.end

    @property
    def confirmed(self) -> tuple[Colleague, ...]:
        return tuple(c for c in self.colleagues if c.answer is Answer.CONFIRMED)


@dataclass(frozen=True, slots=True)
class StoreMeeting:
    """Write the meeting's row whole (insert or replace)."""

    meeting: Meeting


@dataclass(frozen=True, slots=True)
class AskStandby:
    """Tell these colleagues' desks: will you stand by? (``reminder``: the second time.)"""

    meeting: Meeting
    users: tuple[str, ...]
    reminder: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


StandbyAction = StoreMeeting | AskStandby | Refused


class StandbyBook:
    """Every registered meeting; restore with :meth:`restore`."""

    def __init__(self, meetings: Iterable[Meeting] = ()) -> None:
        self._meetings: dict[UUID, Meeting] = {m.meeting_id: m for m in meetings}

    @classmethod
    def restore(cls, meetings: Iterable[Meeting]) -> StandbyBook:
        return cls(meetings)

    # --- queries -------------------------------------------------------------------------

    def get(self, meeting_id: UUID) -> Meeting | None:
        return self._meetings.get(meeting_id)

    def of(self, user: str) -> tuple[Meeting, ...]:
        """The meetings ``user`` registered, newest window first."""
        return self._sorted(m for m in self._meetings.values() if m.owner == user)

    def at_sites(self, covers: Callable[[str], bool]) -> tuple[Meeting, ...]:
        """The meetings of the sites ``covers`` says yes to, newest window first."""
        return self._sorted(m for m in self._meetings.values() if covers(m.site))

    def asked(self, user: str, now: datetime) -> tuple[Meeting, ...]:
        """The meetings not yet over (nor past) that ask ``user`` to stand by."""
        return self._sorted(
            m
            for m in self._meetings.values()
            if not m.over and m.end > now and any(c.user == user for c in m.colleagues)
        )

    def standby_for(
        self, site: str, rooms: frozenset[str], raised_by: str | None, now: datetime
    ) -> tuple[Colleague, ...]:
        """The confirmed colleagues for an alarm raised at ``now``: of each meeting on then
        in one of ``rooms`` of ``site`` (the alarm's room by its device and by the floor
        plan), or registered by ``raised_by`` (their desk or phone)."""
        found: dict[str, Colleague] = {}
        for meeting in self._sorted(self._meetings.values()):
            if not meeting.during(now):
                continue
            in_room = meeting.site == site and meeting.room in rooms
            theirs = raised_by is not None and meeting.owner == raised_by
            if in_room or theirs:
                for colleague in meeting.confirmed:
                    found.setdefault(colleague.user, colleague)
        return tuple(found.values())

    def on_now(self, site: str, now: datetime) -> tuple[Meeting, ...]:
        """The meetings of ``site`` on at ``now`` (the board's "standby" per room)."""
        return tuple(
            m for m in self._sorted(self._meetings.values()) if m.site == site and m.during(now)
        )

    # --- changes -------------------------------------------------------------------------

    def register(
        self,
        meeting_id: UUID,
        owner: str,
        owner_name: str,
        request: MeetingRequest,
        responders: Mapping[str, str],
        rooms: frozenset[str],
        now: datetime,
    ) -> list[StandbyAction]:
        """A new meeting. ``responders``: the site's responders (user → name) who may stand
        by; ``rooms``: the site's rooms. Refused (nothing kept) when the window is not
        ahead, a room or colleague is not the site's, or nobody would be asked."""
        refused = _check(request, owner, responders, rooms, now)
        if refused is not None:
            return [Refused(refused)]
        if meeting_id in self._meetings:
            return [Refused("meeting_id_taken")]
        users = tuple(sorted(set(responders) - {owner})) if request.any_responder else ()
        users = users or tuple(dict.fromkeys(request.standby))
        meeting = Meeting(
            meeting_id=meeting_id,
            owner=owner,
            owner_name=owner_name,
            site=request.site,
            room=request.room,
            address=request.address.strip() if request.room is None else "",
            start=request.start,
            end=request.end,
            concern=request.concern,
            note=request.note.strip(),
            any_responder=request.any_responder,
            colleagues=tuple(Colleague(u, responders[u]) for u in users),
            registered_at=now,
            reminded=request.start - now <= REMIND_BEFORE,  # asked now: that is the reminder
        )
        self._meetings[meeting_id] = meeting
        return [StoreMeeting(meeting), AskStandby(meeting, users)]

    def answer(
        self, meeting_id: UUID, user: str, confirm: bool, now: datetime
    ) -> list[StandbyAction]:
        """A colleague's answer: only one asked, while the meeting is not over."""
        meeting = self._meetings.get(meeting_id)
        if meeting is None:
            return [Refused("unknown_meeting")]
        if not any(c.user == user for c in meeting.colleagues):
            return [Refused("not_asked")]
        if meeting.over or meeting.end <= now:
            return [Refused("meeting_over")]
        answer = Answer.CONFIRMED if confirm else Answer.DECLINED
        colleagues = tuple(
            replace(c, answer=answer, at=now) if c.user == user else c for c in meeting.colleagues
        )
        return self._change(meeting, colleagues=colleagues)

    def end(self, meeting_id: UUID, user: str, now: datetime) -> list[StandbyAction]:
        """The employee ends the meeting (early, or it is over): no more standby."""
        meeting, refused = self._own(meeting_id, user)
        if meeting is None:
            return [Refused(refused)]
        return self._change(meeting, ended_at=now)

    def cancel(
        self, meeting_id: UUID, user: str, now: datetime, reason: str = ""
    ) -> list[StandbyAction]:
        """The employee decides not to hold the meeting (the standard lets them abort)."""
        meeting, refused = self._own(meeting_id, user)
        if meeting is None:
            return [Refused(refused)]
        words = reason.strip()[:MAX_NOTE] or CANCEL_WORDS
        return self._change(meeting, cancelled_at=now, cancel_reason=words)

    def tick(self, now: datetime) -> list[StandbyAction]:
        """Reminders due at ``now``: once per meeting, :data:`REMIND_BEFORE` its start, to
        every colleague who has not declined."""
        actions: list[StandbyAction] = []
        # Every registration is kept for ever: only those still to remind are looked at.
        due = (m for m in self._meetings.values() if not (m.reminded or m.over))
        for meeting in self._sorted(due):
            if meeting.start - now > REMIND_BEFORE:
                continue
            changed = self._change(meeting, reminded=True)
            actions.extend(changed)
            users = tuple(c.user for c in meeting.colleagues if c.answer is not Answer.DECLINED)
            if users and meeting.end > now:
                actions.append(AskStandby(self._meetings[meeting.meeting_id], users, True))
        return actions

    # --- helpers -------------------------------------------------------------------------

    def _own(self, meeting_id: UUID, user: str) -> tuple[Meeting | None, str]:
        meeting = self._meetings.get(meeting_id)
        if meeting is None or meeting.owner != user:
            return None, "unknown_meeting"
        if meeting.over:
            return None, "meeting_over"
        return meeting, ""

    def _change(self, meeting: Meeting, **update: object) -> list[StandbyAction]:
        changed = replace(meeting, **update)  # type: ignore[arg-type]
        self._meetings[meeting.meeting_id] = changed
        return [StoreMeeting(changed)]

    @staticmethod
    def _sorted(meetings: Iterable[Meeting]) -> tuple[Meeting, ...]:
        return tuple(sorted(meetings, key=lambda m: (m.start, str(m.meeting_id)), reverse=True))


def _check(
    request: MeetingRequest,
    owner: str,
    responders: Mapping[str, str],
    rooms: frozenset[str],
    now: datetime,
) -> str | None:
    """Why ``request`` cannot be registered, or None."""
    if request.end <= request.start:
        return "end_before_start"
    if request.end <= now:
        return "window_in_the_past"
    if request.end - request.start > MAX_MEETING:
        return "window_too_long"
    if request.room is None:
        if not request.address.strip():
            return "address_missing"
        if len(request.address) > MAX_ADDRESS:
            return "address_too_long"
    elif request.room not in rooms:
        return "unknown_room"
    if len(request.note) > MAX_NOTE:
        return "note_too_long"
    if request.any_responder:
        if not set(responders) - {owner}:
            return "no_responder"
        return None
    if not request.standby:
        return "no_standby_chosen"
    if owner in request.standby or any(u not in responders for u in request.standby):
        return "not_a_responder_of_the_site"
    return None
