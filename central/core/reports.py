"""Incident reports (STANDARD 2.4), without I/O: what a report holds, who is asked to file one,
who may see it, who is told, and when it is anonymised.

The standard asks staff to report to their manager *and* the safety representative when they
or others are exposed to violence or threats, and asks that the routine gives both of them
insight. So this module answers four questions, each with ``now`` passed in:

* **What is a report?** A short structured form (:class:`Draft`): what happened
  (:class:`Kind`, one or more), where (:class:`Place`, the site and room), when, injuries,
  police involved, needs follow-up, and free text. :func:`check` refuses a draft that is
  incomplete or over its limits and says why; nothing is kept then.
* **Who is asked to file one?** After a *real* alarm is resolved (never a test or a drill, never
  an alarm merged into a flood card), :func:`asks_for` names the people asked: the person who
  raised it (a desk's silent alarm, a phone's alarm), else the employee who registered a meeting
  in that room at that time (:func:`meeting_owners`, from ``central.core.standby``: central
  does not know which desk sits in which room), else the colleagues who answered "I'm coming"
  (someone who was there should write it down).
* **Who may see it?** Deny by default (:func:`may_read`): the person who filed it; the site's
  leader and safety representative; an admin of the site (export, retention). Nobody else, not
  even a responder of the site. Only the leader and the safety representative mark it seen, and
  only the leader records the follow-up.
* **How long is it kept?** :func:`due_for_retention` and :func:`anonymised`: once a report is
  older than its site's retention setting, the free text, the room, the follow-up's text and
  every name are removed, it gets a new id and its times are cut to the day, so nothing kept
  elsewhere (the audit trail, an e-mail's link, a read log) joins back to it; what it was
  (kinds, place, injuries, police, follow-up needed), its site, its day and its
  seen/followed-up marks stay, so the office's statistics still count it.

E-mail is told to the leader and the safety representative (:func:`recipients`) with a text
that carries no detail of the report (:func:`mail_text`): an e-mail is copied, forwarded and
kept by mail servers outside the retention setting's reach, so it only says that there is a new
report at a site, and where to open it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from central.core.model import Person, Role
from central.core.standby import Meeting
from protocol.screen import AlarmState, AlarmView

#: The limits of the form (characters).
MAX_TEXT = 2000
MAX_ROOM = 100
MAX_FOLLOW_UP = 2000
#: A report may be dated a little ahead (a clock off by minutes), never more.
FUTURE_SLACK = timedelta(minutes=10)
#: A report about something longer ago than this is refused: file it in the employer's system.
OLDEST = timedelta(days=366)
#: Kept for five years unless the site says otherwise (docs/reports.md says why).
DEFAULT_RETENTION_DAYS = 5 * 365 + 1
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 20 * 365
#: E-mail retries: the first after this, doubling up to the settings' cap.
FIRST_RETRY = timedelta(seconds=5)


class Kind(StrEnum):
    THREAT = "threat"
    VIOLENCE = "violence"
    HARASSMENT = "harassment"
    DAMAGE = "damage"
    OTHER = "other"


class Place(StrEnum):
    OFFICE = "office"  # in a meeting room, at reception, in the office
    OUTSIDE = "outside"  # a home visit, in a car, elsewhere outside the office
    PHONE_VIDEO = "phone_video"  # on the phone or in a video meeting


class Injuries(StrEnum):
    NONE = "none"
    MINOR = "minor"  # first aid
    SERIOUS = "serious"  # a doctor, a hospital, sick leave


class Why(StrEnum):
    """Why someone is asked to file a report after an alarm."""

    RAISER = "raiser"  # raised it (desk, phone)
    MEETING = "meeting"  # registered a meeting in the alarm's room at that time
    RESPONDER = "responder"  # answered "I'm coming" (nobody else is known)


class Seat(StrEnum):
    """The two who must have insight (2.4); each marks a report seen on their own."""

    LEADER = "leader"
    SAFETY_REP = "safety_rep"


#: Roles that read every report of their sites (a route's site check is the data's).
READERS = frozenset({Role.LEADER, Role.SAFETY_REP, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Draft:
    """What the person filing writes. ``alarm_id``: the alarm it follows, if any."""

    site: str
    kinds: tuple[Kind, ...]
    place: Place
    occurred_at: datetime
    injuries: Injuries
    police: bool
    follow_up_needed: bool
    text: str = ""
    room: str = ""
    alarm_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Seen:
    """A leader's or safety representative's "seen" (``user``/``name`` empty once anonymised)."""

    seat: Seat
    user: str
    name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The leader's follow-up (``text``, ``by``, ``by_name`` empty once anonymised)."""

    text: str
    by: str
    by_name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Report:
    report_id: UUID
    site: str
    filed_by: str  # "" once anonymised
    filed_by_name: str
    filed_at: datetime
    alarm_id: UUID | None
    from_alarm: bool  # kept when anonymised (the alarm's id is not)
    kinds: tuple[Kind, ...]
    place: Place
    room: str
    occurred_at: datetime
    injuries: Injuries
    police: bool
    follow_up_needed: bool
    text: str
    seen: tuple[Seen, ...] = ()
    follow_up: FollowUp | None = None
    anonymised_at: datetime | None = None

    def seen_by(self, seat: Seat | str) -> tuple[Seen, ...]:
        return tuple(s for s in self.seen if s.seat == seat)


@dataclass(frozen=True, slots=True)
class Ask:
    """``user`` is asked to file a report on ``alarm_id`` (an alarm of ``site``)."""

    alarm_id: UUID
    site: str
    user: str
    why: Why


# --- filing --------------------------------------------------------------------------------


def check(draft: Draft, now: datetime) -> str | None:
    """Why ``draft`` cannot be filed, or None. (Whether its site and alarm are the person's is
    the shell's to check: it knows them.)"""
    if not draft.kinds:
        return "no_kind"
    if len(set(draft.kinds)) != len(draft.kinds):
        return "kind_repeated"
    if len(draft.text) > MAX_TEXT:
        return "text_too_long"
    if len(draft.room) > MAX_ROOM:
        return "room_too_long"
    if draft.occurred_at.tzinfo is None:
        return "time_without_zone"
    if draft.occurred_at > now + FUTURE_SLACK:
        return "in_the_future"
    if draft.occurred_at < now - OLDEST:
        return "too_old"
    return None


def file(report_id: UUID, person: Person, draft: Draft, now: datetime) -> Report | str:
    """The report ``person`` files, or why not (nothing kept then)."""
    refused = check(draft, now)
    if refused is not None:
        return refused
    return Report(
        report_id=report_id,
        site=draft.site,
        filed_by=person.user_id,
        filed_by_name=person.name,
        filed_at=now,
        alarm_id=draft.alarm_id,
        from_alarm=draft.alarm_id is not None,
        kinds=tuple(k for k in Kind if k in draft.kinds),  # one order, whatever the form's
        place=draft.place,
        room=draft.room.strip(),
        occurred_at=draft.occurred_at,
        injuries=draft.injuries,
        police=draft.police,
        follow_up_needed=draft.follow_up_needed,
        text=draft.text.strip(),
    )


# --- who may do what -----------------------------------------------------------------------


def seats(person: Person, site: str) -> frozenset[Seat]:
    """The seats ``person`` holds at ``site``: leader, safety representative, both or none."""
    if not person.covers(site):
        return frozenset()
    held = {Seat.LEADER} if Role.LEADER in person.roles else set()
    if Role.SAFETY_REP in person.roles:
        held.add(Seat.SAFETY_REP)
    return frozenset(held)


def reads_site(person: Person, site: str) -> bool:
    """Whether ``person`` reads every report of ``site`` (leader, safety rep, admin of it)."""
    return person.covers(site) and bool(person.roles & READERS)


def may_read(person: Person, report: Report) -> bool:
    """Deny by default: the person who filed it, and those who read the site's reports."""
    own = bool(report.filed_by) and report.filed_by == person.user_id
    return own or reads_site(person, report.site)


def may_read_log(person: Person, site: str) -> bool:
    """Who read which report when: the safety representative (and the admin) of the site."""
    return person.covers(site) and bool(person.roles & {Role.SAFETY_REP, Role.ADMIN})


def mark_seen(report: Report, person: Person, now: datetime) -> tuple[Seen, ...] | str:
    """The marks ``person`` adds (one per seat they hold and have not marked yet), or why not."""
    held = seats(person, report.site)
    if not held:
        return "not_leader_or_safety_rep"
    if report.anonymised_at is not None:
        return "anonymised"
    done = {(s.seat, s.user) for s in report.seen}
    added = tuple(
        Seen(seat, person.user_id, person.name, now)
        for seat in sorted(held)
        if (seat, person.user_id) not in done
    )
    return added


def follow_up(report: Report, person: Person, text: str, now: datetime) -> FollowUp | str:
    """The leader's follow-up (a later one replaces it: the audit trail keeps each), or why not."""
    if Seat.LEADER not in seats(person, report.site):
        return "not_leader"
    if report.anonymised_at is not None:
        return "anonymised"
    words = text.strip()
    if not words:
        return "follow_up_empty"
    if len(words) > MAX_FOLLOW_UP:
        return "follow_up_too_long"
    return FollowUp(words, person.user_id, person.name, now)


# --- who is asked after an alarm -----------------------------------------------------------


def meeting_owners(
    meetings: Iterable[Meeting], site: str, rooms: frozenset[str], at: datetime
) -> tuple[str, ...]:
    """Who registered a meeting in one of ``rooms`` of ``site`` that was on at ``at`` (an
    alarm's press): not ended nor cancelled before it."""
    found: dict[str, None] = {}
    for meeting in meetings:
        if meeting.site != site or meeting.room not in rooms:
            continue
        if not meeting.start <= at < meeting.end:
            continue
        stopped = meeting.ended_at or meeting.cancelled_at
        if stopped is not None and stopped <= at:
            continue
        found[meeting.owner] = None
    return tuple(found)


def asks_for(alarm: AlarmView, owners: tuple[str, ...] = ()) -> tuple[Ask, ...]:
    """Who is asked to file a report on ``alarm``, once it is resolved: its raiser; else the
    owners of a meeting in its room then (``owners``); else those who said "I'm coming".
    Nobody for a test or a drill, an unresolved alarm, or one merged into a flood card."""
    if alarm.test or alarm.drill or alarm.state is not AlarmState.RESOLVED:
        return ()
    if alarm.merged_into is not None:
        return ()
    if alarm.raised_by:
        users: tuple[str, ...] = (alarm.raised_by,)
        why = Why.RAISER
    elif owners:
        users, why = owners, Why.MEETING
    else:
        users = tuple(dict.fromkeys(r.user for r in alarm.responders))
        why = Why.RESPONDER
    return tuple(Ask(alarm.alarm_id, alarm.site, user, why) for user in users)


def alarm_refusal(site: str, alarm_site: str, *, real: bool) -> str | None:
    """Why a report of ``site`` may not name an alarm of ``alarm_site``, or None: a test or a
    drill is not an incident, and a report is of its alarm's site (the alarm's site is the
    record's, from the device registry; the form's choice cannot move it)."""
    if not real:
        return "alarm_not_real"
    if alarm_site != site:
        return "alarm_other_site"
    return None


def closes(ask: Ask, report: Report) -> bool:
    """Whether filing ``report`` answers ``ask``: the asked person's own report on the alarm;
    for colleagues asked only because they came, anyone's report on it."""
    if report.alarm_id != ask.alarm_id:
        return False
    return report.filed_by == ask.user or ask.why is Why.RESPONDER


# --- who is told by e-mail, and what ---------------------------------------------------------


def recipients(
    site: str, people: Iterable[Person], emails: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """(user, address) of each leader and safety representative of ``site`` with an address."""
    found: dict[str, str] = {}
    for person in sorted(people, key=lambda p: p.user_id):
        if seats(person, site) and emails.get(person.user_id):
            found.setdefault(person.user_id, emails[person.user_id])
    return tuple(found.items())


def mail_text(site_name: str, link: str) -> tuple[str, str]:
    """(subject, body): that there is a new report at ``site_name``, and where to open it;
    nothing else (no kind, no names, no free text)."""
    subject = f"Ny hendelsesrapport – {site_name} / New incident report"
    body = (
        f"Det er levert en ny hendelsesrapport ved {site_name}.\n"
        f"Åpne den i Trygg: {link}\n"
        "\n"
        "E-posten sier med vilje ikke hva som skjedde: les rapporten i Trygg.\n"
        "\n"
        f"A new incident report has been filed at {site_name}.\n"
        f"Open it in Trygg: {link}\n"
        "\n"
        "This e-mail deliberately says nothing of what happened: read the report in Trygg.\n"
    )
    return subject, body


def retry_after(attempts: int, cap: timedelta) -> timedelta:
    """How long to wait after the ``attempts``-th failed try (1, 2, …): doubling, capped."""
    delay: timedelta = FIRST_RETRY * int(2 ** max(0, min(attempts - 1, 20)))
    return min(delay, cap)


# --- retention -----------------------------------------------------------------------------


def due_for_retention(report: Report, now: datetime, days: int) -> bool:
    """Older than ``days`` since it was filed, and not anonymised yet."""
    return report.anonymised_at is None and report.filed_at <= now - timedelta(days=days)


def day_of(at: datetime) -> datetime:
    """Midnight of ``at``'s day, in ``at``'s zone (UTC in the store)."""
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def anonymised(report: Report, now: datetime, new_id: UUID) -> Report:
    """``report`` with everything that could name or describe a person removed: its text, room,
    alarm, names and the follow-up's text. It becomes ``new_id``, and every time it holds
    (filed, happened, seen, followed up, anonymised) becomes its day: its old id and exact
    times are what the audit trail, the e-mails' links and the logs know it by, so neither
    joins back to it. What it was, and that it was seen and followed up, stay for the
    statistics."""
    follow = report.follow_up
    return replace(
        report,
        report_id=new_id,
        filed_by="",
        filed_by_name="",
        filed_at=day_of(report.filed_at),
        alarm_id=None,
        room="",
        occurred_at=day_of(report.occurred_at),
        text="",
        seen=tuple(replace(s, user="", name="", at=day_of(s.at)) for s in report.seen),
        follow_up=None if follow is None else FollowUp("", "", "", day_of(follow.at)),
        anonymised_at=day_of(now),
    )
