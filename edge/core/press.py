"""Press policy: from contact edges and central's acks to alarms and LED states.

Rules (each one is a test in tests/edge/test_press_policy.py):

* closing a contact with no active alarm on that input raises a new alarm (id from the
  injected factory) and shows "sending";
* a contact held closed is one alarm: only the closing edge counts;
* a close that follows an open by less than the input's bounce window is contact bounce and
  is ignored (gpiozero filters bounce on real pins too; this makes it hold on every pin driver);
* a new press while the input's alarm is active counts on that alarm (``presses`` + 1,
  republished with the same id); only after "resolved" does a press raise a new alarm;
* the LED follows central's word, ordered by the ack's ``rev`` (by its ``at`` from a central
  without revisions): an ack older than the last one applied to the alarm is stale and changes
  nothing; any other shows what it says, back from "help is coming" to "received" too (the only
  colleague coming withdrew), and from "stored" to "received" once a colleague's screen has
  it. Nothing goes back to
  "sending"; "resolved" is final (a later ack for that alarm is not taken up again), shows for
  ``resolved_display`` and then the LED goes off (see :meth:`PressPolicy.tick`);
* an ack (not "resolved") for an alarm the device does not know, naming a known input that has
  no alarm, is taken up (*adopted*): central's record outlived the device's memory (a restart,
  a lost ack), so the LED shows it and presses count on it. While the input holds another alarm,
  such an ack changes nothing (central answers the held alarm first; docs/protocol.md);
* ids are pre-allocated per input (``preallocate``): the id a press will use is stored durably
  with the previous alarm (:attr:`RaiseAlarm.next_id`), so that a press cut short by a power cut
  before its own write can be raised again, with the same id, when the edge starts with the
  contact still held (:meth:`PressPolicy.start`). An input not held at start gets a fresh id:
  an id that may have gone out is never used for a later press;
* at start a held contact is the alarm it is (``held_at_start``), or the input's restored
  alarm; only a contact held at the previous start too is "stuck" (a fault, no alarm);
* whether the alarm is a drill is what the newest applied ack says (ordered as its state is,
  by ``rev``; central decides, never the device): its LED shows the same state in the drill
  pattern while central says ``drill``, in the ordinary one once a newer ack does not, and the
  device lists it as a drill (state sync); a device that forgot (a restart) hears it again from
  central.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from edge.core.actions import (
    Action,
    AdoptAlarm,
    NextId,
    RaiseAlarm,
    Republish,
    SetLed,
    StuckAtStart,
)
from edge.core.led import LedState, Word, held_state, is_stale, later, led_for_held, may_show
from edge.errors import UnknownInput
from protocol import AckState, AlarmLevel, AlarmSource, HeldAlarm

DEFAULT_RESOLVED_DISPLAY = timedelta(seconds=1.5)
# Resolved alarms remembered so a late ack cannot take one up again (a bounded memory).
REMEMBER_RESOLVED = 256


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """An input that raises alarms: a GPIO button, or a sensor input (pendant, sound level)."""

    input: str
    level: AlarmLevel
    bounce: timedelta = timedelta(milliseconds=30)
    source: AlarmSource = AlarmSource.BUTTON


@dataclass(slots=True)
class _Alarm:
    alarm_id: UUID
    presses: int
    led: LedState
    said_at: datetime | None = None  # ``at`` of the last ack applied (central's clock)
    said_rev: int | None = None  # ``rev`` of the last ack applied (central's record)
    drill: bool = False  # central said it is a drill


@dataclass(slots=True)
class _Input:
    spec: ButtonSpec
    closed: bool = False
    last_opened: datetime | None = None
    alarm: _Alarm | None = None
    led: LedState = LedState.OFF
    resolved_at: datetime | None = None
    drill: bool = False  # the LED shows its state in the drill pattern


class PressPolicy:
    def __init__(
        self,
        buttons: Iterable[ButtonSpec],
        id_factory: Callable[[], UUID],
        resolved_display: timedelta = DEFAULT_RESOLVED_DISPLAY,
        preallocate: bool = True,
    ) -> None:
        self._inputs = {spec.input: _Input(spec) for spec in buttons}
        self._by_alarm: dict[UUID, str] = {}
        self._new_id = id_factory
        self._resolved_display = resolved_display
        self._preallocate = preallocate
        self._next: dict[str, UUID] = {}  # input -> the id its next alarm will carry
        self._resolved: OrderedDict[UUID, None] = OrderedDict()  # the newest last

    def add_input(self, spec: ButtonSpec) -> None:
        """Track one more input (a pendant seen for the first time); known inputs are kept."""
        self._inputs.setdefault(spec.input, _Input(spec))

    # -- queries -------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    def led_state(self, input_name: str) -> LedState:
        return self._input(input_name).led

    def led_drill(self, input_name: str) -> bool:
        """Whether the input's LED shows its state in the drill pattern."""
        return self._input(input_name).drill

    def active_alarm(self, input_name: str) -> UUID | None:
        alarm = self._input(input_name).alarm
        return alarm.alarm_id if alarm else None

    def held(self) -> tuple[HeldAlarm, ...]:
        """The alarms the device holds as active (for health: central's state sync)."""
        held = []
        for name, entry in self._inputs.items():
            alarm = entry.alarm
            shows = held_state(alarm.led) if alarm is not None else None
            if alarm is not None and shows is not None:
                held.append(
                    HeldAlarm(
                        alarm_id=alarm.alarm_id,
                        input=name,
                        presses=alarm.presses,
                        state=shows,
                        drill=alarm.drill or None,  # only a drill says so (docs/protocol.md)
                    )
                )
        return tuple(held)

    def next_id(self, input_name: str) -> UUID | None:
        """The id the input's next alarm will carry (None until one is allocated)."""
        return self._next.get(input_name)

    def presses(self, alarm_id: UUID) -> int | None:
        input_name = self._by_alarm.get(alarm_id)
        if input_name is None:
            return None
        alarm = self._inputs[input_name].alarm
        return alarm.presses if alarm else None

    # -- events --------------------------------------------------------------------------

    def contact_closed(self, input_name: str, now: datetime) -> list[Action]:
        state = self._input(input_name)
        if state.closed:
            return []  # a repeated edge report; the contact is already held
        state.closed = True
        if state.last_opened is not None:
            since_open = now - state.last_opened
            # A negative gap means the clock stepped back: not bounce, so never swallow a press.
            if timedelta(0) <= since_open < state.spec.bounce:
                return []
        if state.alarm is not None:
            state.alarm.presses += 1
            return [Republish(state.alarm.alarm_id, input_name, state.alarm.presses)]
        return self._raise(state, now, held_at_start=False)

    def start(
        self,
        closed: Collection[str],
        closed_before: Collection[str],
        next_ids: Mapping[str, UUID],
        now: datetime,
    ) -> list[Action]:
        """The edge has started (after :meth:`restore`): ``closed`` inputs are held now,
        ``closed_before`` were held at the previous start and never opened since, ``next_ids``
        are the pre-allocated ids found on disk. Every input leaves with a fresh next id.
        """
        actions: list[Action] = []
        for name, entry in self._inputs.items():
            if name not in closed:
                actions += self._allocate(name)
                continue
            entry.closed = True
            if name in closed_before:
                actions.append(StuckAtStart(name))
                actions += self._allocate(name)
            elif entry.alarm is not None:
                actions += self._allocate(name)  # the held contact is the restored alarm
            else:
                if name in next_ids:
                    self._next[name] = next_ids[name]  # perhaps already sent: central de-dups
                actions += self._raise(entry, now, held_at_start=True)
        return actions

    def contact_opened(self, input_name: str, now: datetime) -> list[Action]:
        state = self._input(input_name)
        if state.closed:
            state.closed = False
            state.last_opened = now
        return []

    def ack(self, word: Word, now: datetime) -> list[Action]:
        """Central's word on an alarm. A word on an alarm not tracked is taken up when it
        names a known input without an alarm and is not "resolved" (nor about an alarm
        resolved here); any other is a no-op. ``word.presses``: the count central has stored
        (for an adopted alarm).
        """
        alarm_id = word.alarm_id
        known = self._by_alarm.get(alarm_id)
        if known is None:
            if alarm_id in self._resolved:
                return []  # resolved is final: a late ack does not bring it back
            return self._adopt(word, now)
        input_name = known
        entry = self._inputs[input_name]
        alarm = entry.alarm
        if alarm is None or alarm.alarm_id != alarm_id:  # kept in step with _by_alarm
            raise RuntimeError(f"_by_alarm out of step with input {input_name}")
        resolved = word.state is AckState.RESOLVED
        if is_stale(
            alarm.said_at, word.at, resolved=resolved, last_rev=alarm.said_rev, rev=word.rev
        ):
            return []  # said before the word already shown: central has said newer since
        alarm.said_at = later(alarm.said_at, word.at)
        alarm.said_rev = later(alarm.said_rev, word.rev)
        proposed = word.led
        drill_changed = word.drill != alarm.drill
        alarm.drill = word.drill  # the newest word central said (not stale) decides
        if not may_show(alarm.led, proposed):
            if drill_changed and alarm.led is not LedState.RESOLVED:
                entry.drill = alarm.drill  # the same state, in the pattern central now says
                return [SetLed(input_name, alarm.led, alarm_id, drill=alarm.drill)]
            return []
        alarm.led = proposed
        entry.led = proposed
        entry.drill = alarm.drill
        if proposed is LedState.RESOLVED:
            del self._by_alarm[alarm_id]
            entry.alarm = None
            entry.resolved_at = now
            self._resolved[alarm_id] = None
            while len(self._resolved) > REMEMBER_RESOLVED:
                self._resolved.popitem(last=False)
        return [SetLed(input_name, proposed, alarm_id, drill=alarm.drill)]

    def tick(self, now: datetime) -> list[Action]:
        """Time passing: a "resolved" LED that has been shown long enough goes off."""
        actions: list[Action] = []
        for name, entry in self._inputs.items():
            if entry.led is not LedState.RESOLVED or entry.resolved_at is None:
                continue
            shown = now - entry.resolved_at
            if shown >= self._resolved_display or shown < timedelta(0):
                entry.led = LedState.OFF
                entry.resolved_at = None
                entry.drill = False
                actions.append(SetLed(name, LedState.OFF))
        return actions

    def restore(
        self, held: HeldAlarm, said_at: datetime | None = None, said_rev: int | None = None
    ) -> list[Action]:
        """An active alarm found in the outbox at start (unacked: "sending", or acked and not
        resolved): track it again, showing ``held.state`` as central said it (revision
        ``said_rev``, at ``said_at``; an older ack is stale); later presses count on it.

        Returns no actions when the input is no longer configured or already has an alarm;
        the outbox still delivers the alarm, only the LED cannot show it.
        """
        entry = self._inputs.get(held.input)
        if entry is None or entry.alarm is not None or held.alarm_id in self._by_alarm:
            return []
        led = led_for_held(held.state)
        drill = bool(held.drill)
        self._track(entry, held.alarm_id, held.presses, led, said_at, said_rev, drill)
        return [SetLed(held.input, led, held.alarm_id, drill=drill)]

    # -- internals -----------------------------------------------------------------------

    def _input(self, input_name: str) -> _Input:
        try:
            return self._inputs[input_name]
        except KeyError:
            raise UnknownInput(input_name) from None

    def _raise(self, entry: _Input, now: datetime, *, held_at_start: bool) -> list[Action]:
        name, spec = entry.spec.input, entry.spec
        alarm_id = self._next.pop(name, None) or self._new_id()
        next_id = None
        if self._preallocate:
            next_id = self._next[name] = self._new_id()
        self._track(entry, alarm_id, presses=1)
        return [
            RaiseAlarm(alarm_id, name, spec.level, now, spec.source, next_id, held_at_start),
            SetLed(name, LedState.SENDING, alarm_id),
        ]

    def _allocate(self, input_name: str) -> list[Action]:
        if not self._preallocate:
            return []
        alarm_id = self._next[input_name] = self._new_id()
        return [NextId(input_name, alarm_id)]

    def _adopt(self, word: Word, now: datetime) -> list[Action]:
        entry = self._inputs.get(word.input) if word.input is not None else None
        led = word.led
        shows = held_state(led)
        if entry is None or entry.alarm is not None or shows is None:
            return []  # unknown input, one alarm already held there, or "resolved"
        alarm_id, at, count = word.alarm_id, word.at, word.presses or 1
        self._track(entry, alarm_id, count, led, at, word.rev, word.drill)
        name = entry.spec.input
        spec = entry.spec
        adopt = AdoptAlarm(
            alarm_id, name, count, shows, now, spec.level, spec.source, at, said_rev=word.rev
        )
        return [adopt, SetLed(name, led, alarm_id, drill=word.drill)]

    def _track(
        self,
        entry: _Input,
        alarm_id: UUID,
        presses: int,
        led: LedState = LedState.SENDING,
        said_at: datetime | None = None,
        said_rev: int | None = None,
        drill: bool = False,
    ) -> None:
        entry.alarm = _Alarm(alarm_id, presses, led, said_at, said_rev, drill)
        entry.led = led
        entry.drill = drill
        entry.resolved_at = None
        self._by_alarm[alarm_id] = entry.spec.input
