"""The desk client's state, without any I/O: frames in; events to show and commands to send out.

:class:`DeskCore` knows which alarms are active, turns each frame from central into the events a
screen shows, and decides which commands answer it: ``delivered`` for every alarm this connection
has brought (so central knows the alarm reached a screen), and under ``--ack-all`` a ``coming``
for each active alarm this user has not answered yet. It also keeps the silent alarms this desk
raised: each is (re-)sent after every snapshot until central shows it back, and is marked as the
user's own so that the window never pops up for it. A facility manager's desk also gets
``fault`` frames; :class:`desktop.core.faults.OpenFaults` keeps those. A raise central refuses
(an error frame naming it) is dropped and reported in ``raise_refused``. :class:`Backoff` decides
how long to wait before the next connection attempt. The caller supplies randomness, so both
are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from desktop.core.announcements import (
    AnnouncementEvent,
    DeskAnnouncements,
    refused_announcement,
)
from desktop.core.faults import FaultEvent, FaultKey, OpenFaults
from desktop.core.raising import refused_raise
from desktop.core.reports import DeskReports, ReportEvent
from desktop.core.routines import DeskRoutines, RoutinesEvent
from desktop.core.standby import DeskStandby, StandbyEvent
from protocol.errors import ProtocolError
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    AlarmView,
    AnnouncementFrame,
    Command,
    CommandKind,
    ErrorFrame,
    FaultFrame,
    Hello,
    Ping,
    Pong,
    RaiseRequest,
    ReportAsk,
    ReportFiled,
    RoundFrame,
    RoutinesStatus,
    Snapshot,
    StandbyFrame,
    VisitNotice,
    decode_server_frame,
)

ServerFrame = (
    Hello
    | Snapshot
    | AlarmNew
    | AlarmUpdate
    | ErrorFrame
    | FaultFrame
    | Ping
    | RoundFrame
    | AnnouncementFrame
    | StandbyFrame
    | VisitNotice
    | ReportAsk
    | ReportFiled
    | RoutinesStatus
)


class EventKind(StrEnum):
    ACTIVE = "active"  # active when we connected (from the snapshot)
    ALARM = "alarm"  # an active alarm this screen has not shown before: pop up
    UPDATE = "update"  # something changed on an alarm already shown (or it was resolved)
    # An alarm already shown escalated (its ``stage`` rose: nobody answered): alert again,
    # like a new alarm, so that a window pushed aside or a sound turned down gets a second go.
    ESCALATED = "escalated"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    kind: EventKind
    alarm: AlarmView
    own: bool = False  # raised from this desk: never pop up or ring for it


Outgoing = Command | RaiseRequest


@dataclass(frozen=True, slots=True)
class Reaction:
    """What one frame means: events to show, commands to send, and anything worth logging."""

    events: tuple[AlarmEvent, ...] = ()
    commands: tuple[Outgoing, ...] = ()
    hello: Hello | None = None  # set when the frame was central's greeting
    gone: tuple[UUID, ...] = ()  # shown as active before, missing from the new snapshot
    problem: str | None = None  # a bad frame, or an error central reported
    help_coming: tuple[tuple[UUID, int], ...] = ()  # own alarm, responders count grew to n
    # Own alarm, still active: the colleagues who were coming all withdrew ("Can't come").
    help_withdrawn: tuple[UUID, ...] = ()
    faults: FaultEvent | None = None  # the open faults changed (facility managers only)
    pong: Pong | None = None  # the frame was central's ping: answer at once
    # A silent alarm raised here that central refused: (alarm_id, central's reason).
    raise_refused: tuple[tuple[UUID, str], ...] = ()
    # Evacuations / lockdowns started, changed or ended at the user's sites (a snapshot may
    # change several; a live frame one).
    announcements: tuple[AnnouncementEvent, ...] = ()
    # An announcement sent from this desk that central refused: (site, central's reason).
    announce_refused: tuple[str, str] | None = None
    # A colleague asks this desk's user to stand by for a meeting (desktop.core.standby).
    standby: tuple[StandbyEvent, ...] = ()
    # A colleague has not checked out of a home visit: call them (desktop.core.visits).
    visits: tuple[VisitNotice, ...] = ()
    # Incident reports: "please write one" (or withdrawn), or a new one filed (leaders and
    # safety representatives): desktop.core.reports.
    reports: tuple[ReportEvent, ...] = ()
    # Read and confirm the routines (or no longer: confirmed): desktop.core.routines.
    routines: RoutinesEvent | None = None


def _is_resolved(alarm: AlarmView) -> bool:
    return alarm.state is AlarmState.RESOLVED


def _is_gone(alarm: AlarmView) -> bool:
    """Resolved, or merged into a flood card (``merged_into``): no card of its own any more."""
    return alarm.state is AlarmState.RESOLVED or alarm.merged_into is not None


@dataclass
class DeskCore:
    """State across connections. Call :meth:`connection_opened` for each new socket."""

    ack_all: bool = False
    counters: dict[str, int] = field(default_factory=dict, init=False)
    _active: dict[UUID, AlarmView] = field(default_factory=dict, init=False)
    _user: str | None = field(default=None, init=False)
    _delivered: set[UUID] = field(default_factory=set, init=False)  # on this connection
    _coming_sent: set[UUID] = field(default_factory=set, init=False)  # on this connection
    _answered: set[UUID] = field(default_factory=set, init=False)  # the user said coming/can't
    # Silent alarms raised here: unconfirmed ones until central shows them back to us.
    _unconfirmed: dict[UUID, RaiseRequest] = field(default_factory=dict, init=False)
    _own: set[UUID] = field(default_factory=set, init=False)
    _own_responders: dict[UUID, int] = field(default_factory=dict, init=False)
    _synced: bool = field(default=False, init=False)  # this connection's snapshot has come
    _faults: OpenFaults = field(default_factory=OpenFaults, init=False)
    announcements: DeskAnnouncements = field(default_factory=DeskAnnouncements, init=False)
    standby: DeskStandby = field(default_factory=DeskStandby, init=False)
    reports: DeskReports = field(default_factory=DeskReports, init=False)
    routines: DeskRoutines = field(default_factory=DeskRoutines, init=False)

    @property
    def active(self) -> Mapping[UUID, AlarmView]:
        """Alarms not yet resolved, as last heard from central."""
        return self._active

    @property
    def faults(self) -> Mapping[FaultKey, FaultFrame]:
        """Open faults by (site, device, kind), as last heard from central."""
        return self._faults.open

    @property
    def user(self) -> str | None:
        return self._user

    def connection_opened(self) -> None:
        # A new socket may be to a restarted central that knows nothing of what we told the
        # old one, so "delivered" and automatic "coming" are decided afresh per connection;
        # the snapshot that follows says which alarms still need them.
        self._delivered.clear()
        self._coming_sent.clear()
        self._synced = False

    def connection_closed(self) -> None:
        self._synced = False

    @property
    def unconfirmed_raises(self) -> Mapping[UUID, RaiseRequest]:
        return self._unconfirmed

    def is_own(self, alarm_id: UUID) -> bool:
        return alarm_id in self._own

    def raise_alarm(self, request: RaiseRequest) -> tuple[RaiseRequest, ...]:
        """Remember a silent alarm; what to send now (nothing until the snapshot has come: the
        snapshot may already hold it, and otherwise it is sent right after)."""
        self._own.add(request.alarm_id)
        self._unconfirmed[request.alarm_id] = request
        return (request,) if self._synced else ()

    def receive_text(self, text: str | bytes) -> Reaction:
        """Decode and handle one frame; a bad frame is counted and reported, never raised."""
        try:
            frame = decode_server_frame(text)
        except ProtocolError as exc:
            self._count(f"bad_frame.{exc.reason}")
            return Reaction(problem=f"ignored a bad frame from central ({exc.reason}): {exc}")
        return self.receive(frame)

    def receive(self, frame: ServerFrame) -> Reaction:
        if isinstance(frame, Hello):
            self._user = frame.user
            read = frame.routines_read  # None from a central that does not say
            return Reaction(hello=frame, routines=self.routines.receive(read) if read else None)
        if isinstance(frame, Snapshot):
            return self._snapshot(frame)
        if isinstance(frame, AlarmNew | AlarmUpdate):
            return self._alarm(frame.alarm)
        if isinstance(frame, FaultFrame):
            return Reaction(faults=self._faults.receive(frame))
        if isinstance(frame, Ping):
            return Reaction(pong=Pong(seq=frame.seq))
        if isinstance(frame, AnnouncementFrame):
            event = self.announcements.receive(frame)
            return Reaction(announcements=(event,) if event is not None else ())
        if isinstance(frame, StandbyFrame):
            found = self.standby.receive(frame)
            return Reaction(standby=(found,) if found is not None else ())
        if isinstance(frame, VisitNotice | ReportAsk | ReportFiled | RoutinesStatus):
            return self._notice(frame)
        if isinstance(frame, RoundFrame):  # said in the log; the window may show it later
            state = "open" if frame.open else "expired" if frame.expired else "closed"
            return Reaction(problem=f"test round at {frame.site}: {state} (by {frame.tester})")
        self._count(f"server_error.{frame.reason}")
        announce = refused_announcement(frame.reason)
        if announce is not None:
            return Reaction(
                problem=f"central refused the announcement: {frame.reason}",
                announce_refused=announce,
            )
        refused = refused_raise(frame.reason)
        if refused is not None and refused[0] in self._own:
            # Sending it again would only be refused again: the user must act instead.
            self._unconfirmed.pop(refused[0], None)
            return Reaction(
                problem=f"central refused the silent alarm raised here: {frame.reason}",
                raise_refused=(refused,),
            )
        return Reaction(problem=f"central reported an error: {frame.reason}")

    def _notice(self, frame: VisitNotice | ReportAsk | ReportFiled | RoutinesStatus) -> Reaction:
        """A quiet notice: a colleague overdue from a visit, an incident report to write (or
        filed), the routines to read and confirm (or confirmed)."""
        if isinstance(frame, VisitNotice):
            return Reaction(visits=(frame,))
        if isinstance(frame, RoutinesStatus):
            return Reaction(routines=self.routines.receive(frame))
        told = self.reports.receive(frame)
        return Reaction(reports=(told,) if told is not None else ())

    def user_command(self, kind: CommandKind, alarm_id: UUID) -> Command:
        """The command for something the user decided; ``--ack-all`` then leaves that alarm be."""
        if kind in (CommandKind.COMING, CommandKind.CANT_COME):
            self._answered.add(alarm_id)
        return Command(type=kind, alarm_id=alarm_id)

    def _snapshot(self, frame: Snapshot) -> Reaction:
        before = set(self._active)
        self._active = {a.alarm_id: a for a in frame.alarms if not _is_gone(a)}
        events = tuple(
            AlarmEvent(EventKind.ACTIVE, a, self.is_own(a.alarm_id)) for a in frame.alarms
        )
        commands: list[Outgoing] = [c for a in frame.alarms for c in self._answers(a)]
        help_withdrawn = [w for a in frame.alarms for w in self._own_help_withdrawn(a)]
        help_coming = [h for a in frame.alarms for h in self._own_alarm_seen(a)]
        # Raised here and not yet seen by central: lost with the old socket, or central
        # restarted before storing it. The same alarm_id lets central drop a duplicate.
        commands.extend(self._unconfirmed.values())
        self._synced = True
        gone = tuple(sorted(before - set(self._active), key=str))
        return Reaction(
            events=events,
            commands=tuple(commands),
            gone=gone,
            help_coming=tuple(help_coming),
            help_withdrawn=tuple(help_withdrawn),
            faults=self._faults.snapshot(),
            announcements=self.announcements.snapshot(frame.announcements),
        )

    def _alarm(self, alarm: AlarmView) -> Reaction:
        # Whether central called it new or an update, an active alarm this screen has not shown
        # is news to the user: it must pop up, or a missed frame would hide an alarm.
        # A flood card (``flood``) is one alarm standing for its source's others; an alarm
        # ``merged_into`` a card is withdrawn like a resolved one (the card shows its room).
        before = self._active.get(alarm.alarm_id)
        if before is None:
            kind = EventKind.UPDATE if _is_gone(alarm) else EventKind.ALARM
        elif alarm.stage > before.stage and not _is_gone(alarm):
            kind = EventKind.ESCALATED
        else:
            kind = EventKind.UPDATE
        if _is_gone(alarm):
            self._active.pop(alarm.alarm_id, None)
        else:
            self._active[alarm.alarm_id] = alarm
        withdrawn = tuple(self._own_help_withdrawn(alarm))  # before "coming" counts again
        return Reaction(
            events=(AlarmEvent(kind, alarm, self.is_own(alarm.alarm_id)),),
            commands=tuple(self._answers(alarm)),
            help_coming=tuple(self._own_alarm_seen(alarm)),
            help_withdrawn=withdrawn,
        )

    def _own_help_withdrawn(self, alarm: AlarmView) -> list[UUID]:
        """``[alarm_id]`` when nobody is coming any more to an own alarm that had colleagues
        coming (it is still active); fewer coming is remembered, so that a colleague who comes
        again is told as help coming again."""
        if alarm.alarm_id not in self._own or _is_resolved(alarm):
            return []
        coming = len(alarm.responders)
        if coming >= self._own_responders.get(alarm.alarm_id, 0):
            return []
        self._own_responders[alarm.alarm_id] = coming
        return [alarm.alarm_id] if coming == 0 else []

    def _own_alarm_seen(self, alarm: AlarmView) -> list[tuple[UUID, int]]:
        """Confirms a raise; ``(alarm_id, n)`` when more colleagues than before are coming."""
        if alarm.alarm_id not in self._own:
            return []
        if alarm.state is not AlarmState.RAISED:  # stored: central will not lose it now
            self._unconfirmed.pop(alarm.alarm_id, None)
        coming = 0 if _is_resolved(alarm) else len(alarm.responders)
        if coming <= self._own_responders.get(alarm.alarm_id, 0):
            return []
        self._own_responders[alarm.alarm_id] = coming
        return [(alarm.alarm_id, coming)]

    def _answers(self, alarm: AlarmView) -> list[Command]:
        # The raiser's own screen says nothing of the alarm, so it has no receipts to give.
        if _is_gone(alarm) or self.is_own(alarm.alarm_id):
            return []
        commands = []
        if alarm.alarm_id not in self._delivered:
            self._delivered.add(alarm.alarm_id)
            commands.append(Command(type=CommandKind.DELIVERED, alarm_id=alarm.alarm_id))
        if self._needs_my_coming(alarm):
            self._coming_sent.add(alarm.alarm_id)
            commands.append(Command(type=CommandKind.COMING, alarm_id=alarm.alarm_id))
        return commands

    def _needs_my_coming(self, alarm: AlarmView) -> bool:
        """Under ``--ack-all``: an active alarm nobody answered for this user yet."""
        if not self.ack_all or alarm.alarm_id in self._coming_sent:
            return False
        if alarm.alarm_id in self._answered:
            return False
        answered_by = {r.user for r in (*alarm.responders, *alarm.declined)}
        return self._user not in answered_by

    def _count(self, reason: str) -> None:
        self.counters[reason] = self.counters.get(reason, 0) + 1


@dataclass
class Backoff:
    """Exponential reconnect delays with jitter: 0.5 s, 1 s, then every 2 s.

    The cap is short on purpose: while a desk waits it shows nobody's alarms, and a refused
    connection to a central that is down costs nothing (the fault matrix saw desks come back
    up to 8 s after central with a 10 s cap). Jitter (±25 %) keeps a room full of screens
    from reconnecting in lockstep after central restarts. A refused token gets a long fixed
    delay: retrying it quickly cannot succeed and
    would only fill central's log; the administrator may still fix the token meanwhile.
    """

    initial_s: float = 0.5
    maximum_s: float = 2.0
    refused_s: float = 30.0
    _attempt: int = field(default=0, init=False)

    def next_delay(self, jitter: float) -> float:
        """The delay before the next attempt; ``jitter`` is a random number in [0, 1)."""
        base = min(self.maximum_s, self.initial_s * 2.0**self._attempt)
        if base < self.maximum_s:
            self._attempt += 1  # stop counting at the cap, so 2**n never overflows a float
        return min(self.maximum_s, base * (0.75 + 0.5 * jitter))

    def refused_delay(self, jitter: float) -> float:
        return self.refused_s * (0.9 + 0.2 * jitter)

    def reset(self) -> None:
        """A connection got as far as central's greeting: start again from the shortest delay."""
        self._attempt = 0
