"""The alarm lifecycle, without I/O: raised → received → acknowledged → resolved.

Feed it what happened (an alarm message, a screen's command, a commit the store reported) and
``now``; it answers with actions for the shells. Two rules shape it:

* Screens hear of a new alarm at once (``Broadcast``), in parallel with the write; the edge is
  told "received" only after the store reports the commit (``committed``), because the ack is a
  promise that the alarm is on disk.
* The same ``alarm_id`` is one alarm, always: a resend is answered with the last *committed*
  state, never recorded again; late or out-of-order commands change nothing and say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from central.core.model import (
    AckEdge,
    Action,
    AlarmEvent,
    Broadcast,
    EventKind,
    Persist,
    Person,
    Refusal,
)
from protocol import AckState, AlarmMessage, AlarmSource
from protocol.messages import Responder
from protocol.screen import (
    AlarmNew,
    AlarmState,
    AlarmUpdate,
    AlarmView,
    Command,
    CommandKind,
    RaiseRequest,
)

CENTRAL_ACTOR = "central"
DESK_DEVICE = "desktop"  # the device of alarms raised from a desk (their raiser is a person)
DEFAULT_RETENTION = timedelta(days=7)

_ACK_STATE = {
    AlarmState.RECEIVED: AckState.RECEIVED,
    AlarmState.ACKNOWLEDGED: AckState.ACKNOWLEDGED,
    AlarmState.RESOLVED: AckState.RESOLVED,
}


@dataclass(slots=True)
class _Entry:
    view: AlarmView  # as screens see it now
    committed: AlarmView | None = None  # the last row the store confirmed; None: never stored
    in_flight: int = 0  # writes submitted and not yet reported
    unwritten: list[AlarmEvent] = field(default_factory=list)  # events of failed writes
    receipts: set[tuple[str, EventKind]] = field(default_factory=set)
    only: frozenset[str] | None = None  # a test alarm's audience (user ids); None: the site


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
            book._entries[view.alarm_id] = _Entry(view=view, committed=view, only=only)
            if view.state is AlarmState.RESOLVED:
                resolved.append((view.resolved_at or view.raised_at, view.alarm_id))
        for resolved_at, alarm_id in sorted(resolved):
            book._resolved[alarm_id] = resolved_at
        return book

    # --- queries -----------------------------------------------------------------------

    def get(self, alarm_id: UUID) -> AlarmView | None:
        entry = self._entries.get(alarm_id)
        return entry.view if entry else None

    def active(self) -> tuple[AlarmView, ...]:
        return tuple(
            e.view for e in self._entries.values() if e.view.state is not AlarmState.RESOLVED
        )

    def active_for(self, person: Person) -> tuple[AlarmView, ...]:
        """The alarms a screen of ``person`` must show on connect (the snapshot)."""
        return tuple(
            e.view
            for e in self._entries.values()
            if e.view.state is not AlarmState.RESOLVED
            and person.covers(e.view.site)
            and (e.only is None or person.user_id in e.only)
        )

    def audience(self, alarm_id: UUID) -> frozenset[str] | None:
        """Who may see a test alarm (user ids); None for a real alarm (or an unknown one)."""
        entry = self._entries.get(alarm_id)
        return entry.only if entry else None

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
        entry = self._entries.get(message.alarm_id)
        if entry is None:
            if test_for is None and message.test:
                test_for = frozenset()
            return self._raise(message, now, test_for)
        view = entry.view
        if (view.site, view.device) != (message.site, message.device):
            return [Refusal(message.alarm_id, "alarm_id_of_other_device")]
        actions: list[Action] = []
        if message.presses > view.presses and view.state is not AlarmState.RESOLVED:
            entry.view = view.model_copy(update={"presses": message.presses})
            detail = f"presses={message.presses}"
            event = AlarmEvent(view.alarm_id, EventKind.PRESSED, now, message.device, detail)
            actions.append(self._broadcast(entry, AlarmUpdate(alarm=entry.view)))
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

    def _raise(
        self, message: AlarmMessage, now: datetime, test_for: frozenset[str] | None
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
        return self._open(view, now, actor=view.device, only=test_for)

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
            return [self._broadcast(entry, AlarmUpdate(alarm=entry.view))]
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

    def _open(
        self, view: AlarmView, now: datetime, actor: str, only: frozenset[str] | None = None
    ) -> list[Action]:
        entry = _Entry(view=view, only=only)
        self._entries[view.alarm_id] = entry
        flags = "".join(f" {f}" for f, on in (("test", view.test), ("drill", view.drill)) if on)
        detail = (
            f"{view.level} {view.source}:{view.input} in {view.room!r},"
            f" raised_at {view.raised_at.isoformat()}{flags}"
        )
        event = AlarmEvent(view.alarm_id, EventKind.RAISED, now, actor, detail)
        # The write is handed to the store first so that the disk works while the screens are
        # told: neither waits for the other (DESIGN: "disk does not wait for notification").
        persist = self._persist(entry, event)
        return [persist, self._broadcast(entry, AlarmNew(alarm=view))]

    # --- the store's reports ---------------------------------------------------------------

    def committed(self, persist: Persist, now: datetime) -> list[Action]:
        """The store committed ``persist``: what it says is now true, and may be acked."""
        entry = self._entries.get(persist.alarm_id)
        if entry is None:
            return []
        entry.in_flight -= 1
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
            # commit (the state then stays "acknowledged"; screens need no update for it).
            # The edge's first ack waits for this entry's commit too, so that a crash right
            # after the ack can never leave an alarm without its "received" on record.
            event = AlarmEvent(entry.view.alarm_id, EventKind.RECEIVED, now, CENTRAL_ACTOR)
            actions.append(self._persist(entry, event, ack_after_commit=True))
            if entry.view.state is AlarmState.RAISED:
                entry.view = entry.view.model_copy(update={"state": AlarmState.RECEIVED})
                actions.append(self._broadcast(entry, AlarmUpdate(alarm=entry.view)))
        return actions

    def commit_failed(self, persist: Persist) -> None:
        """The store could not commit ``persist``; its events ride along with the next write."""
        entry = self._entries.get(persist.alarm_id)
        if entry is None:
            return
        entry.in_flight -= 1
        entry.unwritten.extend(persist.events)

    # --- commands from screens -----------------------------------------------------------

    def command(self, person: Person, command: Command, now: datetime) -> list[Action]:
        entry = self._entries.get(command.alarm_id)
        if entry is None:
            return [Refusal(command.alarm_id, "unknown_alarm")]
        if not person.covers(entry.view.site) or (
            entry.only is not None and person.user_id not in entry.only
        ):
            return [Refusal(command.alarm_id, "not_your_site")]
        kind = command.type
        if kind in (CommandKind.DELIVERED, CommandKind.SHOWN):
            return self._receipt(entry, person, EventKind(kind.value), now)
        if entry.view.state is AlarmState.RESOLVED:
            return [Refusal(command.alarm_id, "already_resolved")]
        if kind is CommandKind.COMING:
            return self._coming(entry, person, now)
        if kind is CommandKind.CANT_COME:
            return self._cant_come(entry, person, now)
        return self._resolve(entry, person, now)

    def _receipt(
        self, entry: _Entry, person: Person, kind: EventKind, now: datetime
    ) -> list[Action]:
        key = (person.user_id, kind)
        if key in entry.receipts:
            return []
        entry.receipts.add(key)
        event = AlarmEvent(entry.view.alarm_id, kind, now, person.user_id)
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

    def _change(self, entry: _Entry, update: dict[str, object], event: AlarmEvent) -> list[Action]:
        before = entry.view.state
        entry.view = entry.view.model_copy(update=update)
        ack = entry.view.state is not before and entry.view.state is not AlarmState.RAISED
        return [
            self._broadcast(entry, AlarmUpdate(alarm=entry.view)),
            self._persist(entry, event, ack_after_commit=ack),
        ]

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
        row = entry.view
        if row.state is AlarmState.RAISED:
            row = row.model_copy(update={"state": AlarmState.RECEIVED})
        return Persist(
            row.alarm_id,
            row,
            pending,
            insert=entry.committed is None,
            ack_after_commit=ack_after_commit,
        )

    @staticmethod
    def _ack(view: AlarmView, now: datetime) -> list[AckEdge]:
        if view.source is AlarmSource.DESKTOP:
            return []  # no edge behind it: the raiser's desk follows the screens' updates
        return [
            AckEdge(
                site=view.site,
                device=view.device,
                alarm_id=view.alarm_id,
                state=_ACK_STATE[view.state],
                responders=view.responders,
                at=now,
                presses=view.presses,
            )
        ]

    def _prune(self, now: datetime) -> None:
        """Forget resolved alarms after ``retention``; they stay in the store for ever."""
        horizon = now - self._retention
        while self._resolved:
            alarm_id, resolved_at = next(iter(self._resolved.items()))
            if resolved_at >= horizon or self._entries[alarm_id].in_flight:
                break
            del self._entries[alarm_id]
            del self._resolved[alarm_id]
