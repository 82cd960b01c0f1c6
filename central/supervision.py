"""Supervision's shell: feeds the pure :class:`Supervisor` and carries out what it decides.

A fault raised or cleared is logged, written to the store's ``faults`` table, and pushed at
once as a ``fault`` frame to every connected screen of a facility manager of that site. A
facility manager who connects gets every open fault of their sites after the snapshot.
Central's own MQTT link going down and up is told here too (:meth:`Watch.link_changed`):
supervision then blames the broker link, once per site, and no device.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from central.core.supervision import (
    Fault,
    FaultCleared,
    FaultRaised,
    SupervisionAction,
    Supervisor,
)
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from central.store import Store, testlog
from protocol import EventMessage, HeartbeatMessage, Message, SelftestResultMessage, StatusMessage
from protocol.screen import FaultFrame, encode_frame

log = logging.getLogger("central.supervision")


def fault_frame(fault: Fault, cleared_at: datetime | None = None) -> FaultFrame:
    return FaultFrame(
        site=fault.site,
        device=fault.device,
        kind=fault.kind.value,
        reason=fault.reason,
        at=cleared_at or fault.since,
        cleared=cleared_at is not None,
    )


class Watch:
    def __init__(
        self,
        supervisor: Supervisor,
        hub: Hub,
        store: Store,
        not_coverage: Callable[[Screen, str], bool],
    ) -> None:
        self.supervisor = supervisor
        self._hub = hub
        self._store = store
        # Screens that do not count as "someone would get the alarm" (a site's test screen).
        self._not_coverage = not_coverage
        # Told of every fault raised or cleared, after screens and the test log (the ARC).
        self.fault_listeners: list[Callable[[SupervisionAction], None]] = []

    def heard(self, message: Message, now: datetime) -> None:
        """A status, heartbeat, event or self-test result from a device."""
        s = self.supervisor
        if isinstance(message, StatusMessage):
            health = message.health
            self.carry_out(
                s.status(
                    message.site,
                    message.device,
                    message.state == "online",
                    now,
                    health.faults if health else None,
                    _inputs(health),
                )
            )
        elif isinstance(message, HeartbeatMessage):
            self.carry_out(
                s.heartbeat(
                    message.site,
                    message.device,
                    message.interval_s,
                    now,
                    message.health.faults,
                    _inputs(message.health),
                )
            )
        elif isinstance(message, EventMessage | SelftestResultMessage):
            self.carry_out(s.heard(message.site, message.device, now))

    def screens_changed(self, sites: Iterable[str], now: datetime) -> None:
        for site in sites:
            count = sum(
                1 for screen in self._hub.screens(site) if not self._not_coverage(screen, site)
            )
            self.carry_out(self.supervisor.screens_changed(site, count, now))

    def tick(self, now: datetime) -> None:
        resumed = self.supervisor.resumed
        actions = self.supervisor.tick(now)
        paused = self.supervisor.paused_for
        if self.supervisor.resumed != resumed and paused is not None:
            log.warning(
                "central itself was paused for %.1f s: no device is blamed for it; each gets "
                "a fresh grace from now",
                paused.total_seconds(),
            )
        self.carry_out(actions)

    def link_changed(self, up: bool, now: datetime) -> None:
        """Central's MQTT link is up (subscribed) or down (dropped, or a connect failed)."""
        was_down = self.supervisor.link_down_since
        self.carry_out(self.supervisor.link(up, now))
        if up and was_down is not None:
            log.warning(
                "mqtt link back after %.1f s: no device is blamed for it; each gets a fresh "
                "grace from now",
                (now - was_down).total_seconds(),
            )

    def greet(self, screen: Screen) -> None:
        """A facility manager's screen connected: every open fault of their sites."""
        if not screen.person.facility_manager:
            return
        for fault in self.supervisor.faults():
            if screen.person.covers(fault.site):
                self._hub.send(screen, Prepared(encode_frame(fault_frame(fault))))

    def carry_out(self, actions: list[SupervisionAction]) -> None:
        for action in actions:
            fault = action.fault
            where = f"{fault.site}/{fault.device}" if fault.device else fault.site
            if isinstance(action, FaultRaised):
                log.warning("fault %s at %s: %s", fault.kind, where, fault.reason)
                frame = fault_frame(fault)
                write = testlog.fault_raised(
                    fault.site, fault.device, fault.kind, fault.reason, fault.since
                )
            else:
                if not isinstance(action, FaultCleared):
                    raise TypeError(f"unexpected fault action {action!r}")
                log.info("fault cleared %s at %s: %s", fault.kind, where, fault.reason)
                frame = fault_frame(fault, action.at)
                write = testlog.fault_cleared(
                    fault.site, fault.device, fault.kind, fault.reason, action.at
                )
            self._push(frame)
            self._store.submit(write).add_done_callback(_log_failure)
            for listener in self.fault_listeners:
                listener(action)

    def _push(self, frame: FaultFrame) -> None:
        prepared = Prepared(encode_frame(frame))
        for screen in self._hub.screens(frame.site):
            if screen.person.facility_manager:
                self._hub.send(screen, prepared)


def _inputs(health: object) -> tuple[str, ...] | None:
    if health is None:
        return None
    inputs = getattr(health, "inputs", ())
    outputs = getattr(health, "outputs", {})
    # A device that does not list its inputs still names each one's output state.
    return tuple(inputs) or tuple(outputs) or None


def _log_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("supervision: write failed: %s", future.exception())
