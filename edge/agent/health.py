"""What the device says about itself: faults (keyed by :class:`edge.core.faults.FaultKind`),
rejected input by reason, and the ``Health`` its birth and heartbeat messages carry.

Faults are raised and cleared by key (``edge.core.faults``), never found again by their text;
the text is derived only for the wire. A fault that appears or goes is said at once in the
retained status (``publish_status``), not only in the next heartbeat — except those raised
while starting, which the birth message carries anyway. The payloads live here because they
are this module's view of the device, wrapped in the protocol's messages.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from edge.agent.alarm_path import AlarmPath
from edge.config import EdgeSettings
from edge.core.faults import Fault, FaultBook
from edge.sensing import RoomSensors
from protocol import Health, HeartbeatMessage, StatusMessage, encode
from protocol.messages import MAX_HELD_ALARMS

log = logging.getLogger(__name__)


class DeviceHealth:
    def __init__(
        self,
        settings: EdgeSettings,
        alarms: AlarmPath,
        sensors: RoomSensors | None,
        clock: Callable[[], datetime],
        notify: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._alarms = alarms
        self._sensors = sensors
        self._clock = clock
        self._notify = notify
        self._book = FaultBook()
        self._counters: Counter[str] = Counter()
        self._started = time.monotonic()
        self.publish_status: Callable[[], None] = lambda: None  # set by the agent's wiring

    def started(self) -> None:
        self._started = time.monotonic()

    # -- faults and rejects in -----------------------------------------------------------

    def fault(self, fault: Fault) -> None:
        """A fault raised by an event (listed until :meth:`cleared`)."""
        log.error("fault: %s", fault.text)
        self._book.raise_(fault)
        self._notify()

    def cleared(self, fault: Fault) -> None:
        if self._book.clear(fault):
            self.publish_status()

    def measured(self, faults: tuple[Fault, ...]) -> None:
        """The faults measured now (inputs held closed too long); said at once if changed."""
        if self._book.measured(faults):
            for fault in faults:
                log.error("fault: %s", fault.text)
            self.publish_status()

    def reject(self, reason: str, detail: str) -> None:
        self._counters[reason] += 1
        log.warning("rejected reason=%s detail=%s", reason, detail)
        self._notify()

    # -- views ---------------------------------------------------------------------------

    @property
    def faults(self) -> tuple[str, ...]:
        """The wire's list: the device's own faults, then the sensor board's."""
        board = self._sensors.faults if self._sensors is not None else ()
        return self._book.texts(*board)

    @property
    def counters(self) -> dict[str, int]:
        """Rejected input by reason (``bad_json``, ``invalid_message``, ``serial_<reason>``)."""
        counters = dict(self._counters)
        if self._sensors is not None:
            counters.update(self._sensors.counters)
        return counters

    def health(self) -> Health:
        return Health(
            uptime_s=round(time.monotonic() - self._started, 3),
            outbox_pending=self._alarms.sender.pending,
            faults=self.faults,
            counters=self.counters,
            outputs=self._alarms.led_states(),
            inputs=tuple(b.input for b in self._settings.buttons),
            alarms=self._alarms.held()[:MAX_HELD_ALARMS],
        )

    # -- payloads ------------------------------------------------------------------------

    def birth_payload(self) -> bytes:
        status = StatusMessage(
            site=self._settings.site,
            device=self._settings.device,
            state="online",
            at=self._clock(),
            health=self.health(),
        )
        return encode(status)[1]

    def heartbeat_payload(self) -> bytes:
        beat = HeartbeatMessage(
            site=self._settings.site,
            device=self._settings.device,
            at=self._clock(),
            interval_s=self._settings.heartbeat_interval_s,
            health=self.health(),
        )
        return encode(beat)[1]

    def offline_payload(self) -> bytes:
        status = StatusMessage(
            site=self._settings.site, device=self._settings.device, state="offline"
        )
        return encode(status)[1]


__all__ = ["DeviceHealth"]
