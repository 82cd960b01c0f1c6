"""Is central still talking to us? Silence on an open socket, decided without I/O.

When central is frozen (SIGSTOP, a hung VM) or the network dies without a reset, TCP keeps the
socket "open" for minutes, and a desk that waits for the socket to close would go on looking
connected while no alarm can reach it. Central sends a ``ping`` every second; a desk that has
heard no frame at all (pings included) for ``silence_s`` says it is NOT receiving alarms and
reconnects.

Watching starts with the first ``ping`` of a connection: a central built before pings stays
quiet between alarms, and such a desk keeps relying on the websocket's own pings instead of
reconnecting every few seconds. ``now`` is a monotonic clock in seconds (``loop.time()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SILENCE_S = 5.0


@dataclass
class Liveness:
    silence_s: float = SILENCE_S
    _heard: float | None = field(default=None, init=False)  # the last frame of this connection
    _watching: bool = field(default=False, init=False)  # this connection's central pings

    @property
    def reason(self) -> str:
        return f"central not answering: nothing heard for {self.silence_s:g} s"

    def opened(self, now: float) -> None:
        """A new connection: not watched until its first ``ping``."""
        self._heard = now
        self._watching = False

    def heard(self, now: float, ping: bool = False) -> None:
        """Any frame from central; ``ping`` when it was one."""
        self._heard = now
        if ping:
            self._watching = True

    def closed(self) -> None:
        self._heard = None
        self._watching = False

    def deadline(self) -> float | None:
        """When central will count as silent unless something comes; None: not watching."""
        if not self._watching or self._heard is None:
            return None
        return self._heard + self.silence_s

    def silent(self, now: float) -> str | None:
        """The reason to give up on this connection, or None while it is alive."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return None
        return self.reason
