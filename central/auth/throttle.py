"""Login throttling: failed logins counted per account and per client address.

Why both: per account stops guessing one person's password from many addresses; per address
stops one machine from trying a few passwords on every account. Only failures count, so a
colleague who logs in often is never held up. The counting is the ``limits`` library's moving
window in memory: central is one process, and a restart forgetting the counts costs an
attacker's rate nothing worth having (a restart takes longer than the window's worth of
tries would). Behind a reverse proxy every address is the proxy's unless the proxy is on
loopback and sets ``X-Forwarded-For`` (uvicorn trusts that header from loopback only): see
docs/security.md. Addresses are counted by ``central.core.addresses.address_key`` — an IPv6
client by its /64, which it controls whole, not by the one address it picked this time.

``AddressLimit`` is the same moving window for anonymous routes that count every request,
not only failures (single sign-on's start and callback, a desk's pairing polls).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from central.core.addresses import address_key


class LoginThrottle:
    def __init__(self, per_account: int, per_address: int, window_minutes: int) -> None:
        self._account = RateLimitItemPerMinute(per_account, window_minutes)
        self._address = RateLimitItemPerMinute(per_address, window_minutes)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def _checks(self, account: str, address: str) -> tuple[tuple[object, str, str], ...]:
        return (
            (self._account, "login-account", account.strip().lower()),
            (self._address, "login-address", address_key(address)),
        )

    def wait_s(self, account: str, address: str) -> int:
        """0 if a login may be tried now, else how many seconds until it may."""
        wait = 0.0
        for item, kind, key in self._checks(account, address):
            if not self._limiter.test(item, kind, key):  # type: ignore[arg-type]
                stats = self._limiter.get_window_stats(item, kind, key)  # type: ignore[arg-type]
                wait = max(wait, stats.reset_time - time.time(), 1.0)
        return math.ceil(wait)

    def failed(self, account: str, address: str) -> None:
        for item, kind, key in self._checks(account, address):
            self._limiter.hit(item, kind, key)  # type: ignore[arg-type]


class AddressLimit:
    """At most ``per_address`` requests per ``window_minutes`` from one address (IPv6: /64)."""

    def __init__(self, kind: str, per_address: int, window_minutes: int) -> None:
        self._kind = kind
        self._item = RateLimitItemPerMinute(per_address, window_minutes)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, address: str) -> int:
        """Count one request: 0 if it may go on, else how many seconds until one may."""
        key = address_key(address)
        if self._limiter.hit(self._item, self._kind, key):
            return 0
        stats = self._limiter.get_window_stats(self._item, self._kind, key)
        return max(1, math.ceil(stats.reset_time - time.time()))
