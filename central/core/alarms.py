"""The alarm lifecycle, without I/O: raised → received → acknowledged → resolved.

Feed it what happened (an alarm message, a screen's command, a commit the store reported) and
``now``; it answers with actions for the shells. Two rules shape it:

* Screens hear of a new alarm (and a further press) at once (``Broadcast``), in parallel with
  the write; the edge is told "received" only after the store reports the commit
  (``committed``), because the ack is a promise that the alarm is on disk. A change a person
  makes (coming, can't come, resolved) reaches screens only once stored too, on the same path
  as the edge's ack: told "resolved" before the disk has it, a screen would drop a card that a
  restart brings back. So each entry keeps two views: ``view``, the truth being written, and
  ``shown``, what screens were told (snapshots and the board show that one).
* The same ``alarm_id`` is one alarm, always: a resend is answered with the last *committed*
  state, never recorded again; late or out-of-order commands change nothing and say why.

What a device shows is ordered by the record's revision (``rev``, docs/protocol.md, "ack"):
every write that changes what a device shows (state, responders, whether a colleague's screen
has it) raises it by one, so an ack never undoes a newer one wherever it was delayed. An alarm
on nobody's screen yet is acked ``received`` with ``shown`` false; the first screen that reports
it shown (:meth:`AlarmBook.on_screen`) is recorded (``shown_at``) and the device told again.

Three more keep every device and the record converging on the truth after a fault
(docs/protocol.md, "State sync"): a device's list of held alarms is compared with the committed
record and every difference is answered with an ack (:meth:`AlarmBook.sync`); a press on an
alarm that is resolved is a *new* alarm, whose id is derived from the old one so that resends
never double it (:func:`successor_id`); and a failed write is retried with backoff until it is
stored (:meth:`AlarmBook.due`), since the edge cannot be relied on to resend (a resolution has
no edge message behind it at all).

A phone's alarm (:meth:`AlarmBook.raise_from_phone`, issue 13) is a desk's silent alarm that
came over HTTP: raised by a person, no edge to ack, re-sent until the phone reads it stored.
Its raiser's newer positions (:meth:`AlarmBook.position`) are news like a press: written, and
on screens at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from central.core.model import (
    AckEdge,
    Action,
    AlarmEvent,
    Broadcast,
    EventKind,
    Notice,
    Persist,
    Person,
    Refusal,
)
from protocol import AckState, AlarmMessage, AlarmSource
from protocol.messages import MAX_HELD_ALARMS, HeldAlarm, HeldState, Responder
from protocol.mobile import PhoneRaise
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    AlarmView,
    Command,
    CommandKind,
    Position,
    RaiseRequest,
)

CENTRAL_ACTOR = "central"
DESK_DEVICE = "desktop"  # the device of alarms raised from a desk (their raiser is a person)
PHONE_DEVICE = "mobile"  # ... and of alarms raised from a phone (docs/mobile.md)
PHONE_INPUT = "phone"
PHONE_ROOM = "Mobil – {name}"  # stored in bokmål; screens and the console say it in theirs
#: What central writes when it resolves a drill whose room's drill mode ended (central.drilling).
DRILL_MODE_ENDED = "drill mode ended"
#: A phone's position measured later than this after ``now`` is no position (a wrong clock
#: would otherwise make every later, true position look older than it, and be ignored).
POSITION_AHEAD = timedelta(minutes=5)
DEFAULT_RETENTION = timedelta(days=7)
#: Fixed for ever: the namespace of successor ids (docs/protocol.md, "State sync").
SUCCESSOR_NAMESPACE = UUID("5b8f3c1e-9a27-4d6b-b0e4-7c2f1d9a6e35")
RETRY_FIRST = timedelta(seconds=0.5)  # a failed write is retried after this, doubling ...
RETRY_MAX = timedelta(seconds=5)  # ... up to this, until it is stored

#: The fields a person's change sets: screens see them from the committed row only.
_PEOPLE_FIELDS = ("state", "responders", "declined", "resolved_at", "resolved_by")
_PEOPLE_EVENTS = (EventKind.COMING, EventKind.CANT_COME, EventKind.RESOLVED)

_ACK_STATE = {
    AlarmState.RECEIVED: AckState.RECEIVED,
    AlarmState.ACKNOWLEDGED: AckState.ACKNOWLEDGED,
    AlarmState.RESOLVED: AckState.RESOLVED,
}


@dataclass(slots=True)
class _Entry:
    view: AlarmView  # the truth: what is being (or has been) written
    shown: AlarmView  # as screens were told (a person's change once it is committed)
    committed: AlarmView | None = None  # the last row the store confirmed; None: never stored
    in_flight: int = 0  # writes submitted and not yet reported
    unwritten: list[AlarmEvent] = field(default_factory=list)  # events of failed writes
    receipts: set[tuple[str, EventKind]] = field(default_factory=set)
    only: frozenset[str] | None = None  # a test alarm's audience (user ids); None: the site
    ack_owed: bool = False  # a failed write owed the edge an ack once stored
    retry_at: datetime | None = None  # when to retry a failed write
    retry_delay: timedelta = RETRY_FIRST
    noticed: set[AlarmEvent] = field(default_factory=set)  # changes told "not stored yet"
    written: AlarmView | None = None  # the last row handed to the store (its ``rev``)


def successor_id(alarm_id: UUID) -> UUID:
    """The alarm that a press after ``alarm_id``'s resolution becomes: the same on every
    resend of that press, so it is recorded once whatever the edge re-sends."""
    return uuid5(SUCCESSOR_NAMESPACE, f"after-resolved:{alarm_id}")


def _stored_row(view: AlarmView) -> AlarmView:
    """The row as written: a raised alarm is stored as received."""
    if view.state is AlarmState.RAISED:
        return view.model_copy(update={"state": AlarmState.RECEIVED})
    return view


def _device_word(row: AlarmView) -> tuple[object, ...]:
    """What a device shows of a stored row: a change of it is a new revision."""
    return (row.state, row.responders, row.shown_at is not None)


def _led_word(view: AlarmView) -> tuple[AlarmState, bool]:
    """What a device's LED shows of an alarm: a change of it is acked once stored."""
    return (view.state, view.shown_at is not None)


def _held_for(committed: AlarmView) -> str:
    """The held state a device shows for a committed active row (docs/protocol.md)."""
    if committed.state is AlarmState.RECEIVED and committed.shown_at is None:
        return HeldState.STORED.value
    return committed.state.value


def _agrees(committed: AlarmView, held: HeldAlarm) -> bool:
    """Whether a device's held alarm shows what the record says (nothing to tell it):
    ``stored`` and ``received`` differ by whether a colleague's screen has the alarm."""
    return (
        committed.state is not AlarmState.RESOLVED
        and committed.presses == held.presses
        and _held_for(committed) == held.state.value
        and committed.drill == bool(held.drill)  # a device that restarted forgets a drill
    )


def reaches(person: Person, view: AlarmView) -> bool:
    """Whether ``person``'s screens get ``view`` and may answer it: a person of its site, or
    of a site or among the users its escalation widened it to (central.core.escalation), or
    a colleague standing by for the meeting it came from (central.core.standby)."""
    return (
        person.covers(view.site)
        or person.user_id in view.escalated_users
        or any(person.covers(site) for site in view.escalated_sites)
        or any(s.user == person.user_id for s in view.standby)
    )


def _without(people: tuple[Responder, ...], user_id: str) -> tuple[Responder, ...]:
    return tuple(p for p in people if p.user != user_id)


class AlarmBook:
    """Every alarm central knows: all active ones, and resolved ones for ``retention``."""

    def __init__(
        self,
        retention: timedelta = DEFAULT_RETENTION,
        site_names: Mapping[str, str] | None = None,
    ) -> None:
        self._retention = retention
        self._site_names = dict(site_names or {})
        self._entries: dict[UUID, _Entry] = {}
        self._resolved: dict[UUID, datetime] = {}  # in order of resolution, for pruning
        self._by_device: dict[tuple[str, str], dict[UUID, None]] = {}  # ordered sets
        self._retrying: dict[UUID, None] = {}  # alarms with a failed write to retry

    # --- restart -----------------------------------------------------------------------

    @classmethod
    def restore(
        cls,
        stored: Iterable[AlarmView],
        retention: timedelta = DEFAULT_RETENTION,
        site_names: Mapping[str, str] | None = None,
    ) -> AlarmBook:
        """A book rebuilt from the store: active alarms and recently resolved ones (dedup)."""
        book = cls(retention, site_names)
        resolved: list[tuple[datetime, UUID]] = []
        for view in stored:
            if view.state is AlarmState.RAISED:  # the store writes rows as received
                view = view.model_copy(update={"state": AlarmState.RECEIVED})
            # A test alarm's audience is not stored: after a restart it is shown to nobody.
            only = frozenset[str]() if view.test else None
            book._entries[view.alarm_id] = _Entry(
                view=view, shown=view, committed=view, only=only, written=view
            )
            book._index(view)
            if view.state is AlarmState.RESOLVED:
                resolved.append((view.resolved_at or view.raised_at, view.alarm_id))
        for resolved_at, alarm_id in sorted(resolved):
            book._resolved[alarm_id] = resolved_at
        return book

    # --- queries -----------------------------------------------------------------------

    def get(self, alarm_id: UUID) -> AlarmView | None:
        """The alarm as screens see it (a person's change once it is stored)."""
        entry = self._entries.get(alarm_id)
        return entry.shown if entry else None

    def active(self) -> tuple[AlarmView, ...]:
        """The alarms screens show as active (the board's list)."""
        return tuple(
            e.shown for e in self._entries.values() if e.shown.state is not AlarmState.RESOLVED
        )

    def active_for(self, person: Person) -> tuple[AlarmView, ...]:
        """The alarms a screen of ``person`` must show on connect (the snapshot)."""
        return tuple(
            e.shown
            for e in self._entries.values()
            if e.shown.state is not AlarmState.RESOLVED
            and reaches(person, e.shown)
            and (e.only is None or person.user_id in e.only)
        )

    def on_screen(self, alarm_id: UUID) -> bool:
        """Whether a colleague's screen has reported the alarm shown (or a colleague answered
        "I'm coming"): recorded at once, stored as ``shown_at``. False for an unknown alarm, a
        test alarm, and an alarm only its raiser's own desk shows."""
        entry = self._entries.get(alarm_id)
        return entry is not None and entry.view.shown_at is not None

    def stored(self, alarm_id: UUID) -> bool:
        """Whether the alarm is on disk (its first write committed): what a phone waits for
        before it forgets the alarm."""
        entry = self._entries.get(alarm_id)
        return entry is not None and entry.committed is not None

    def audience(self, alarm_id: UUID) -> frozenset[str] | None:
        """Who may see a test alarm (user ids); None for a real alarm (or an unknown one)."""
        entry = self._entries.get(alarm_id)
        return entry.only if entry else None

    def kept(self) -> tuple[AlarmView, ...]:
        """Every alarm the book keeps: the active ones and those resolved within retention."""
        return tuple(entry.view for entry in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    # --- alarm messages from edges -------------------------------------------------------

    def alarm(
        self, message: AlarmMessage, now: datetime, test_for: frozenset[str] | None = None
    ) -> list[Action]:
        """An alarm from an edge. ``test_for`` makes a *new* alarm a test alarm shown only to
        those users (the site's test screen; a round's tester). A message flagged ``test``
        without ``test_for`` is recorded and shown to nobody: a test never reaches real screens.
        """
        self._prune(now)
        return self._alarm(message, now, test_for)

    def _alarm(
        self,
        message: AlarmMessage,
        now: datetime,
        test_for: frozenset[str] | None,
        note: str = "",
    ) -> list[Action]:
        entry = self._entries.get(message.alarm_id)
        if entry is None:
            if test_for is None and message.test:
                test_for = frozenset()
            return self._raise(message, now, test_for, note)
        view = entry.view
        if (view.site, view.device) != (message.site, message.device):
            return [Refusal(message.alarm_id, "alarm_id_of_other_device")]
        if view.state is AlarmState.RESOLVED and message.presses > view.presses:
            presses = message.presses - view.presses
            return self._after_resolution(entry, presses, now, message.drill)
        if view.drill and not message.drill and message.presses > view.presses:
            # A press on a drill whose room is no longer in drill mode (the shell's word): it
            # is no part of the drill. The drill ends as its mode's end ends it, and the press
            # is what a press after a resolution always is: a new alarm, real.
            presses = message.presses - view.presses
            ended = self._resolve_as(entry, CENTRAL_ACTOR, DRILL_MODE_ENDED, now)
            return ended + self._after_resolution(entry, presses, now, drill=False)
        actions: list[Action] = []
        if message.presses > view.presses and view.state is not AlarmState.RESOLVED:
            entry.view = view.model_copy(update={"presses": message.presses})
            # A press is news, like the alarm itself: screens hear of it at once.
            entry.shown = entry.shown.model_copy(update={"presses": message.presses})
            detail = f"presses={message.presses}"
            event = AlarmEvent(view.alarm_id, EventKind.PRESSED, now, message.device, detail)
            actions.append(self._broadcast(entry, AlarmUpdate(alarm=entry.shown)))
            # Once stored, the new count is acked as soon as it is on disk: the edge keeps
            # re-sending until an ack carries it. (Before the first commit, the "received"
            # ack that follows it carries the row as it is then, the new count included.)
            stored = entry.committed is not None
            actions.append(self._persist(entry, event, ack_after_commit=stored))
        elif entry.in_flight == 0 and (
            entry.committed is None or entry.committed.presses < view.presses
        ):
            # The writes of this alarm (or of its last press) failed; the edge re-sends until
            # the count is acked, and the resend is our chance to retry.
            stored = entry.committed is not None
            actions.append(self._persist(entry, ack_after_commit=stored))
        if entry.committed is not None:
            actions.extend(self._ack(entry.committed, now))
        return actions

    def _after_resolution(
        self, entry: _Entry, presses: int, now: datetime, drill: bool
    ) -> list[Action]:
        """``presses`` presses on a resolved alarm: they are its successor alarm, new or
        pressed again (or, resolved too, its own successor's), never the old alarm. ``drill``:
        the shell's word on a new press from that device *now* (its room in drill mode): a
        press after a drill's resolution is real once the drill mode has ended."""
        old = entry.view
        actions: list[Action] = []
        if entry.committed is not None and entry.committed.state is AlarmState.RESOLVED:
            actions.extend(self._ack(entry.committed, now))
        follow = AlarmMessage(
            site=old.site,
            device=old.device,
            alarm_id=successor_id(old.alarm_id),
            level=old.level,
            room=old.room,
            floor=old.floor,
            source=old.source,
            input=old.input,
            raised_at=now,
            presses=presses,
            test=old.test,
            drill=drill,
        )
        note = f"pressed after the resolution of {old.alarm_id}"
        actions.extend(self._alarm(follow, now, entry.only, note))
        return actions

    def _raise(
        self,
        message: AlarmMessage,
        now: datetime,
        test_for: frozenset[str] | None,
        note: str = "",
    ) -> list[Action]:
        view = AlarmView(
            alarm_id=message.alarm_id,
            site=message.site,
            site_name=self._site_names.get(message.site),
            device=message.device,
            room=message.room,
            floor=message.floor,
            level=message.level,
            source=message.source,
            input=message.input,
            raised_at=message.raised_at,
            test=message.test or test_for is not None,
            drill=message.drill,
            presses=message.presses,
            state=AlarmState.RAISED,
        )
        if message.held_at_start:
            held = "contact already closed when the device started"
            note = f"{note}; {held}" if note else held
        return self._open(view, now, actor=view.device, only=test_for, note=note)

    def raise_from_screen(
        self, person: Person, request: RaiseRequest, now: datetime
    ) -> list[Action]:
        """The silent alarm from a desk: an alarm like any other, raised by a person.

        The desk re-sends its request until it sees the alarm stored, so a known ``alarm_id``
        from the same person is answered with the alarm as it stands (screens of the site,
        the raiser's included, already have it); there is no edge to ack.
        """
        self._prune(now)
        if not person.covers(request.site):
            return [Refusal(request.alarm_id, "not_your_site")]
        entry = self._entries.get(request.alarm_id)
        if entry is not None:
            if entry.view.raised_by != person.user_id:
                return [Refusal(request.alarm_id, "alarm_id_of_other_device")]
            return [self._broadcast(entry, AlarmUpdate(alarm=entry.shown))]
        view = AlarmView(
            alarm_id=request.alarm_id,
            site=request.site,
            site_name=self._site_names.get(request.site),
            device=DESK_DEVICE,
            room=request.room,
            floor=request.floor,
            level=request.level,
            source=AlarmSource.DESKTOP,
            input=request.input,
            raised_at=request.raised_at,
            test=request.test,
            drill=request.drill,
            state=AlarmState.RAISED,
            raised_by=person.user_id,
            raised_by_name=person.name,
        )
        only = frozenset({person.user_id}) if request.test else None
        return self._open(view, now, actor=person.user_id, only=only)

    def raise_from_phone(
        self,
        person: Person,
        alarm_id: UUID,
        request: PhoneRaise,
        now: datetime,
        note: str = "",
        *,
        not_in_record: bool = False,
    ) -> list[Action]:
        """The alarm from a person's phone, at ``request.site`` (the shell fills in the
        account's first site when the phone named none). Like a desk's: the phone re-sends
        the same ``alarm_id`` until it reads ``stored``, and a resend changes nothing (the
        phone reads the alarm as it stands); an ``alarm_id`` that is not this person's phone
        alarm is refused (``alarm_id_taken``), whoever's it is. An unknown ``alarm_id`` raised
        longer than ``retention`` ago is refused (``stale``): the book may have forgotten it
        resolved, and opening it again would double an alarm already in the record — so the
        shell looks the id up in the record and, when it is not there (a phone whose clock is
        behind), raises it all the same with ``not_in_record``: a phone's clock never stops an
        alarm. ``note``:
        said on the timeline (the visit timer's alarm says that it raised it, central.core.visits;
        the shell says when it moved the alarm to the person's own site)."""
        self._prune(now)
        entry = self._entries.get(alarm_id)
        if entry is not None:
            view = entry.view
            if view.source is not AlarmSource.MOBILE or view.raised_by != person.user_id:
                return [Refusal(alarm_id, "alarm_id_taken")]
            return []
        if request.raised_at < now - self._retention and not not_in_record:
            return [Refusal(alarm_id, "stale")]
        if request.site is None or not person.covers(request.site):
            return [Refusal(alarm_id, "not_your_site")]
        position = request.position
        where = "" if position is not None else "no position"
        if position is not None and position.at > now + POSITION_AHEAD:
            # The alarm goes all the same: without a position it is still an alarm.
            where = f"no position (measured {position.at.isoformat()}: ahead)"
            position = None
        note = "; ".join(n for n in (where, note) if n)
        view = AlarmView(
            alarm_id=alarm_id,
            site=request.site,
            site_name=self._site_names.get(request.site),
            device=PHONE_DEVICE,
            room=PHONE_ROOM.format(name=person.name),
            level=request.level,
            source=AlarmSource.MOBILE,
            input=PHONE_INPUT,
            raised_at=request.raised_at,
            state=AlarmState.RAISED,
            raised_by=person.user_id,
            raised_by_name=person.name,
            position=position,
            silent=request.silent,
        )
        return self._open(view, now, actor=person.user_id, note=note)

    def position(
        self, person: Person, alarm_id: UUID, position: Position, now: datetime
    ) -> list[Action]:
        """A newer position of the phone alarm ``alarm_id``, from its raiser while it is
        active: written, and told to screens at once (like a press, it is news, and a stale
        position is worse than an unstored one). One measured no later than the one kept
        changes nothing (positions cross on a bad network)."""
        self._prune(now)
        entry = self._entries.get(alarm_id)
        if (
            entry is None
            or entry.view.source is not AlarmSource.MOBILE
            or entry.view.raised_by != person.user_id
        ):
            return [Refusal(alarm_id, "unknown_alarm")]
        if entry.view.state is AlarmState.RESOLVED:
            return [Refusal(alarm_id, "already_resolved")]
        if position.at > now + POSITION_AHEAD:
            return [Refusal(alarm_id, "position_ahead")]
        kept = entry.view.position
        if kept is not None and position.at <= kept.at:
            return []
        entry.view = entry.view.model_copy(update={"position": position})
        entry.shown = entry.shown.model_copy(update={"position": position})
        return [self._persist(entry), self._broadcast(entry, AlarmUpdate(alarm=entry.shown))]

    def _open(
        self,
        view: AlarmView,
        now: datetime,
        actor: str,
        only: frozenset[str] | None = None,
        note: str = "",
    ) -> list[Action]:
        entry = _Entry(view=view, shown=view, only=only)
        self._entries[view.alarm_id] = entry
        self._index(view)
        flags = "".join(f" {f}" for f, on in (("test", view.test), ("drill", view.drill)) if on)
        detail = (
            f"{view.level} {view.source}:{view.input} in {view.room!r},"
            f" raised_at {view.raised_at.isoformat()}{flags}"
        )
        if note:
            detail = f"{detail}; {note}"
        event = AlarmEvent(view.alarm_id, EventKind.RAISED, now, actor, detail)
        # The write is handed to the store first so that the disk works while the screens are
        # told: neither waits for the other (docs/architecture.md: "disk does not wait for
        # notification").
        persist = self._persist(entry, event)
        return [persist, self._broadcast(entry, AlarmNew(alarm=view))]

    # --- the store's reports ---------------------------------------------------------------

    def committed(self, persist: Persist, now: datetime) -> list[Action]:
        """The store committed ``persist``: what it says is now true, and may be acked."""
        entry = self._entries.get(persist.alarm_id)
        if entry is None:
            return []
        entry.in_flight -= 1
        entry.retry_delay = RETRY_FIRST
        entry.noticed.difference_update(persist.events)
        if persist.alarm is None:
            return []
        first = entry.committed is None
        entry.committed = persist.alarm
        actions: list[Action] = []
        if persist.ack_after_commit:
            # First, so that the employee's LED does not wait for every screen's update.
            actions.extend(self._ack(persist.alarm, now))
        if first:
            # "Stored" is a fact of the timeline even when a colleague answered before the
            # commit (the row already says "acknowledged" then; that is what screens hear).
            # The edge's first ack waits for this entry's commit too, so that a crash right
            # after the ack can never leave an alarm without its "received" on record.
            event = AlarmEvent(entry.view.alarm_id, EventKind.RECEIVED, now, CENTRAL_ACTOR)
            actions.append(self._persist(entry, event, ack_after_commit=True))
            if entry.view.state is AlarmState.RAISED:
                entry.view = entry.view.model_copy(update={"state": AlarmState.RECEIVED})
        # Screens hear what the disk now holds: the people's fields of the committed row (rows
        # are committed in the order they were written, so this never goes back), with the
        # press count they were already told.
        stored = {name: getattr(persist.alarm, name) for name in _PEOPLE_FIELDS}
        shown = entry.shown.model_copy(update=stored)
        changed = shown != entry.shown
        # The revision and ``shown_at`` ride along; alone they are no news to a screen.
        entry.shown = shown.model_copy(
            update={"rev": persist.alarm.rev, "shown_at": persist.alarm.shown_at}
        )
        if changed:
            actions.append(self._broadcast(entry, AlarmUpdate(alarm=entry.shown)))
        return actions

    def commit_failed(self, persist: Persist, now: datetime) -> list[Action]:
        """The store could not commit ``persist`` (a full disk, I/O): its events ride along
        with the next write, and :meth:`due` offers a retry after a backoff (0.5 s, doubling
        up to 5 s) until one is stored. An ack it was to bring waits for that commit, and so
        does the screens' update. Each person whose change it carried is told, once per
        change, that it is not stored yet (:class:`Notice`): their screen still shows the
        alarm as it was."""
        entry = self._entries.get(persist.alarm_id)
        if entry is None:
            return []
        notices: list[Action] = []
        for event in persist.events:
            if (
                event.kind in _PEOPLE_EVENTS
                and event.actor != CENTRAL_ACTOR
                and event not in entry.noticed
            ):
                entry.noticed.add(event)
                notices.append(Notice(entry.view.site, event.actor, event.alarm_id, event.kind))
        entry.in_flight -= 1
        entry.unwritten.extend(persist.events)
        entry.ack_owed = entry.ack_owed or persist.ack_after_commit
        entry.retry_at = now + entry.retry_delay
        entry.retry_delay = min(entry.retry_delay * 2, RETRY_MAX)
        self._retrying[persist.alarm_id] = None
        return notices

    def due(self, now: datetime) -> list[Action]:
        """The retries due at ``now``: a write of each alarm whose last write failed (once
        no other write of it is in flight), or, if a later write stored it all, its owed ack."""
        actions: list[Action] = []
        for alarm_id in tuple(self._retrying):
            entry = self._entries.get(alarm_id)
            if entry is None:
                del self._retrying[alarm_id]
                continue
            if entry.in_flight or (entry.retry_at is not None and entry.retry_at > now):
                continue
            del self._retrying[alarm_id]
            entry.retry_at = None
            if entry.unwritten or entry.committed != _stored_row(entry.view):
                actions.append(self._persist(entry))
            elif entry.ack_owed and entry.committed is not None:
                entry.ack_owed = False
                actions.extend(self._ack(entry.committed, now))
        return actions

    @property
    def retrying(self) -> int:
        """How many alarms have a failed write waiting for its retry."""
        return len(self._retrying)

    # --- state sync with devices -----------------------------------------------------------

    def sync(
        self,
        site: str,
        device: str,
        held: Iterable[HeldAlarm],
        now: datetime,
        drill: bool | Callable[[AlarmView], bool] = False,
    ) -> list[Action]:
        """A device listed the alarms it holds as active (its status or heartbeat).

        Every held alarm whose committed record differs (state, presses, or resolved) is
        acked with the record; every committed active alarm of the device it does not list
        is acked, so that it takes it up (a full list may be cut short, so then none is).
        A held alarm with more presses than a resolved one has had presses after the
        resolution: they become its successor alarm, as in :meth:`alarm`. Alarms the
        record does not have are left to the device, which re-sends what is not acked.
        ``drill``: whether a new press from the device would be a drill now (the successor),
        or the shell's question about it, given the alarm the press was counted on (its
        ``raised_at``: a press the device kept through an outage is not a drill of a mode
        that began meanwhile).
        """
        self._prune(now)
        actions: list[Action] = []
        listed: set[UUID] = set()
        held = tuple(held)
        for alarm in held:
            listed.add(alarm.alarm_id)
            entry = self._entries.get(alarm.alarm_id)
            if entry is None or (entry.view.site, entry.view.device) != (site, device):
                continue
            if entry.view.state is AlarmState.RESOLVED and alarm.presses > entry.view.presses:
                presses = alarm.presses - entry.view.presses
                is_drill = drill(entry.view) if callable(drill) else drill
                actions.extend(self._after_resolution(entry, presses, now, is_drill))
            elif entry.committed is not None and not _agrees(entry.committed, alarm):
                actions.extend(self._ack(entry.committed, now))
        if len(held) < MAX_HELD_ALARMS:
            for alarm_id in self._by_device.get((site, device), {}):
                committed = self._entries[alarm_id].committed
                if (
                    alarm_id not in listed
                    and committed is not None
                    and committed.state is not AlarmState.RESOLVED
                    and not committed.test
                ):
                    actions.extend(self._ack(committed, now))
        return actions

    # --- commands from screens -----------------------------------------------------------

    def command(
        self, person: Person, command: Command, now: datetime, via: AlarmView | None = None
    ) -> list[Action]:
        """A person's command. ``via``: the flood card it was given on, standing for this
        alarm (central.core.floodcards): whoever the card reaches may answer every alarm of it,
        though this alarm's own audience may be narrower."""
        entry = self._entries.get(command.alarm_id)
        if entry is None:
            return [Refusal(command.alarm_id, "unknown_alarm")]
        if not reaches(person, via or entry.view) or (
            entry.only is not None and person.user_id not in entry.only
        ):
            return [Refusal(command.alarm_id, "not_your_site")]
        kind = command.type
        if kind in (CommandKind.DELIVERED, CommandKind.SHOWN):
            return self._receipt(entry, person.user_id, EventKind(kind.value), now)
        if entry.view.state is AlarmState.RESOLVED:
            return [Refusal(command.alarm_id, "already_resolved")]
        if kind is CommandKind.COMING:
            return self._coming(entry, person, now)
        if kind is CommandKind.CANT_COME:
            return self._cant_come(entry, person, now)
        return self._resolve(entry, person, now)

    def shown_as(self, alarm_id: UUID, card_id: UUID, now: datetime) -> list[Action]:
        """``alarm_id`` joined the flood card of ``card_id`` on screens that already show it
        (screens report a card shown once): everyone whose screen showed the card has shown
        this alarm too, a receipt each, so that its device hears a colleague has it."""
        entry, card = self._entries.get(alarm_id), self._entries.get(card_id)
        if entry is None or card is None or entry.only is not None:
            return []
        actions: list[Action] = []
        for user, kind in sorted(card.receipts):
            if kind is EventKind.SHOWN:
                actions += self._receipt(entry, user, kind, now)
        return actions

    def _receipt(self, entry: _Entry, user: str, kind: EventKind, now: datetime) -> list[Action]:
        key = (user, kind)
        if key in entry.receipts:
            return []
        entry.receipts.add(key)
        event = AlarmEvent(entry.view.alarm_id, kind, now, user)
        view = entry.view
        if (
            kind is EventKind.SHOWN
            and view.shown_at is None
            and entry.only is None  # a test alarm's screen is no colleague's
            and view.raised_by != user  # nor is the raiser's own desk
            and view.state is not AlarmState.RESOLVED
        ):
            # On a colleague's screen at last: recorded, and the device told once stored.
            # (Before the first commit, the first commit's ack carries it.)
            entry.view = view.model_copy(update={"shown_at": now})
            return [self._persist(entry, event, ack_after_commit=entry.committed is not None)]
        entry.in_flight += 1
        return [Persist(entry.view.alarm_id, None, (event,))]

    def _coming(self, entry: _Entry, person: Person, now: datetime) -> list[Action]:
        view = entry.view
        if any(r.user == person.user_id for r in view.responders):
            return []
        responder = Responder(user=person.user_id, name=person.name, at=now)
        return self._change(
            entry,
            {
                "responders": (*view.responders, responder),
                "declined": _without(view.declined, person.user_id),
                "state": AlarmState.ACKNOWLEDGED,
                # Whoever answers has seen it (the console shows alarms without "shown").
                "shown_at": view.shown_at or now,
            },
            AlarmEvent(view.alarm_id, EventKind.COMING, now, person.user_id, person.name),
        )

    def _cant_come(self, entry: _Entry, person: Person, now: datetime) -> list[Action]:
        view = entry.view
        if any(r.user == person.user_id for r in view.declined):
            return []
        responders = _without(view.responders, person.user_id)
        state = view.state
        if state is AlarmState.ACKNOWLEDGED and not responders:
            # The only colleague coming changed their mind: the edge must not show "help coming".
            state = AlarmState.RECEIVED if entry.committed else AlarmState.RAISED
        decliner = Responder(user=person.user_id, name=person.name, at=now)
        return self._change(
            entry,
            {"responders": responders, "declined": (*view.declined, decliner), "state": state},
            AlarmEvent(view.alarm_id, EventKind.CANT_COME, now, person.user_id, person.name),
        )

    def _resolve(self, entry: _Entry, person: Person, now: datetime) -> list[Action]:
        return self._resolve_as(entry, person.user_id, person.name, now)

    def _resolve_as(self, entry: _Entry, actor: str, detail: str, now: datetime) -> list[Action]:
        self._resolved[entry.view.alarm_id] = now
        return self._change(
            entry,
            {"state": AlarmState.RESOLVED, "resolved_at": now, "resolved_by": actor},
            AlarmEvent(entry.view.alarm_id, EventKind.RESOLVED, now, actor, detail),
        )

    def close_test(self, alarm_id: UUID, now: datetime, detail: str) -> list[Action]:
        """Central ends a test alarm itself (the test screen has it; a round ticked it).

        Only ever a test alarm: a real alarm is resolved by a person, never by the system.
        """
        entry = self._entries.get(alarm_id)
        if entry is None:
            return [Refusal(alarm_id, "unknown_alarm")]
        if not entry.view.test:
            return [Refusal(alarm_id, "not_a_test_alarm")]
        if entry.view.state is AlarmState.RESOLVED:
            return []
        return self._resolve_as(entry, CENTRAL_ACTOR, detail, now)

    def end_drill(self, alarm_id: UUID, now: datetime) -> list[Action]:
        """Central ends a drill itself: the drill mode of its room ended (early or by
        itself) while it was open. Resolved with ``drill mode ended`` on its timeline, so that
        no later press counts on it as a drill. Only ever a drill: a real alarm is resolved by
        a person, never by the system."""
        entry = self._entries.get(alarm_id)
        if entry is None:
            return [Refusal(alarm_id, "unknown_alarm")]
        if not entry.view.drill:
            return [Refusal(alarm_id, "not_a_drill")]
        if entry.view.state is AlarmState.RESOLVED:
            return []
        return self._resolve_as(entry, CENTRAL_ACTOR, DRILL_MODE_ENDED, now)

    def escalate(
        self,
        alarm_id: UUID,
        stage: int,
        targets: tuple[str, ...],
        sites: Iterable[str],
        users: Iterable[str],
        detail: str,
        now: datetime,
    ) -> list[Action]:
        """Stage ``stage`` of the escalation routine is taken: the alarm also reaches every
        screen of ``sites`` and of ``users`` (who may answer it), and its timeline says so.

        Like a new alarm, the news goes to screens at once (never waiting for the disk): the
        new audience must see it now. A stage already taken, or an alarm resolved, changes
        nothing (an empty list)."""
        entry = self._entries.get(alarm_id)
        if entry is None or entry.view.state is AlarmState.RESOLVED or stage <= entry.view.stage:
            return []
        view = entry.view
        update = {
            "stage": stage,
            "escalated_to": (
                *view.escalated_to,
                *(t for t in targets if t not in view.escalated_to),
            ),
            "escalated_sites": tuple(sorted({*view.escalated_sites, *sites} - {view.site})),
            "escalated_users": tuple(sorted({*view.escalated_users, *users})),
        }
        entry.view = view.model_copy(update=update)
        entry.shown = entry.shown.model_copy(update=update)
        event = AlarmEvent(alarm_id, EventKind.ESCALATED, now, CENTRAL_ACTOR, detail)
        return [self._persist(entry, event), self._broadcast(entry, AlarmUpdate(alarm=entry.shown))]

    def stand_by(self, alarm_id: UUID, standby: tuple[Responder, ...]) -> AlarmView | None:
        """A new alarm came from a meeting with standby (central.core.standby): it names the
        confirmed colleagues, who get it too (first). Called by the shell between the book's
        answer to a new alarm and carrying it out, so the very first broadcast names them;
        never delays anything. Returns the alarm as screens now see it (None: unknown, or
        a test alarm, which reaches nobody else)."""
        entry = self._entries.get(alarm_id)
        if entry is None or entry.only is not None or not standby:
            return None
        entry.view = entry.view.model_copy(update={"standby": standby})
        entry.shown = entry.shown.model_copy(update={"standby": standby})
        return entry.shown

    def _change(self, entry: _Entry, update: dict[str, object], event: AlarmEvent) -> list[Action]:
        """A person's change: written now; edge and screens hear of it once it is stored."""
        before = _led_word(entry.view)
        entry.view = entry.view.model_copy(update=update)
        ack = _led_word(entry.view) != before and entry.view.state is not AlarmState.RAISED
        return [self._persist(entry, event, ack_after_commit=ack)]

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _broadcast(entry: _Entry, frame: AlarmNew | AlarmUpdate) -> Broadcast:
        return Broadcast(entry.view.site, frame, only=entry.only)

    def _persist(
        self, entry: _Entry, *events: AlarmEvent, ack_after_commit: bool = False
    ) -> Persist:
        """A write of the entry's current row, carrying any events of earlier failed writes."""
        pending = (*entry.unwritten, *events)
        entry.unwritten.clear()
        entry.in_flight += 1
        owed, entry.ack_owed = entry.ack_owed, False
        row = _stored_row(entry.view)
        if entry.written is None or _device_word(row) != _device_word(entry.written):
            entry.view = entry.view.model_copy(update={"rev": entry.view.rev + 1})
            row = _stored_row(entry.view)
        entry.written = row
        return Persist(
            row.alarm_id,
            row,
            pending,
            insert=entry.committed is None,
            ack_after_commit=ack_after_commit or owed,
        )

    def _index(self, view: AlarmView) -> None:
        self._by_device.setdefault((view.site, view.device), {})[view.alarm_id] = None

    @staticmethod
    def _ack(view: AlarmView, now: datetime) -> list[AckEdge]:
        if view.source in (AlarmSource.DESKTOP, AlarmSource.MOBILE):
            return []  # no edge behind it: the raiser's desk (or phone) follows the record
        return [
            AckEdge(
                site=view.site,
                device=view.device,
                alarm_id=view.alarm_id,
                state=_ACK_STATE[view.state],
                responders=view.responders,
                at=now,
                presses=view.presses,
                # A test alarm's ack names no input: no device ever takes one up (its LED
                # never shows a synthetic press), while its outbox still settles by id.
                input=None if view.test else view.input,
                rev=view.rev or None,  # 0: a row stored before revisions
                shown=view.shown_at is not None,
                drill=view.drill,  # central's word: the device shows its drill pattern
            )
        ]

    def _prune(self, now: datetime) -> None:
        """Forget resolved alarms after ``retention``; they stay in the store for ever."""
        horizon = now - self._retention
        while self._resolved:
            alarm_id, resolved_at = next(iter(self._resolved.items()))
            entry = self._entries[alarm_id]
            if resolved_at >= horizon or entry.in_flight or alarm_id in self._retrying:
                break
            del self._entries[alarm_id]
            del self._resolved[alarm_id]
            key = (entry.view.site, entry.view.device)
            self._by_device[key].pop(alarm_id, None)
            if not self._by_device[key]:
                del self._by_device[key]
