"""Evacuation and lockdown at the edge: central's retained ``announce`` to the buzzers, the
announcing inputs' presses to ``announce/request``.

The decisions are the core's (``edge.core.announce``); this module carries them out: a change
of kind sounds its pattern on the dedicated sounder (``[announce] buzzer_pin``) and on every
button's buzzer, until all clear; a press is published at once (QoS 1) and kept until the
broker confirms it: one pressed while the link is down, or whose publish fails, goes at the
next link-up. Central decides whether a request is honoured (the device registry's ``announces``);
the device only hears the outcome, on its ``announce`` topic, like every other device of the
site.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from edge.config import EdgeSettings
from edge.core.announce import AnnounceCore, Sound
from edge.hw import Indicators
from edge.hw.sounder import AnnounceInputs, Sounder
from protocol import AnnouncementKind, AnnounceMessage, AnnounceRequestMessage, encode

log = logging.getLogger(__name__)


class Announcer:
    def __init__(
        self,
        settings: EdgeSettings,
        publish: Callable[[str, bytes], Awaitable[bool]],
        request_topic: str,
        connected: Callable[[], bool],
        clock: Callable[[], datetime],
        notify: Callable[[], None],
        id_factory: Callable[[], UUID] = uuid4,
    ) -> None:
        self._settings = settings
        inputs = {i.input: AnnouncementKind(i.kind) for i in settings.announce.inputs}
        self.core = AnnounceCore(settings.site, settings.device, inputs)
        self._publish = publish
        self._request_topic = request_topic
        self._connected = connected
        self._clock = clock
        self._notify = notify
        self._ids = id_factory
        self.indicators: Indicators | None = None  # the buttons' buzzers, set while running
        self._sounder: Sounder | None = None
        self._inputs: AnnounceInputs | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def start(self, loop: asyncio.AbstractEventLoop, pin_factory: Any) -> None:
        self._sounder = Sounder(self._settings.announce.buzzer_pin, pin_factory)
        self._inputs = AnnounceInputs(
            self._settings.announce.inputs, self._pressed, self._clock, loop, pin_factory
        )

    def close(self) -> None:
        for task in self._sending:
            task.cancel()
        if self._inputs is not None:
            self._inputs.close()
            self._inputs = None
        if self._sounder is not None:
            self._sounder.close()
            self._sounder = None

    def received(self, message: AnnounceMessage) -> None:
        sound = self.core.received(message)
        if sound is None:
            return
        if sound.kind is AnnouncementKind.ALL_CLEAR:
            log.warning("all clear at %s (by %s)", message.site, message.by)
        else:
            where = f" zone {message.zone}" if message.zone else ""
            log.warning("%s at %s%s (by %s): sounding", sound.kind, message.site, where, message.by)
        self._sound(sound)
        self._notify()

    def _sound(self, sound: Sound) -> None:
        tone = sound.tone
        if self._sounder is not None:
            self._sounder.sound(tone)
        if self.indicators is not None:
            self.indicators.sound(tone.on_s if tone else None, tone.off_s if tone else 0.0)

    def _pressed(self, input_name: str, at: datetime) -> None:
        request = self.core.pressed(input_name, at, self._ids(), self._connected())
        if request is None:
            log.warning("announce input %s pressed while offline: sent when connected", input_name)
            return
        self._send(request)

    def link_up(self) -> None:
        pending = self.core.link_up()
        if pending is not None:
            self._send(pending)

    def _send(self, request: AnnounceRequestMessage) -> None:
        log.warning("announce input %s pressed: asking central for %s", request.input, request.kind)
        task = asyncio.create_task(self._publish_confirmed(request))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish_confirmed(self, request: AnnounceRequestMessage) -> None:
        if await self._publish(self._request_topic, encode(request)[1]):
            self.core.sent(request)
            return
        log.error("announce request %s not sent: sent at the next link-up", request.request_id)
