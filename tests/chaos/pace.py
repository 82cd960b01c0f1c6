"""How fast the harness may make new alarms on one device: slower than central's flood rule.

Why this exists: central treats a device that sends more new alarms than a person can press
(``central.core.flood``: a burst of ``BURST``, then ``RATE_PER_S``) as a flood — every alarm is
still stored and acked, but past the bucket it is *not fanned out* to the desks (only the
facility managers' "flood" fault is). A harness that pressed each button again as soon as the
last alarm was resolved made ~0.7 new alarms a second per device, three times the sustained
rate: after ~15 s each device flooded, and every later alarm was stored but never shown —
which the figures then reported as "unseen" alarms and desks that "did not converge". That is
central working as designed against an inhuman press rate, not a fault's damage.

So every new press of a device first reserves a token from a bucket with the same shape as
central's, a little smaller and slower (``MARGIN_*``), shared by the device's buttons. A
reservation is a time (>= now): the press may happen then or later, never earlier. Presses that
happen later than reserved (an edge down, a retry) only leave central more room: central counts
arrivals, which come after their presses. Re-presses of an active alarm are not new alarms and
take no token. No I/O: ``now`` is passed in, in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from central.core.flood import BURST, RATE_PER_S

MARGIN_BURST = 2  # alarms of the burst left unused (an edge restart's raise, clock skew)
MARGIN_RATE = 0.8  # fraction of central's sustained rate the harness uses


@dataclass
class Pace:
    burst: float = float(BURST - MARGIN_BURST)
    rate_per_s: float = RATE_PER_S * MARGIN_RATE
    _tokens: float | None = field(default=None, init=False)  # may go below 0: reserved ahead
    _at: float = field(default=0.0, init=False)

    def reserve(self, now: float) -> float:
        """Take one token; the earliest time the new press may happen."""
        if self._tokens is None:
            self._tokens, self._at = self.burst, now
        elapsed = max(0.0, now - self._at)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
        self._at = max(self._at, now)
        self._tokens -= 1.0
        if self._tokens >= 0.0:
            return now
        return now + -self._tokens / self.rate_per_s
