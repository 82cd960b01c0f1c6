"""The websocket hub: connected screens grouped by site, and fan-out that never waits.

``broadcast`` encodes a frame once and hands it to every screen of the site without an
``await`` per socket, so a new alarm reaches thousands of screens in one pass of the event
loop, in parallel with (never after) the store's write.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from starlette.websockets import WebSocket

from central.core import Audience, Person
from central.push.wire import EXTENSION, FrameWriter, Prepared

log = logging.getLogger(__name__)

MAX_BUFFERED_BYTES = 1 << 20  # a screen this far behind is dropped; it reconnects
MAX_QUEUED_FRAMES = 1000


class Outlet(Protocol):
    def send(self, frame: Prepared) -> bool:
        """Hand over ``frame`` without waiting; False if the screen is gone or too slow."""

    def close(self) -> None: ...


class DirectOutlet:
    """Writes prepared frames into the socket's transport (the ``trygg.frames`` extension)."""

    def __init__(self, writer: FrameWriter, max_buffered: int = MAX_BUFFERED_BYTES) -> None:
        self._writer = writer
        self._max_buffered = max_buffered

    def send(self, frame: Prepared) -> bool:
        if self._writer.buffered() > self._max_buffered:
            self._writer.abort()
            return False
        return self._writer.write(frame.frame)

    def close(self) -> None:
        """Nothing to stop: the socket's own handler ends when the transport closes."""


class QueuedOutlet:
    """Any ASGI server: a bounded queue per socket, drained by its own sender task."""

    def __init__(self, websocket: WebSocket, max_queued: int = MAX_QUEUED_FRAMES) -> None:
        self._websocket = websocket
        self._queue: asyncio.Queue[str] = asyncio.Queue(max_queued)
        self._task = asyncio.create_task(self._drain())

    def send(self, frame: Prepared) -> bool:
        if self._task.done():
            return False
        try:
            self._queue.put_nowait(frame.text)
        except asyncio.QueueFull:
            self._task.cancel()
            return False
        return True

    async def _drain(self) -> None:
        while True:
            text = await self._queue.get()
            await self._websocket.send_text(text)

    def close(self) -> None:
        self._task.cancel()


def outlet_for(websocket: WebSocket) -> Outlet:
    writer = websocket.scope.get("extensions", {}).get(EXTENSION)
    if isinstance(writer, FrameWriter):
        return DirectOutlet(writer)
    return QueuedOutlet(websocket)


class Screen:
    """One connected socket of one person."""

    __slots__ = ("outlet", "person")

    def __init__(self, person: Person, outlet: Outlet) -> None:
        self.person = person
        self.outlet = outlet

    def __repr__(self) -> str:
        return f"Screen({self.person.user_id})"


class Hub:
    def __init__(self) -> None:
        self._audience: Audience[Screen] = Audience()
        self.dropped = 0  # screens dropped for being too slow or gone

    def join(self, screen: Screen, *first: Prepared) -> None:
        """Send ``first`` (hello, snapshot) and register, in one step, so that nothing
        broadcast in between can overtake the snapshot."""
        for frame in first:
            screen.outlet.send(frame)
        self._audience.add(screen, screen.person)

    def leave(self, screen: Screen) -> None:
        self._audience.discard(screen)
        screen.outlet.close()

    def send(self, screen: Screen, frame: Prepared) -> None:
        if not screen.outlet.send(frame):
            self._drop(screen)

    def broadcast(self, site: str, frame: Prepared, only: frozenset[str] | None = None) -> int:
        """Hand ``frame`` to every screen that may see ``site`` (of the users in ``only``, when
        given: a test alarm's audience); returns how many took it."""
        sent = 0
        for screen in self._audience.recipients(site):
            if only is not None and screen.person.user_id not in only:
                continue
            if screen.outlet.send(frame):
                sent += 1
            else:
                self._drop(screen)
        return sent

    def screens(self, site: str) -> tuple[Screen, ...]:
        """The screens that would get an alarm of ``site`` now."""
        return self._audience.recipients(site)

    def all_screens(self) -> tuple[Screen, ...]:
        return self._audience.connections()

    def _drop(self, screen: Screen) -> None:
        if screen in self._audience:
            self.dropped += 1
            log.warning("push: dropped a screen of %s (gone or too slow)", screen.person.user_id)
            self.leave(screen)

    def __len__(self) -> int:
        return len(self._audience)
