"""The screens' heartbeat, carried out: one ``ping`` to all, ``pong`` noted, the silent closed.

:class:`central.core.liveness.ScreenLiveness` decides; this shell reads the loop's monotonic
clock, hands the ping to the hub's fan-out (one prepared frame for every screen), and cuts the
connection of every screen that stopped answering. The hub drops such a screen from its
audience at once, so it no longer gets alarms nor counts as a screen connected; ``dropped``
(central's coverage recount) runs right after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from central.core.liveness import ScreenLiveness
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from protocol.screen import Ping, decode_pong, encode_frame

log = logging.getLogger(__name__)


def monotonic() -> float:
    return asyncio.get_running_loop().time()


class Pulse:
    def __init__(
        self,
        hub: Hub,
        dropped: Callable[[Screen], None],
        liveness: ScreenLiveness[Screen] | None = None,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.liveness: ScreenLiveness[Screen] = liveness or ScreenLiveness()
        self._hub = hub
        self._dropped = dropped
        self._clock = clock
        self.expired = 0  # screens closed for answering no ping

    def joined(self, screen: Screen) -> None:
        """Watch a new screen, and ping it at once: a desk watches central's silence from its
        first ping, so it is watched from its first second (and answers, after the snapshot)."""
        self.liveness.joined(screen, self._clock())
        self._hub.send(screen, Prepared(encode_frame(Ping(seq=self.liveness.seq))))

    def left(self, screen: Screen) -> None:
        self.liveness.left(screen)

    def answered(self, screen: Screen, text: str | bytes) -> bool:
        """True if ``text`` was a ``pong`` (handled here); anything else is a command."""
        pong = decode_pong(text)
        if pong is None:
            return False
        self.liveness.pong(screen, pong.seq, self._clock())
        return True

    def tick(self) -> None:
        beat = self.liveness.tick(self._clock())
        if beat.paused_s is not None:
            log.warning(
                "central itself was paused for %.1f s: every screen gets a fresh %.0f s",
                beat.paused_s,
                self.liveness.timeout_s,
            )
        for screen in beat.stale:
            if self._hub.expire(screen):
                self.expired += 1
                log.warning(
                    "push: closed a screen of %s: no answer to pings for %.0f s "
                    "(frozen, or no longer reading)",
                    screen.person.user_id,
                    self.liveness.timeout_s,
                )
                self._dropped(screen)
        if beat.ping is not None:
            self._hub.broadcast_all(Prepared(encode_frame(Ping(seq=beat.ping))))
