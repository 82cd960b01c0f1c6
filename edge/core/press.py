"""Press policy: from contact edges and central's acks to alarms and LED states.

Rules (each one is a test in tests/edge/test_press_policy.py):

* closing a contact with no active alarm on that input raises a new alarm (id from the
  injected factory) and shows "sending";
* a contact held closed is one alarm: only the closing edge counts;
* a close that follows an open by less than the input's bounce window is contact bounce and
  is ignored (gpiozero filters bounce on real pins too; this makes it hold on every pin driver);
* a new press while the input's alarm is active counts on that alarm (``presses`` + 1,
  republished with the same id); only after "resolved" does a press raise a new alarm;
* an ack moves the alarm's LED forward only, never back; "resolved" shows for
  ``resolved_display`` and then the LED goes off (see :meth:`PressPolicy.tick`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from edge.core.actions import Action, RaiseAlarm, Republish, SetLed
from edge.core.led import LedState, led_for_ack, moves_forward
from edge.errors import UnknownInput
from protocol import AckState, AlarmLevel, AlarmSource

DEFAULT_RESOLVED_DISPLAY = timedelta(seconds=1.5)


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


@dataclass(slots=True)
class _Input:
    spec: ButtonSpec
    closed: bool = False
    last_opened: datetime | None = None
    alarm: _Alarm | None = None
    led: LedState = LedState.OFF
    resolved_at: datetime | None = None


class PressPolicy:
    def __init__(
        self,
        buttons: Iterable[ButtonSpec],
        id_factory: Callable[[], UUID],
        resolved_display: timedelta = DEFAULT_RESOLVED_DISPLAY,
    ) -> None:
        self._inputs = {spec.input: _Input(spec) for spec in buttons}
        self._by_alarm: dict[UUID, str] = {}
        self._new_id = id_factory
        self._resolved_display = resolved_display

    def add_input(self, spec: ButtonSpec) -> None:
        """Track one more input (a pendant seen for the first time); known inputs are kept."""
        self._inputs.setdefault(spec.input, _Input(spec))

    # -- queries -------------------------------------------------------------------------

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self._inputs)

    def led_state(self, input_name: str) -> LedState:
        return self._input(input_name).led

    def active_alarm(self, input_name: str) -> UUID | None:
        alarm = self._input(input_name).alarm
        return alarm.alarm_id if alarm else None

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
        alarm_id = self._new_id()
        self._track(state, alarm_id, presses=1)
        return [
            RaiseAlarm(alarm_id, input_name, state.spec.level, now, state.spec.source),
            SetLed(input_name, LedState.SENDING, alarm_id),
        ]

    def contact_opened(self, input_name: str, now: datetime) -> list[Action]:
        state = self._input(input_name)
        if state.closed:
            state.closed = False
            state.last_opened = now
        return []

    def ack(
        self,
        alarm_id: UUID,
        state: AckState,
        responders: Sequence[object],
        now: datetime,
    ) -> list[Action]:
        """Central's word on ``alarm_id``; acks for alarms no longer tracked are no-ops."""
        input_name = self._by_alarm.get(alarm_id)
        if input_name is None:
            return []
        entry = self._inputs[input_name]
        alarm = entry.alarm
        assert alarm is not None and alarm.alarm_id == alarm_id  # kept in step with _by_alarm
        proposed = led_for_ack(state, len(responders))
        if not moves_forward(alarm.led, proposed):
            return []
        alarm.led = proposed
        entry.led = proposed
        if proposed is LedState.RESOLVED:
            del self._by_alarm[alarm_id]
            entry.alarm = None
            entry.resolved_at = now
        return [SetLed(input_name, proposed, alarm_id)]

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
                actions.append(SetLed(name, LedState.OFF))
        return actions

    def restore(self, alarm_id: UUID, input_name: str, presses: int) -> list[Action]:
        """An unacked alarm found in the outbox at start: track it again as "sending".

        Returns no actions when the input is no longer configured or already has an alarm;
        the outbox still delivers the alarm, only the LED cannot show it.
        """
        entry = self._inputs.get(input_name)
        if entry is None or entry.alarm is not None or alarm_id in self._by_alarm:
            return []
        self._track(entry, alarm_id, presses)
        return [SetLed(input_name, LedState.SENDING, alarm_id)]

    # -- internals -----------------------------------------------------------------------

    def _input(self, input_name: str) -> _Input:
        try:
            return self._inputs[input_name]
        except KeyError:
            raise UnknownInput(input_name) from None

    def _track(self, entry: _Input, alarm_id: UUID, presses: int) -> None:
        entry.alarm = _Alarm(alarm_id, presses, LedState.SENDING)
        entry.led = LedState.SENDING
        entry.resolved_at = None
        self._by_alarm[alarm_id] = entry.spec.input
