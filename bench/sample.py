"""One measured press, and the percentiles over many."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pool import Delivery


@dataclass(frozen=True, slots=True)
class Sample:
    last_ms: float  # press → frame in the socket of the LAST screen (kernel time)
    clean_ms: float  # ... counting only exact stamps: a lower estimate when not ``exact``
    first_ms: float  # press → ... of the first screen
    read_ms: float  # press → the slowest receiver process read its last copy
    screens: int
    suspect: int
    complete: bool
    exact: bool  # the last screen's stamp is exact (else last_ms is an upper bound)
    alarm_id: str
    pressed_ns: int
    broker_ms: float | None = None  # press → the alarm came out of the broker (spy)
    ack_ms: float | None = None  # press → central's "received" ack came out of the broker

    @classmethod
    def of(cls, pressed_ns: int, delivery: Delivery) -> Sample:
        return cls(
            last_ms=(delivery.last_ns - pressed_ns) / 1e6,
            clean_ms=(delivery.clean_ns - pressed_ns) / 1e6 if delivery.clean_ns else math.nan,
            first_ms=(delivery.first_ns - pressed_ns) / 1e6,
            read_ms=(delivery.read_ns - pressed_ns) / 1e6,
            screens=delivery.screens,
            suspect=delivery.suspect,
            complete=not delivery.partial,
            exact=delivery.exact,
            alarm_id=delivery.alarm_id,
            pressed_ns=pressed_ns,
        )


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    presses: int
    incomplete: int
    p50: float
    p99: float
    max: float
    first_p50: float
    read_p99: float
    suspect: int
    exact: int  # presses whose last-screen stamp is exact
    clean_p99: float  # p99 over exact stamps only: with ``p99``, brackets the truth
    broker_p50: float
    ack_p50: float

    @classmethod
    def of(cls, samples: list[Sample]) -> Summary:
        last = [s.last_ms for s in samples]
        broker = [s.broker_ms for s in samples if s.broker_ms is not None]
        ack = [s.ack_ms for s in samples if s.ack_ms is not None]
        return cls(
            presses=len(samples),
            incomplete=sum(1 for s in samples if not s.complete),
            p50=percentile(last, 50),
            p99=percentile(last, 99),
            max=max(last, default=math.nan),
            first_p50=percentile([s.first_ms for s in samples], 50),
            read_p99=percentile([s.read_ms for s in samples], 99),
            suspect=sum(s.suspect for s in samples),
            exact=sum(1 for s in samples if s.exact),
            clean_p99=percentile([s.clean_ms for s in samples if s.clean_ms == s.clean_ms], 99),
            broker_p50=percentile(broker, 50),
            ack_p50=percentile(ack, 50),
        )
