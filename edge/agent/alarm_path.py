"""The alarm path: press policy actions out to the link, the disk and the LEDs; acks back in.

Every decision is the press policy's (``edge.core.press``) or the outbox policy's; this module
carries them out, in one place, so the order that matters is visible: a raised alarm goes to
the sender (network first, disk in parallel) before its LED shows it; a re-press sends the same
alarm with the higher count; an ack settles the outbox and then moves the LED (unless it answers
a synthetic test press, which no LED ever shows); an alarm central names that this device did
not know is adopted (kept as acked); an active alarm of an earlier run is restored to its input.

The sensor board's alarms take the same path (:class:`edge.sensing.RoomSensors` hands its
actions to :meth:`AlarmPath.apply`), so there is one way out for every alarm of the room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from edge.config import EdgeSettings
from edge.core import (
    Action,
    AdoptAlarm,
    NextId,
    PressPolicy,
    RaiseAlarm,
    Republish,
    SetLed,
    StuckAtStart,
    Word,
)
from edge.hw import Indicators
from edge.outbox import AlarmSender, Restored
from edge.sensing import RoomSensors
from protocol import AckMessage, AlarmLevel, AlarmMessage, AlarmSource, HeldAlarm

log = logging.getLogger(__name__)


class AlarmPath:
    """The room's alarms between the policies and the real parts. ``notify``: state changed."""

    def __init__(
        self,
        settings: EdgeSettings,
        policy: PressPolicy,
        sender: AlarmSender,
        clock: Callable[[], datetime],
        notify: Callable[[], None],
    ) -> None:
        self._settings = settings
        self.policy = policy
        self.sender = sender
        self._clock = clock
        self._notify = notify
        self.indicators: Indicators | None = None  # set while running
        self.sensors: RoomSensors | None = None
        self._test_acks: dict[UUID, asyncio.Future[str]] = {}

    # -- what it shows -------------------------------------------------------------------

    def led_states(self) -> dict[str, str]:
        return {name: self.policy.led_state(name).value for name in self.policy.inputs}

    def held(self) -> tuple[HeldAlarm, ...]:
        """Every alarm this device holds as active, buttons first (state sync with central)."""
        board = self.sensors.policy.held() if self.sensors is not None else ()
        return (*self.policy.held(), *board)

    def show_all(self, indicators: Indicators) -> None:
        """Start showing on ``indicators`` what each input's LED says now."""
        self.indicators = indicators
        for name in self.policy.inputs:
            indicators.show(name, self.policy.led_state(name), self.policy.led_drill(name))

    # -- actions out ---------------------------------------------------------------------

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case RaiseAlarm():
                    self._raise(action)
                case Republish():
                    self._republish(action)
                case SetLed():
                    self._set_led(action)
                case AdoptAlarm():
                    self._adopt(action)
                case NextId() | StuckAtStart():  # pragma: no cover - only from start()
                    pass
        if actions:
            self._notify()

    def _raise(self, action: RaiseAlarm) -> None:
        message = self._message(
            action.alarm_id,
            action.input,
            action.level,
            action.source,
            action.raised_at,
            held_at_start=action.held_at_start,
        )
        reason = "held_at_start" if action.held_at_start else "new"
        self.sender.send(message, reason, action.raised_at, action.next_id)

    def _adopt(self, action: AdoptAlarm) -> None:
        """Take up an alarm central named: built from this device's config, kept as acked."""
        log.info(
            "adopt alarm_id=%s input=%s presses=%d state=%s",
            action.alarm_id,
            action.input,
            action.presses,
            action.state.value,
        )
        message = self._message(
            action.alarm_id,
            action.input,
            action.level,
            action.source,
            action.at,
            presses=action.presses,
        )
        self.sender.adopt(message, action.state, action.at, action.said_at, action.said_rev)

    def _republish(self, action: Republish) -> None:
        previous = self.sender.message(action.alarm_id)
        if previous is None:  # pragma: no cover - the policy only repeats alarms we raised
            log.error("re-press of unknown alarm_id=%s", action.alarm_id)
            return
        message = previous.model_copy(update={"presses": action.presses})
        self.sender.send(message, "repress", self._clock())

    def _set_led(self, action: SetLed) -> None:
        log.info(
            "led input=%s state=%s%s alarm_id=%s",
            action.input,
            action.state.value,
            " (drill)" if action.drill else "",
            action.alarm_id or "-",
        )
        if self.indicators is not None:
            self.indicators.show(action.input, action.state, action.drill)

    def _message(
        self,
        alarm_id: UUID,
        input_name: str,
        level: AlarmLevel,
        source: AlarmSource,
        raised_at: datetime,
        *,
        presses: int = 1,
        held_at_start: bool = False,
        test: bool = False,
    ) -> AlarmMessage:
        """An alarm of this device's room (site, device and room from its settings)."""
        return AlarmMessage(
            site=self._settings.site,
            device=self._settings.device,
            alarm_id=alarm_id,
            level=level,
            room=self._settings.room,
            source=source,
            input=input_name,
            raised_at=raised_at,
            presses=presses,
            held_at_start=held_at_start,
            test=test,
        )

    # -- events in -----------------------------------------------------------------------

    def restore(self, restored: Restored) -> None:
        """An active alarm of an earlier run: its input tracks it again (LED and the order of
        central's acks, re-presses)."""
        message, shows, said_at, said_rev = restored
        if message.test:
            return  # a test alarm of an earlier run: resent, but no LED shows it
        held = HeldAlarm(
            alarm_id=message.alarm_id, input=message.input, presses=message.presses, state=shows
        )
        if message.source is AlarmSource.SENSOR and self.sensors is not None:
            self.sensors.restore(held, said_at, said_rev)
        else:
            self.apply(self.policy.restore(held, said_at, said_rev))

    def ack(self, ack: AckMessage) -> None:
        """Central's ack: the outbox first, then what the LED (or the board's alarm) shows."""
        log.info(
            "ack alarm_id=%s state=%s presses=%s responders=%d input=%s rev=%s shown=%s",
            ack.alarm_id,
            ack.state.value,
            ack.presses,
            len(ack.responders),
            ack.input or "-",
            ack.rev,
            ack.shown,
        )
        now = self._clock()
        waiting = self._test_acks.pop(ack.alarm_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(ack.state.value)
        sent = self.sender.message(ack.alarm_id)
        self.sender.acked(
            ack.alarm_id,
            ack.state,
            ack.presses,
            now,
            len(ack.responders),
            ack.at,
            ack.rev,
            shown=ack.shown,
        )
        if (sent is not None and sent.test) or waiting is not None:
            self._notify()  # a synthetic test press: settled, and no LED ever shows it
            return
        word = Word.of(ack)
        self.apply(self.policy.ack(word, now))
        if self.sensors is not None:
            self.sensors.ack(word)
        self._notify()

    def raise_test_alarm(self, alarm_id: UUID) -> asyncio.Future[str] | None:
        """The synthetic test press: a real alarm message flagged ``test``, on the first
        button, sent and kept like any alarm; the LED is left alone (nobody pressed it)."""
        if not self._settings.buttons:
            return None
        now = self._clock()
        button = self._settings.buttons[0]
        message = self._message(
            alarm_id, button.input, button.level, AlarmSource.BUTTON, now, test=True
        )
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._test_acks[alarm_id] = future
        self.sender.send(message, "test", now)
        return future


__all__ = ["AlarmPath"]
