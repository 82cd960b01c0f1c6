"""The websocket hub: connected screens grouped by site, and fan-out that never waits.

``broadcast`` encodes a frame once and hands it to every screen of the site without an
``await`` per socket, so a new alarm reaches thousands of screens in a few passes of the event
loop, in parallel with (never after) the store's write.

A fan-out to many screens goes in chunks of ``CHUNK_SCREENS``, one chunk per loop turn: in
between, the loop runs what is ready (the store's commit callbacks, the MQTT ack to the edge,
fresh input), so the employee's "received" never waits for thousands of socket writes. Chunks
wait in one FIFO per hub, so a screen gets its frames in the order they were sent, whatever
their size: a later frame can never overtake an earlier one.

Which path the frames take (``fanout``) is said, never guessed: ``check_fanout`` probes the
direct path at start-up, and a screen that arrives without it turns the hub to "queued". Either
way a warning is logged, once, and ``/healthz`` shows it to those who may read the details.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Literal, Protocol

from starlette.websockets import WebSocket

from central.core import Audience, Person
from central.push.wire import EXTENSION, FrameWriter, Prepared, probe

log = logging.getLogger(__name__)

MAX_BUFFERED_BYTES = 1 << 20  # a screen this far behind is dropped; it reconnects
MAX_QUEUED_FRAMES = 1000
# Screens written per loop turn: ~5 ms of writes on a small machine, so a commit callback
# or an ack waits at most that long behind a fan-out to any number of screens.
CHUNK_SCREENS = 500

#: How frames reach screens: written straight into each socket's transport, or through a queue
#: and a sender task per socket (the fallback); "unchecked" until ``Hub.check_fanout``.
Fanout = Literal["unchecked", "direct", "queued"]


class Outlet(Protocol):
    def send(self, frame: Prepared) -> bool:
        """Hand over ``frame`` without waiting; False if the screen is gone or too slow."""

    def close(self) -> None: ...

    def abort(self) -> None:
        """Cut the connection now, unsent frames and all (the screen stopped answering)."""


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

    def abort(self) -> None:
        self._writer.abort()


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

    def abort(self) -> None:
        self._task.cancel()
        closing = asyncio.ensure_future(self._websocket.close(code=1011))
        closing.add_done_callback(lambda f: f.cancelled() or f.exception())


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


class _Fanout:
    """One frame still on its way to some screens: ``screens[done:]`` have not had it yet."""

    __slots__ = ("done", "frame", "screens")

    def __init__(self, screens: tuple[Screen, ...], frame: Prepared) -> None:
        self.screens = screens
        self.frame = frame
        self.done = 0


class Hub:
    def __init__(self, chunk: int = CHUNK_SCREENS) -> None:
        self._audience: Audience[Screen] = Audience()
        self._chunk = chunk
        self._pending: deque[_Fanout] = deque()  # oldest first; sent strictly in this order
        self.dropped = 0  # screens dropped for being too slow or gone
        self._fanout: Fanout = "unchecked"

    @property
    def fanout(self) -> Fanout:
        return self._fanout

    async def check_fanout(self) -> Fanout:
        """At start-up: can the installed uvicorn carry the direct path? Warns if not."""
        reason = await probe()
        if reason is None:
            if self._fanout == "unchecked":
                self._fanout = "direct"
        else:
            self._fall_back(f"the installed uvicorn fails the direct path's probe ({reason})")
        return self._fanout

    def _fall_back(self, why: str) -> None:
        if self._fanout == "queued":
            return  # said once is enough
        self._fanout = "queued"
        log.warning(
            "push: fan-out falls back to a queue and a task per screen: %s. Alarms still go "
            "out, but slower under load; run central with trygg-central (uvicorn with "
            "ws=central.push.wire.FramesProtocol) and a uvicorn within pyproject.toml's bounds",
            why,
        )

    def join(self, screen: Screen, *first: Prepared) -> None:
        """Send ``first`` (hello, snapshot) and register, in one step, so that nothing
        broadcast in between can overtake the snapshot. (A fan-out still pending chose its
        screens before this one joined; the snapshot already shows what it carries.)"""
        if isinstance(screen.outlet, QueuedOutlet):
            self._fall_back("a screen connected without the trygg.frames extension")
        for frame in first:
            screen.outlet.send(frame)
        self._audience.add(screen, screen.person)

    def leave(self, screen: Screen) -> None:
        self._audience.discard(screen)
        screen.outlet.close()

    def send(self, screen: Screen, frame: Prepared) -> None:
        """``frame`` to one screen, after every frame broadcast before it."""
        self._queue((screen,), frame)

    def broadcast(
        self,
        site: str,
        frame: Prepared,
        only: frozenset[str] | None = None,
        *,
        sites: Iterable[str] = (),
        users: Iterable[str] = (),
        first: Iterable[str] = (),
    ) -> int:
        """Hand ``frame`` to every screen that may see ``site`` (of the users in ``only``, when
        given: a test alarm's audience), now or in the next loop turns behind what is already
        pending; returns to how many screens it goes. ``sites`` and ``users``: an escalated
        alarm's wider audience, each screen once. ``first``: users whose screens come first in
        this same fan-out (a meeting's standby colleagues); nobody else waits longer for it."""
        screens = self._audience.recipients(site)
        wider = frozenset(users)
        if sites or wider:
            chosen = dict.fromkeys(screens)
            for other in sites:
                chosen.update(dict.fromkeys(self._audience.recipients(other)))
            if wider:
                connected = self._audience.connections()
                chosen.update(dict.fromkeys(s for s in connected if s.person.user_id in wider))
            screens = tuple(chosen)
        if only is not None:
            screens = tuple(s for s in screens if s.person.user_id in only)
        ahead = frozenset(first)
        if ahead:
            screens = tuple(sorted(screens, key=lambda s: s.person.user_id not in ahead))
        self._queue(screens, frame)
        return len(screens)

    @property
    def pending(self) -> int:
        """Frames of fan-outs not yet handed to every screen."""
        return len(self._pending)

    def broadcast_all(self, frame: Prepared) -> int:
        """``frame`` to every connected screen (the heartbeat's ``ping``), like ``broadcast``."""
        screens = self._audience.connections()
        self._queue(screens, frame)
        return len(screens)

    def expire(self, screen: Screen) -> bool:
        """Drop a screen that stopped answering: it leaves the audience at once and its
        connection is cut. False if it had already gone."""
        if screen not in self._audience:
            return False
        self._audience.discard(screen)
        screen.outlet.abort()
        return True

    def screens(self, site: str) -> tuple[Screen, ...]:
        """The screens that would get an alarm of ``site`` now."""
        return self._audience.recipients(site)

    def all_screens(self) -> tuple[Screen, ...]:
        return self._audience.connections()

    def _queue(self, screens: tuple[Screen, ...], frame: Prepared) -> None:
        if not screens:
            return
        idle = not self._pending
        self._pending.append(_Fanout(screens, frame))
        if idle:
            # Nothing ahead of it: the first chunk goes now (all of a small fan-out). While
            # anything is pending, exactly one ``_next_chunk`` is scheduled.
            self._next_chunk()

    def _next_chunk(self) -> None:
        try:
            self._pump()
        finally:  # even after a bug in one send, what is queued behind it still goes out
            if self._pending:
                asyncio.get_running_loop().call_soon(self._next_chunk)

    def _pump(self) -> None:
        """Up to one chunk of screens, oldest fan-out first."""
        budget = self._chunk
        while self._pending and budget > 0:
            fanout = self._pending[0]
            start = fanout.done
            end = min(start + budget, len(fanout.screens))
            # Book-keeping first: a failing send must not make others get the frame twice.
            fanout.done = end
            if end == len(fanout.screens):
                self._pending.popleft()
            budget -= end - start
            frame = fanout.frame
            for screen in fanout.screens[start:end]:
                if not screen.outlet.send(frame):
                    self._drop(screen)

    def _drop(self, screen: Screen) -> None:
        if screen in self._audience:
            self.dropped += 1
            log.warning("push: dropped a screen of %s (gone or too slow)", screen.person.user_id)
            self.leave(screen)

    def __len__(self) -> int:
        return len(self._audience)
