"""The room's sensor board, wired: serial port → frames → sensor policy → the agent's paths.

:class:`RoomSensors` is the board's part of the agent. It receives the port's events (on the
loop), asks the pure :class:`SensorPolicy` what they mean and carries the answers out:

* events go on the ``event`` topic (QoS 1; an event while MQTT is down is logged and lost —
  events are reports, not alarms, and the next change or level report supersedes it);
* alarms (pendant press, sound) go to the agent's alarm path (``edge.agent.alarm_path``), the
  same path as button presses: published first, kept in the outbox until central acks;
* a change of faults asks the agent to publish its retained status again, with health.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import serial

from edge.config import SensorBoardSettings
from edge.core import Action, AdoptAlarm, RaiseAlarm, Republish, Word
from edge.core.faults import FaultKind
from edge.core.sensors import FaultsChanged, PublishEvent, SensorAction, SensorPolicy
from edge.core.sensors import SensorSettings as PolicySettings
from edge.core.serial_frames import Frame
from edge.hw import SensorBoard
from edge.link import MqttLink
from protocol import EventMessage, HeldAlarm, Topic, TopicKind, encode

log = logging.getLogger(__name__)


class RoomSensors:
    def __init__(
        self,
        settings: SensorBoardSettings,
        *,
        site: str,
        device: str,
        room: str,
        link: MqttLink,
        id_factory: Callable[[], UUID],
        clock: Callable[[], datetime],
        apply: Callable[[list[Action]], None],
        faults_changed: Callable[[], None],
        notify: Callable[[], None],
        opener: Any = serial.serial_for_url,
    ) -> None:
        self.settings = settings
        self._site, self._device, self._room = site, device, room
        self._link = link
        self._clock = clock
        self._apply = apply
        self._faults_changed = faults_changed
        self._notify = notify
        self._opener = opener
        self._event_topic = str(Topic(site, device, TopicKind.EVENT))
        self.policy = SensorPolicy(
            PolicySettings(
                silence=settings.silence,
                pendant_level=settings.pendant_level,
                sound_alarm_db=settings.sound_alarm_db,
                sound_alarm_for=settings.sound_alarm_for,
            ),
            id_factory,
        )
        self._board: SensorBoard | None = None

    # -- views ---------------------------------------------------------------------------

    @property
    def faults(self) -> tuple[FaultKind, ...]:
        return self.policy.faults

    @property
    def connected(self) -> bool:
        return self._board is not None and self._board.connected

    @property
    def counters(self) -> dict[str, int]:
        """Dropped frames as health counters: ``serial_<reason>``."""
        drops = self._board.drops if self._board is not None else {}
        return {f"serial_{reason}": count for reason, count in drops.items()}

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._board is None:
            self._board = SensorBoard(self.settings, loop, self, self._opener)
            self._board.start()

    async def close(self) -> None:
        board, self._board = self._board, None
        if board is not None:
            await board.close()

    async def ping(self, token: str, timeout: float = 1.0) -> float | None:
        """Round trip to the board in seconds, or None (not open, or no PONG in time)."""
        if self._board is None:
            return None
        return await self._board.ping(token, timeout)

    # -- inputs from the agent -----------------------------------------------------------

    def tick(self, now: datetime) -> None:
        self._carry_out(self.policy.tick(now))

    def ack(self, word: Word) -> None:
        self._carry_out(list(self.policy.ack(word, self._clock())))

    def restore(
        self, held: HeldAlarm, said_at: datetime | None = None, said_rev: int | None = None
    ) -> None:
        self._carry_out(list(self.policy.restore(held, said_at, said_rev)))

    # -- BoardEvents (from the port, on the loop) ----------------------------------------

    def board_opened(self) -> None:
        self._carry_out(self.policy.port_opened(self._clock()))
        self._notify()

    def board_lost(self, reason: str) -> None:
        log.warning("sensor board lost: %s (reopen every %.1f s)", reason, self.settings.reopen_s)
        self._carry_out(self.policy.port_lost(self._clock()))
        self._notify()

    def board_frames(self, frames: list[Frame]) -> None:
        now = self._clock()
        for frame in frames:
            log.debug("sensor frame %s", frame)
            self._carry_out(self.policy.frame(frame, now))
        self._notify()  # drop counters may have moved even without a frame

    # -- actions out ---------------------------------------------------------------------

    def _carry_out(self, actions: list[SensorAction]) -> None:
        alarms: list[Action] = []
        for action in actions:
            match action:
                case PublishEvent():
                    self._publish_event(action)
                case FaultsChanged():
                    log.warning("sensor board faults: %s", ", ".join(action.faults) or "none")
                    self._faults_changed()
                case RaiseAlarm() | Republish() | AdoptAlarm():
                    alarms.append(action)
                case _:
                    pass  # SetLed: sensor inputs have no LED
        if alarms:
            self._apply(alarms)

    def _publish_event(self, event: PublishEvent) -> None:
        message = EventMessage(
            site=self._site,
            device=self._device,
            at=event.at,
            room=self._room,
            sensor=event.sensor,
            kind=event.kind,
            value=event.value,
        )
        log.info("event sensor=%s kind=%s value=%s", event.sensor, event.kind, event.value)
        if not self._link.publish(self._event_topic, encode(message)[1], qos=1):
            log.info("event not sent (mqtt down) sensor=%s kind=%s", event.sensor, event.kind)


__all__ = ["RoomSensors"]
