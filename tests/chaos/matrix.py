"""The figures of a fault's run and the tables ``make chaos`` prints; ``main`` is its command
line (``bench/chaos.py``). Figures are computed from the record at the end, never during the
run, so what is printed is what central durably kept."""

from __future__ import annotations

import argparse
import json
import logging
import math
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.faults import FAULTS, FULL, SHORT, Timing
from tests.chaos.rig import DESK_USERS, Cleanup, log
from tests.chaos.run import CONVERGE_LIMIT_S, LATE_S, WINDOW_SLACK_S, Run


@dataclass
class Figures:
    fault: str
    alarms: int = 0
    lost: int = 0
    doubled: int = 0
    reshown: int = 0
    late: int = 0
    unseen: int = 0  # stored, but some desk never showed it (it may have ended meanwhile)
    unshown: int = 0  # stored, but no desk ever showed it
    represses: int = 0
    represses_uncounted: int = 0
    faulted: list[float | None] = field(default_factory=list)  # press -> stored, hit presses
    restarts: int = 0  # edge restarts the faults made
    stored_s: list[float] = field(default_factory=list)
    screen_s: list[float] = field(default_factory=list)
    leds_s: list[float | None] = field(default_factory=list)
    desks_s: list[float | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def leds_converged(self) -> bool:
        return bool(self.leds_s) and all(
            t is not None and t <= CONVERGE_LIMIT_S for t in self.leds_s
        )

    @property
    def desks_converged(self) -> bool:
        return bool(self.desks_s) and all(
            t is not None and t <= CONVERGE_LIMIT_S for t in self.desks_s
        )

    def failures(self) -> list[str]:
        """Why this run fails issue 9's bar (empty: it passes): no alarm, any lost, doubled or
        stored-but-unseen alarm, an LED or desk still stale, or any problem noted."""
        why = [] if self.alarms > 0 else ["no alarm was pressed"]
        why += [
            f"{n} {what}"
            for n, what in (
                (self.lost, "lost"),
                (self.doubled, "doubled"),
                (self.unshown, "stored but shown on no desk"),
            )
            if n
        ]
        why += [] if self.leds_converged else ["LEDs did not converge within 10 s"]
        why += [] if self.desks_converged else ["desks did not converge within 10 s"]
        return why + self.problems

    @property
    def ok(self) -> bool:
        return not self.failures()


def figures(run: Run) -> Figures:
    fig = Figures(run.fault.name, problems=list(run.errors))
    users = list(DESK_USERS)
    buttons = {(p.device, p.input) for p in run.presses}
    for device, input_name in sorted(buttons):
        presses = sorted(
            (p for p in run.presses if (p.device, p.input) == (device, input_name) and p.new),
            key=lambda p: p.at,
        )
        alarms = run.recorder.of_button(device, input_name)
        for i, press in enumerate(presses):
            end = presses[i + 1].at - WINDOW_SLACK_S if i + 1 < len(presses) else math.inf
            mine = [a for a in alarms if press.at - WINDOW_SLACK_S <= a.raised < end]
            fig.alarms += 1
            if not mine:
                fig.lost += 1
                fig.faulted += [None] if press.faulted else []
                clock = time.strftime("%H:%M:%S", time.localtime(press.at))
                fig.problems.append(
                    f"lost: {device}/{input_name} press at {clock}.{int(press.at % 1 * 1000):03d}"
                )
                continue
            fig.doubled += len(mine) - 1
            first = mine[0]
            if press.faulted:
                fig.faulted.append(first.first_seen - press.at)
            fig.stored_s.append(first.first_seen - press.at)
            shown = run.screens.last_screen(first.alarm_id, users)
            if shown is None:
                fig.unseen += 1
                fig.unshown += run.screens.first_screen(first.alarm_id, users) is None
            else:
                fig.screen_s.append(shown - press.at)
            if first.first_seen - press.at > LATE_S or shown is None or shown - press.at > LATE_S:
                fig.late += 1
    fig.represses = sum(1 for p in run.presses if not p.new)
    fig.represses_uncounted = sum(p.unanswered_repress for p in run.pressers)
    fig.reshown = len(run.screens.reshown)
    fig.restarts = sum(edge.starts - 1 for edge in run.rig.edges)
    fig.problems += [
        f"central saw a flood from {device} at {at}: new alarms came faster than "
        f"its flood rule shows them (tests/chaos/pace.py)"
        for device, at in sorted(run.recorder.floods)
    ]
    for check in run.checks:
        fig.leds_s.append(check.leds_s)
        fig.desks_s.append(check.desks_s)
        fig.problems += [
            f"stale after {run.timing.converge_wait_s:.0f} s: {d}" for d in check.detail
        ]
    return fig


def run_fault(
    name: str,
    workdir: Path,
    cleanup: Cleanup,
    timing: Timing = FULL,
    alarms: int = 150,
    episodes: int = 3,
    seed: int = 1,
    edges: int = 3,
) -> Figures:
    """One fault kind on a fresh rig; everything it started is stopped before it returns."""
    run = Run(FAULTS[name], workdir, cleanup, timing, alarms, episodes, seed, edges)
    try:
        run.execute()
    finally:
        run.rig.stop()
    return figures(run)


def _q(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{_q(values, 0.5):.2f} / {_q(values, 0.99):.2f} / {max(values):.2f}"


def _converged(times: list[float | None]) -> str:
    if not times:
        return "not checked"
    stale = sum(1 for t in times if t is None or t > CONVERGE_LIMIT_S)
    worst = max((t for t in times if t is not None), default=None)
    worst_text = f"max {worst:.1f} s" if worst is not None else "never"
    return f"yes ({worst_text})" if not stale else f"NO ({stale}/{len(times)} stale; {worst_text})"


def table(fig: Figures) -> str:
    rows = [
        ("alarms (new presses)", str(fig.alarms)),
        ("lost", str(fig.lost)),
        ("doubled", str(fig.doubled)),
        ("re-shown after resolved", str(fig.reshown)),
        (
            f"late (> {LATE_S:.0f} s, or never on a screen)",
            f"{fig.late} ({fig.unseen} unseen on some desk, {fig.unshown} on every desk)",
        ),
        ("press -> stored p50/p99/max (s)", _spread(fig.stored_s)),
        ("press -> last screen p50/p99/max (s)", _spread(fig.screen_s)),
        ("LEDs converged", _converged(fig.leds_s)),
        ("desks converged", _converged(fig.desks_s)),
        ("re-presses (not counted)", f"{fig.represses} ({fig.represses_uncounted})"),
    ]
    if fig.faulted or fig.restarts:
        hit = ", ".join("lost" if t is None else f"{t:.2f}" for t in fig.faulted[:10])
        rows.append(("edge restarts; presses hit -> stored (s)", f"{fig.restarts}; {hit}"))
    width = max(len(k) for k, _ in rows)
    lines = [f"== {fig.fault}: {FAULTS[fig.fault].what}"]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    lines += [f"  ! {p}" for p in fig.problems[:12]]
    if len(fig.problems) > 12:
        lines.append(f"  ! ... and {len(fig.problems) - 12} more")
    return "\n".join(lines)


def summary(figs: list[Figures]) -> str:
    head = (
        f"{'fault':<15}{'alarms':>7}{'lost':>6}{'doubled':>8}{'re-shown':>9}{'late':>6}"
        f"  {'stored p50/p99/max':<20}  {'screen p50/p99/max':<20}  {'LEDs':<5}{'desks':<5}"
    )
    lines = [head, "-" * len(head)]
    for f in figs:
        lines.append(
            f"{f.fault:<15}{f.alarms:>7}{f.lost:>6}{f.doubled:>8}{f.reshown:>9}"
            f"{f.late:>6}  {_spread(f.stored_s):<20}  {_spread(f.screen_s):<20}  "
            f"{'yes' if f.leds_converged else 'NO':<5}"
            f"{'yes' if f.desks_converged else 'NO':<5}"
        )
    lines.append(f"total alarms: {sum(f.alarms for f in figs)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/chaos.py", description=__doc__)
    parser.add_argument(
        "--alarms", type=int, default=1050, help="alarms over all fault kinds (default 1050)"
    )
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help=f"comma-separated, from: {', '.join(FAULTS)}"
    )
    parser.add_argument("--episodes", type=int, default=3, help="least faults per kind")
    parser.add_argument("--short", action="store_true", help="the short timings of make test")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--workdir", type=Path, help="keep logs here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.faults.split(",") if n.strip()]
    if unknown := [n for n in names if n not in FAULTS]:
        parser.error(f"unknown fault(s): {', '.join(unknown)}")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="[%(asctime)s] %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )

    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through every finally: cleanup runs

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="trygg-chaos-"))
    print(f"chaos: seed {args.seed}, logs in {workdir}", flush=True)
    cleanup = Cleanup()
    figs: list[Figures] = []
    per_fault = math.ceil(args.alarms / len(names))
    try:
        for i, name in enumerate(names):
            try:
                fig = run_fault(
                    name,
                    workdir / name,
                    cleanup,
                    SHORT if args.short else FULL,
                    per_fault,
                    args.episodes,
                    args.seed + i,
                )
            except Exception as exc:
                log.exception("%s could not run", name)
                fig = Figures(name, problems=[f"could not run: {exc}"])
            finally:
                cleanup.run()
            figs.append(fig)
            print(table(fig), flush=True)
    finally:
        cleanup.run()
    print(summary(figs), flush=True)
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figs], indent=1))
    return 0 if figs and all(f.ok for f in figs) else 1
