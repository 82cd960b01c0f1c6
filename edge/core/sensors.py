"""Sensor board decisions: frames, port changes and time in; events, alarms and faults out.

Rules (each one is a test in tests/edge/test_sensors.py):

* door, presence and tamper become events when their state changes (the first report after
  start is a change from "unknown");
* a sound level is an event when it crosses the alarm threshold, or when none has been sent
  for ``sound_report_every`` (the board reports every second; central needs far less);
* a pendant ``PRESS`` is a button press on the input named after the pendant: the same
  :class:`PressPolicy`, so a second press while its alarm is active counts on that alarm;
* a sound level above ``sound_alarm_db`` for ``sound_alarm_for`` is a press on the input
  ``sound`` (level assist): one alarm; a later loud spell while it is still active counts as a
  re-press of it, never a new alarm; the spell ends when a level at or below the threshold
  comes (or the board goes away);
* faults: the board unplugged (port lost until it opens again), silent (port open but no valid
  frame for ``silence``, looked at on :meth:`SensorPolicy.tick`), tamper (``TAMP,1`` until
  ``TAMP,0``). While unplugged the board is not also called silent: the cause is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from edge.core.actions import Action
from edge.core.faults import FaultKind
from edge.core.led import Word
from edge.core.press import ButtonSpec, PressPolicy
from edge.core.serial_frames import (
    Door,
    Frame,
    Pendant,
    PendantEvent,
    Presence,
    Sound,
    Tamper,
)
from protocol import AlarmLevel, AlarmSource, HeldAlarm

# The board's faults, keyed by kind (edge.core.faults); on the wire the text is the kind's value.
FAULT_UNPLUGGED: FaultKind = FaultKind.BOARD_UNPLUGGED
FAULT_SILENT: FaultKind = FaultKind.BOARD_SILENT
FAULT_TAMPER: FaultKind = FaultKind.BOARD_TAMPER
SOUND_INPUT = "sound"

_INPUT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
EventValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class SensorSettings:
    silence: timedelta = timedelta(seconds=3)
    pendant_level: AlarmLevel = AlarmLevel.ACUTE
    sound_alarm_db: int | None = None  # None: this room raises no sound alarm
    sound_alarm_for: timedelta = timedelta(seconds=5)
    sound_report_every: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class PublishEvent:
    """Send an ``event`` message (protocol.EventMessage) for the room."""

    sensor: str
    kind: str
    value: EventValue
    at: datetime


@dataclass(frozen=True, slots=True)
class FaultsChanged:
    """The board's faults are now ``faults`` (the status should say so)."""

    faults: tuple[FaultKind, ...]


SensorAction = Action | PublishEvent | FaultsChanged


def pendant_input(pendant_id: str) -> str:
    """The alarm ``input`` for a pendant: its id, unless that is no valid input name (a
    leading ``-``) or is taken by the sound input; "_" never occurs in a pendant id, so the
    prefixed form cannot collide with another pendant.
    """
    if _INPUT_NAME.fullmatch(pendant_id) and pendant_id != SOUND_INPUT:
        return pendant_id
    return f"pendant_{pendant_id}"


class SensorPolicy:
    def __init__(self, settings: SensorSettings, id_factory: Callable[[], UUID]) -> None:
        self._settings = settings
        # Sensor inputs get no bounce window: a pendant reports presses, not contact edges.
        # Nor pre-allocated ids: a pendant cannot be held closed across a restart.
        self._presses = PressPolicy([], id_factory, preallocate=False)
        self._connected = False
        self._heard_at: datetime | None = None  # last frame, or the moment the port opened
        self._unplugged = False
        self._silent = False
        self._tamper = False
        self._door: bool | None = None
        self._presence: bool | None = None
        self._loud: bool | None = None
        self._loud_since: datetime | None = None
        self._sound_sent_at: datetime | None = None
        if settings.sound_alarm_db is not None:
            self._add(SOUND_INPUT, AlarmLevel.ASSIST)

    # -- queries -------------------------------------------------------------------------

    @property
    def faults(self) -> tuple[FaultKind, ...]:
        flags = (
            (self._unplugged, FAULT_UNPLUGGED),
            (self._silent, FAULT_SILENT),
            (self._tamper, FAULT_TAMPER),
        )
        return tuple(name for on, name in flags if on)

    @property
    def connected(self) -> bool:
        return self._connected

    def active_alarm(self, input_name: str) -> UUID | None:
        if input_name not in self._presses.inputs:
            return None
        return self._presses.active_alarm(input_name)

    # -- the port ------------------------------------------------------------------------

    def port_opened(self, now: datetime) -> list[SensorAction]:
        """The port is open: the board gets ``silence`` to say something."""
        before = self.faults
        self._connected = True
        self._heard_at = now
        actions: list[SensorAction] = []
        if self._unplugged:
            self._unplugged = False
            actions.append(PublishEvent("board", "plugged", None, now))
        return actions + self._faults_changed(before)

    def port_lost(self, now: datetime) -> list[SensorAction]:
        """The port could not be opened or failed (unplugged); repeated reports are no-ops."""
        before = self.faults
        self._connected = False
        actions: list[SensorAction] = []
        if not self._unplugged:
            self._unplugged = True
            self._silent = False
            actions.append(PublishEvent("board", "unplugged", None, now))
        actions += self._sound_over(now)
        return actions + self._faults_changed(before)

    # -- frames and time -----------------------------------------------------------------

    def frame(self, frame: Frame, now: datetime) -> list[SensorAction]:
        before = self.faults
        self._heard_at = now
        actions: list[SensorAction] = []
        if self._silent:
            self._silent = False
            actions.append(PublishEvent("board", "back", None, now))
        match frame:
            case Door():
                actions += self._door_frame(frame, now)
            case Presence():
                actions += self._presence_frame(frame, now)
            case Tamper():
                actions += self._tamper_frame(frame, now)
            case Sound():
                actions += self._sound_frame(frame, now)
            case Pendant():
                actions += self._pendant_frame(frame, now)
            case _:  # Heartbeat, Pong: being heard is all they say here (pongs: the port's)
                pass
        return actions + self._faults_changed(before)

    def tick(self, now: datetime) -> list[SensorAction]:
        before = self.faults
        actions: list[SensorAction] = list(self._presses.tick(now))
        heard = self._heard_at
        if self._connected and not self._silent and heard is not None:
            quiet = now - heard
            if quiet >= self._settings.silence:
                self._silent = True
                actions.append(PublishEvent("board", "silent", quiet.total_seconds(), now))
                actions += self._sound_over(now)
            elif quiet < timedelta(0):
                self._heard_at = now  # the clock stepped back: count silence from now
        return actions + self._faults_changed(before)

    # -- alarms (the same ack and restore path as buttons) -------------------------------

    def held(self) -> tuple[HeldAlarm, ...]:
        """The sensor alarms held as active (for health, like the buttons')."""
        return self._presses.held()

    def ack(self, word: Word, now: datetime) -> list[Action]:
        """Central's word; one naming a sensor input seen here may be taken up (adopted).
        The LED follows it as a button's does (edge.core.led)."""
        return self._presses.ack(word, now)

    def restore(
        self, held: HeldAlarm, said_at: datetime | None = None, said_rev: int | None = None
    ) -> list[Action]:
        """An active sensor alarm from the outbox: a new press on its input counts on it."""
        level = AlarmLevel.ASSIST if held.input == SOUND_INPUT else self._settings.pendant_level
        self._add(held.input, level)
        return self._presses.restore(held, said_at, said_rev)

    # -- internals -----------------------------------------------------------------------

    def _add(self, input_name: str, level: AlarmLevel) -> None:
        self._presses.add_input(ButtonSpec(input_name, level, timedelta(0), AlarmSource.SENSOR))

    def _door_frame(self, frame: Door, now: datetime) -> list[SensorAction]:
        if frame.open == self._door:
            return []
        self._door = frame.open
        return [PublishEvent("door", "open" if frame.open else "closed", None, now)]

    def _presence_frame(self, frame: Presence, now: datetime) -> list[SensorAction]:
        if frame.present == self._presence:
            return []
        self._presence = frame.present
        return [PublishEvent("pir", "presence" if frame.present else "clear", None, now)]

    def _tamper_frame(self, frame: Tamper, now: datetime) -> list[SensorAction]:
        if frame.open == self._tamper:
            return []
        self._tamper = frame.open
        return [PublishEvent("tamper", "tamper" if frame.open else "closed", None, now)]

    def _sound_frame(self, frame: Sound, now: datetime) -> list[SensorAction]:
        threshold = self._settings.sound_alarm_db
        loud = threshold is not None and frame.db > threshold
        crossed = self._loud is not None and loud != self._loud
        self._loud = loud
        actions: list[SensorAction] = []
        last, every = self._sound_sent_at, self._settings.sound_report_every
        # A clock that stepped back (now < last) must not mute the level until it catches up.
        if crossed or last is None or not timedelta(0) <= now - last < every:
            self._sound_sent_at = now
            actions.append(PublishEvent("sound", "level", frame.db, now))
        if not loud:
            return actions + self._sound_over(now)
        since = self._loud_since
        if since is None or now < since:
            self._loud_since = since = now
        if now - since >= self._settings.sound_alarm_for:
            actions += self._presses.contact_closed(SOUND_INPUT, now)  # held: only once
        return actions

    def _sound_over(self, now: datetime) -> list[SensorAction]:
        """A loud spell ended: the next one may count as a (re-)press again."""
        self._loud_since = None
        if SOUND_INPUT not in self._presses.inputs:
            return []
        return list(self._presses.contact_opened(SOUND_INPUT, now))

    def _pendant_frame(self, frame: Pendant, now: datetime) -> list[SensorAction]:
        if frame.event is PendantEvent.BATT:
            value = f"{frame.pendant_id}:{frame.battery_pct}"
            return [PublishEvent("pendant", "battery", value, now)]
        input_name = pendant_input(frame.pendant_id)
        self._add(input_name, self._settings.pendant_level)
        actions: list[SensorAction] = [PublishEvent("pendant", "press", frame.pendant_id, now)]
        # A pendant sends one PRESS per press: closed and opened at once, like a tap.
        actions += self._presses.contact_closed(input_name, now)
        actions += self._presses.contact_opened(input_name, now)
        return actions

    def _faults_changed(self, before: tuple[FaultKind, ...]) -> list[SensorAction]:
        after = self.faults
        return [FaultsChanged(after)] if after != before else []


__all__ = [
    "FAULT_SILENT",
    "FAULT_TAMPER",
    "FAULT_UNPLUGGED",
    "SOUND_INPUT",
    "FaultsChanged",
    "PublishEvent",
    "SensorAction",
    "SensorPolicy",
    "SensorSettings",
    "pendant_input",
]
