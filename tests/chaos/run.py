"""The fault matrix: for each fault kind a fresh rig, a presser per button pressing throughout,
the fault injected again and again, and after each time a check that every LED and desk
returns to central's record without a new press. Prints one table per fault and a summary.

How presses are counted (why no alarm id is needed from the edge): each button is pressed by
one presser, which makes a *new* press only when every earlier alarm of that button is resolved
in the record. So the alarms of a button, ordered by the edge's ``raised_at``, fall into windows
that start at each new press: none in a window is a **lost** press, two or more is a **doubled**
one (a re-press that became a new alarm counts here too). Re-presses of an active alarm must
raise its ``presses`` count instead. Times are printed, never asserted (docs/chaos.md).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from firmware_sim.errors import SimError
from tests.chaos.faults import Fault, Timing
from tests.chaos.observe import Recorder, Screens, desk_mismatches, led_mismatches
from tests.chaos.pace import Pace
from tests.chaos.rig import DESK_USERS, INPUTS, Cleanup, Edge, Rig, log

WINDOW_SLACK_S = 0.3  # an alarm raised this much before its press still belongs to it
T = TypeVar("T")
LATE_S = 10.0  # EN 50131's limit for a hold-up alarm
CONVERGE_LIMIT_S = 10.0  # a state still wrong this long after the last change is stale


@dataclass
class Press:
    device: str
    input: str
    at: float
    new: bool  # a new alarm expected (else a re-press of the active one)
    faulted: bool = False  # the press the fault hit (an edge killed just after it)


@dataclass
class Check:
    """One convergence check after a fault healed: seconds until LEDs / desks agreed."""

    leds_s: float | None
    desks_s: float | None
    detail: list[str] = field(default_factory=list)


class Presser(threading.Thread):
    """Presses one button: press, wait for the alarm, sometimes re-press, resolve from a desk,
    pause, again. ``special`` (one-shot) replaces the next press: a fault that needs the press
    itself (kill the edge just after it)."""

    def __init__(self, run: Run, edge: Edge, input_name: str, seed: int) -> None:
        super().__init__(daemon=True, name=f"press-{edge.device}-{input_name}")
        self.run_, self.edge, self.input = run, edge, input_name
        self.rng = random.Random(seed)
        self.special: Callable[[Presser], float] | None = None
        self.special_done = threading.Event()
        self.idle = threading.Event()
        self.unanswered_repress = 0
        self._token_at: float | None = None  # when this presser's reserved new press may go

    def run(self) -> None:
        try:
            while not self.run_.done.is_set():
                if not self.run_.gate.is_set():
                    self.idle.set()
                    self.run_.gate.wait(1.0)
                    continue
                self.idle.clear()
                self._cycle()
        except Exception as exc:  # report, never hang the run
            log.exception("presser %s crashed", self.name)
            self.run_.errors.append(f"{self.name}: {exc!r}")
        finally:
            self.idle.set()

    def press(self, new: bool, action: str = "tap") -> float:
        deadline = time.monotonic() + 90  # the edge may be down (restarting, another fault)
        while True:
            at = time.time()
            try:
                self.edge.act(self.input, action)
                break
            except SimError:
                if time.monotonic() > deadline or self.run_.done.is_set():
                    raise
                time.sleep(0.1)
        self.run_.presses.append(Press(self.edge.device, self.input, at, new))
        return at

    def _mine(self) -> list[str]:
        rec = self.run_.recorder
        return [
            a.alarm_id for a in rec.of_button(self.edge.device, self.input) if a.state != "resolved"
        ]

    def _cycle(self) -> None:
        rec, timing = self.run_.recorder, self.run_.timing
        for alarm_id in self._mine():  # left active by the last cycle, or a late arrival
            self.resolve(alarm_id)
        special, self.special = self.special, None
        if not self._paced() and special is None:
            return  # the gate closed while waiting: no new press into a convergence check
        if special is not None:
            at = special(self)
            self.run_.presses.append(Press(self.edge.device, self.input, at, True, True))
            self.special_done.set()
        else:
            at = self.press(new=True)
        alarm = self._wait(
            lambda: next(
                (
                    a
                    for a in rec.of_button(self.edge.device, self.input)
                    if a.raised >= at - WINDOW_SLACK_S
                ),
                None,
            ),
            timing.wait_alarm_s,
        )
        if alarm is None:
            return  # lost, or later than the wait: the record decides at the end
        if self.rng.random() < 0.3:
            time.sleep(self.rng.uniform(0.2, 0.6))
            before = alarm.presses
            self.press(new=False)
            if self._wait(lambda: alarm.presses > before or None, 30) is None:
                self.unanswered_repress += 1
        time.sleep(self.rng.uniform(*timing.hold_active_s))
        if not self.run_.gate.is_set() and self.rng.random() < 0.5:
            return  # stay active through the convergence check ("help is coming" must show)
        self.resolve(alarm.alarm_id)
        time.sleep(self.rng.uniform(*timing.after_resolve_s))

    def _paced(self) -> bool:
        """Wait for this device's next new-alarm token (tests/chaos/pace.py), so that central's
        flood rule never holds an alarm back from the desks; False if the gate closed meanwhile
        (the token is kept for the next cycle: giving it up would push every later one back)."""
        if self._token_at is None:
            with self.run_.pace_lock:
                self._token_at = self.run_.paces[self.edge.device].reserve(time.monotonic())
        while (left := self._token_at - time.monotonic()) > 0:
            if self.run_.done.is_set() or not self.run_.gate.is_set():
                return False
            time.sleep(min(left, 0.2))
        self._token_at = None
        return True

    def resolve(self, alarm_id: str) -> None:
        """From a desk, again every 3 s, until the record says resolved (bounded)."""
        deadline = time.monotonic() + self.run_.timing.wait_resolved_s
        desks = self.run_.rig.desks
        while time.monotonic() < deadline and not self.run_.done.is_set():
            self.rng.choice(desks).send(f"resolve {alarm_id}")
            found = self._wait(
                lambda: self.run_.recorder.alarms[alarm_id].state == "resolved" or None, 3.0
            )
            if found:
                return

    def _wait(self, probe: Callable[[], T | None], budget: float) -> T | None:
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline and not self.run_.done.is_set():
            try:
                if (found := probe()) is not None:
                    return found
            except KeyError:
                pass
            time.sleep(0.05)
        return None


class Run:
    """One fault kind on its own rig: pressers, episodes of the fault, checks, figures."""

    def __init__(
        self,
        fault: Fault,
        workdir: Path,
        cleanup: Cleanup,
        timing: Timing,
        alarms: int,
        episodes: int,
        seed: int,
        edges: int = 3,
    ) -> None:
        self.fault, self.timing = fault, timing
        self.target_alarms, self.min_episodes = alarms, episodes
        self.rng = random.Random(seed)
        self.screens = Screens()
        self.rig = Rig(
            workdir,
            cleanup,
            edges=edges,
            netns_edge=fault.netns,
            tmpfs_store=fault.tmpfs,
            on_desk_line=self.screens.on_line,
        )
        self.recorder = Recorder(self.rig.db)
        self.presses: list[Press] = []
        self.checks: list[Check] = []
        self.errors: list[str] = []
        self.done, self.gate = threading.Event(), threading.Event()
        self.gate.set()
        # New alarms per device no faster than central's flood rule shows them (pace.py).
        self.paces = {edge.device: Pace() for edge in self.rig.edges}
        self.pace_lock = threading.Lock()
        self.pressers = [
            Presser(self, edge, name, seed * 100 + i * 10 + j)
            for i, edge in enumerate(self.rig.edges)
            for j, (name, _pin, _led) in enumerate(INPUTS)
        ]

    def new_presses(self) -> int:
        return sum(1 for p in self.presses if p.new)

    def execute(self) -> None:
        try:
            for presser in self.pressers:
                presser.start()
            episode = 0
            while episode < self.min_episodes or self.new_presses() < self.target_alarms:
                time.sleep(self.rng.uniform(*self.timing.between_faults_s))
                log.info(
                    "%s: episode %d (%d alarms so far)",
                    self.fault.name,
                    episode + 1,
                    self.new_presses(),
                )
                healed = self.fault.inject(self)
                self.checks.append(self.converge(healed))
                episode += 1
            self.gate.clear()
            self._wait_idle()
        finally:
            self.done.set()
            self.gate.set()
            for presser in self.pressers:
                presser.join(10)
            try:
                self.recorder.poll_once()
            except Exception as exc:  # the figures then use the last background poll
                self.errors.append(f"last look at the record failed: {exc!r}")
            self.recorder.stop()

    def _wait_idle(self) -> None:
        deadline = time.monotonic() + self.timing.wait_alarm_s + self.timing.wait_resolved_s + 30
        while not all(p.idle.is_set() for p in self.pressers):
            if time.monotonic() > deadline:
                self.errors.append("pressers did not come to rest")
                return
            time.sleep(0.1)

    def converge(self, healed: float) -> Check:
        """Stop new presses, let every presser come to rest, then time how long LEDs and desks
        take to agree with the record — with no press to help them."""
        self.gate.clear()
        self._wait_idle()
        start = max(healed, self.recorder.last_change)
        leds_s = desks_s = None
        leds: list[str] = []
        desks: list[str] = []
        deadline = time.time() + self.timing.converge_wait_s
        while time.time() < deadline and (leds_s is None or desks_s is None):
            now = time.time()
            if leds_s is None and not (leds := led_mismatches(self.recorder, self.rig.edges)):
                leds_s = max(0.0, now - start)
            if desks_s is None and not (
                desks := desk_mismatches(self.recorder, self.screens, list(DESK_USERS))
            ):
                desks_s = max(0.0, now - start)
            time.sleep(0.2)
        self.gate.set()
        detail = (leds if leds_s is None else []) + (desks if desks_s is None else [])
        return Check(leds_s, desks_s, detail)
