"""The faults, one kind at a time: each ``inject`` breaks something real, waits, heals it, and
returns the moment it was healed (from which convergence is timed).

Why the edge faults go through a presser: "kill -9 just after a press" needs the press and the
kill a chosen number of milliseconds apart, so the presser of that button hands its next press
to the fault (``Presser.special``) instead of tapping itself.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.chaos.rig import log

if TYPE_CHECKING:
    from tests.chaos.run import Presser, Run


@dataclass(frozen=True)
class Timing:
    """Durations (seconds; pairs are uniform random ranges). ``FULL`` is ``make chaos``;
    ``SHORT`` is the run inside ``make test``."""

    between_faults_s: tuple[float, float] = (2.0, 5.0)
    central_down_s: tuple[float, float] = (0.5, 3.0)
    broker_down_s: tuple[float, float] = (1.0, 5.0)
    edge_down_s: tuple[float, float] = (0.5, 2.0)
    freeze_s: float = 15.0
    partition_s: tuple[float, float] = (5.0, 25.0)
    disk_full_s: tuple[float, float] = (10.0, 25.0)
    hold_active_s: tuple[float, float] = (0.3, 1.0)
    after_resolve_s: tuple[float, float] = (0.2, 1.0)
    wait_alarm_s: float = 45.0
    wait_resolved_s: float = 60.0
    converge_wait_s: float = 30.0


FULL = Timing()
SHORT = Timing(
    between_faults_s=(1.0, 2.0),
    broker_down_s=(1.0, 3.0),
    freeze_s=6.0,
    partition_s=(3.0, 5.0),
    disk_full_s=(4.0, 6.0),
    wait_alarm_s=35.0,
    wait_resolved_s=40.0,
    converge_wait_s=15.0,
)


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    inject: Callable[[Run], float]
    netns: bool = False
    tmpfs: bool = False


def _central_kill(run: Run) -> float:
    run.rig.central.kill()
    time.sleep(run.rng.uniform(*run.timing.central_down_s))
    run.rig.central.start()
    return time.time()


def _broker_kill(run: Run) -> float:
    run.rig.broker.kill()
    time.sleep(run.rng.uniform(*run.timing.broker_down_s))
    run.rig.broker.start()
    return time.time()


def _central_freeze(run: Run) -> float:
    run.rig.freeze_central()
    try:
        time.sleep(run.timing.freeze_s)
    finally:
        run.rig.thaw_central()
    return time.time()


def _partition(run: Run) -> float:
    assert run.rig.netns
    run.rig.netns.cut()
    try:
        time.sleep(run.rng.uniform(*run.timing.partition_s))
    finally:
        run.rig.netns.heal()
    return time.time()


def _disk_full(run: Run) -> float:
    assert run.rig.tmpfs
    filled = run.rig.tmpfs.fill()
    log.info("store disk full (%d bytes of filler)", filled)
    try:
        time.sleep(run.rng.uniform(*run.timing.disk_full_s))
    finally:
        run.rig.tmpfs.drain()
    return time.time()


def _edge_fault(delay_s: tuple[float, float], held: float) -> Callable[[Run], float]:
    """Kill -9 the first edge ``delay_s`` after a press on one of its buttons; restart it with
    the contact still held with probability ``held`` (released 0.5–2 s after it is back)."""

    def inject(run: Run) -> float:
        presser = run.rng.choice([p for p in run.pressers if p.edge is run.rig.edges[0]])
        healed: list[float] = []
        rng = random.Random(run.rng.random())

        def special(p: Presser) -> float:
            at = time.time()
            p.edge.act(p.input, "hold")
            time.sleep(rng.uniform(*delay_s))
            p.edge.kill()
            still_held = rng.random() < held
            time.sleep(rng.uniform(*run.timing.edge_down_s))
            p.edge.start(held=[p.input] if still_held else [], wait_connected=False)
            if still_held:
                time.sleep(rng.uniform(0.5, 2.0))
                p.edge.act(p.input, "release")
            healed.append(time.time())
            return at

        presser.special_done.clear()
        presser.special = special
        if not presser.special_done.wait(run.timing.wait_alarm_s + run.timing.wait_resolved_s + 60):
            presser.special = None
            run.errors.append(f"{presser.name}: the edge fault never ran")
        return healed[0] if healed else time.time()

    return inject


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("central-kill", "kill -9 central, restart after 0.5–3 s", _central_kill),
        Fault("broker-kill", "kill -9 Mosquitto, restart after 1–5 s", _broker_kill),
        Fault(
            "edge-kill",
            "kill -9 an edge 20–300 ms after a press, restart (contact held or released)",
            _edge_fault((0.02, 0.3), held=0.5),
        ),
        Fault(
            "edge-powercut",
            "kill -9 an edge 0–5 ms after a press (the outbox write), restart "
            "with the contact still held",
            _edge_fault((0.0, 0.005), held=1.0),
        ),
        Fault(
            "central-freeze",
            "SIGSTOP central for 15 s (6 s in make test), then SIGCONT",
            _central_freeze,
        ),
        Fault(
            "partition",
            "one edge in a network namespace; its veth link down 5–25 s",
            _partition,
            netns=True,
        ),
        Fault(
            "disk-full",
            "central's store tmpfs filled for 10–25 s, then freed",
            _disk_full,
            tmpfs=True,
        ),
    )
}
