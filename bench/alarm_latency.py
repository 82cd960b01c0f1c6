"""Alarm latency: a button press on an edge → the alarm on the LAST of N colleagues' screens.

Starts a real Mosquitto, a real central (``trygg-central``) and N websocket screens, presses
buttons on an edge agent running on gpiozero's mock pins, and prints p50/p99 from the press to
the moment the AlarmNew frame reached the last screen. In the same run, press by press in turn
so that background load hits both alike, it measures the lower bound: aiomqtt publish →
Mosquitto → a minimal subscriber that only calls ``websockets.broadcast`` → the same screens.
The ratio p99(real) / p99(bound) is the price of central's features (target: <= 1.3).

Timing: the press is stamped with ``time.time_ns()`` in this process; a screen's receipt is the
kernel's receive timestamp of the segment carrying the frame (CLOCK_REALTIME, the same clock),
taken by a packet tap on ``lo`` (bench/tap.py; needs root, else the screens' own socket stamps).
Screens live in a few lean receiver processes (bench/receivers.py) scheduled SCHED_IDLE, so
neither they nor the tap take a core from what is measured; their lag does not count. Run::

    .venv/bin/python bench/alarm_latency.py                    # N = 100, 1000, 5000; 200 presses
    .venv/bin/python bench/alarm_latency.py --quick            # N = 100; 12 presses (~15 s)
    .venv/bin/python bench/alarm_latency.py --sizes 100,1000 --presses 50
    .venv/bin/python bench/alarm_latency.py --sizes 1000 --presses 400 --paths bound
    .venv/bin/python bench/alarm_latency.py --json samples.json    # also every sample, as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import random
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support lives in the repo, not in the installed package

from bound import BoundPath, allow_bench_user  # noqa: E402
from pool import ReceiverPool  # noqa: E402
from sample import Sample, Summary  # noqa: E402
from sockets import raise_fd_limit  # noqa: E402

from tests.support.broker import Broker  # noqa: E402

WARMUP_PRESSES = 5
PRESS_TIMEOUT_S = 15.0
# --quick: one small size and few presses, so that the bench's smoke test
# (tests/bench/test_alarm_latency_smoke.py) runs it whole in seconds and it cannot rot unseen.
QUICK = ("100", 12)


class AlarmPath(Protocol):
    name: str
    group: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def open_screens(self, pool: ReceiverPool, count: int) -> int: ...
    async def press(self, pool: ReceiverPool, timeout: float) -> Sample: ...
    def annotate(self, samples: list[Sample]) -> list[Sample]: ...


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def quiet(gap_s: float) -> None:
    """A pause between presses, jittered so nothing locks onto a periodic timer.

    Long enough by default (250 ms) for the previous alarm's last fan-out (the "resolved"
    update to every screen) to finish and for TCP's delayed ACKs (40 ms and more) to go out:
    each press then meets an idle system, as a real press does.
    """
    await asyncio.sleep(random.uniform(gap_s, gap_s * 1.4))


async def measure(
    paths: list[AlarmPath],
    pool: ReceiverPool,
    size: int,
    presses: int,
    block: int,
    gap_s: float,
) -> dict[str, list[Sample]]:
    """Open ``size`` screens per path and press ``presses`` times per path, in blocks."""
    for path in paths:
        started = time.monotonic()
        got = await path.open_screens(pool, size)
        progress(
            f"N={size}: {got} {path.name} screens connected in {time.monotonic() - started:.1f} s"
        )
        if got != size:
            raise RuntimeError(f"only {got} of {size} {path.name} screens connected")
    samples: dict[str, list[Sample]] = {path.name: [] for path in paths}
    for path in paths:  # warm caches, lazy imports, first-use allocations; not counted
        for _ in range(WARMUP_PRESSES):
            await path.press(pool, PRESS_TIMEOUT_S)
            await quiet(gap_s)
    # Paths take turns, ``block`` presses each (default 1): a burst of load from elsewhere on
    # the machine then hits both alike instead of one path's p99.
    order = list(paths)
    reported = 0
    while any(len(samples[p.name]) < presses for p in paths):
        for path in order:
            todo = min(block, presses - len(samples[path.name]))
            for _ in range(todo):
                sample = await path.press(pool, PRESS_TIMEOUT_S)
                if not sample.complete:
                    progress(f"  {path.name}: alarm reached only {sample.screens}/{size} screens")
                samples[path.name].append(sample)
                await quiet(gap_s)
        order.reverse()  # alternate which path goes first
        least = min(len(samples[p.name]) for p in paths)
        if least >= reported + 25 or least == presses:
            reported = least
            done = ", ".join(f"{p.name} {len(samples[p.name])}/{presses}" for p in paths)
            progress(f"N={size}: {done}")
    for path in paths:
        await pool.close(path.group)
        samples[path.name] = path.annotate(samples[path.name])
    return samples


def table(results: dict[int, dict[str, list[Sample]]], args: argparse.Namespace) -> str:
    lines = [
        "",
        "Trygg alarm latency: button press -> AlarmNew frame at the LAST of N screens",
        f"machine: {machine()}; load average at the end {load()}",
        f"screens: {args.receivers} receiver processes ({'SCHED_IDLE' if args.idle else 'normal'}"
        f" priority); timing: {args.timing}",
        "real  = edge agent (gpiozero mock pins) -> Mosquitto -> trygg-central -> screens",
        "bound = aiomqtt publish -> Mosquitto -> a subscriber calling websockets.broadcast",
        "Mosquitto as shipped in deploy/ (set_tcp_nodelay true); "
        f"{args.gap_ms:.0f}-{args.gap_ms * 1.4:.0f} ms quiet before each press",
        "",
        f"{'N':>6}  {'path':<5} {'presses':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  "
        f"{'p99 real/bound':<14} {'1st p50':>8} {'mqtt p50':>8} {'ack p50':>8}",
    ]
    notes: list[str] = []
    for size, by_path in results.items():
        summaries = {name: Summary.of(samples) for name, samples in by_path.items()}
        bound = summaries.get("bound")
        for name, s in summaries.items():
            ratio = ""
            if name != "bound" and bound and bound.p99 > 0:
                ratio = f"{s.p99 / bound.p99:.2f}"
            lines.append(
                f"{size:>6}  {name:<5} {s.presses:>7} {s.p50:>8.2f} {s.p99:>8.2f} {s.max:>8.2f}  "
                f"{ratio:<14} {s.first_p50:>8.2f} {_ms(s.broker_p50)} {_ms(s.ack_p50)}"
            )
            if s.incomplete:
                notes.append(f"N={size} {name}: {s.incomplete} alarms did not reach every screen")
            if s.exact < s.presses:
                notes.append(
                    f"N={size} {name}: {s.presses - s.exact} presses timed by a stamp that may "
                    f"be late; p99 over exact stamps only: {s.clean_p99:.2f} ms"
                )
            notes.append(
                f"N={size} {name}: receivers had read the last copy by p99 {s.read_p99:.2f} ms "
                "(their lag; not part of the figures)"
            )
    lines += [
        "",
        "1st p50: press -> the first screen. mqtt p50: press -> the edge's alarm came out of",
        'the broker; ack p50: press -> central\'s "received" ack (sent after its store commit)',
        "came out of the broker (both seen by a mosquitto_sub spy).",
        "Target: p99 real/bound <= 1.3 at N = 1000 and 5000. Other processes on this 2-core",
        "machine (test suites, other benches) add noise, mostly to the tails; the load average",
        "says how busy it was.",
        "",
        *notes,
    ]
    return "\n".join(lines)


def _ms(value: float) -> str:
    return f"{value:>8.2f}" if value == value else f"{'-':>8}"  # NaN: not measured


def make_paths(args: argparse.Namespace, broker: Broker, workdir: Path) -> list[AlarmPath]:
    paths: list[AlarmPath] = []
    if "bound" in args.paths:
        password = secrets.token_urlsafe(24)
        allow_bench_user(broker, password)
        paths.append(BoundPath(broker, password))
    if "real" in args.paths:
        from real import RealPath  # needs edge and central; only imported when asked for

        paths.append(RealPath(broker, workdir))
    return paths


async def run(args: argparse.Namespace) -> dict[int, dict[str, list[Sample]]]:
    raise_fd_limit()  # inherited by Mosquitto, central and the bound server
    progress(f"machine: {machine()}; load average {load()}")
    results: dict[int, dict[str, list[Sample]]] = {}
    with tempfile.TemporaryDirectory(prefix="trygg-bench-") as tmp:
        workdir = Path(tmp)
        broker = Broker(workdir / "broker")
        paths = make_paths(args, broker, workdir)
        broker.start()
        pool = ReceiverPool(args.receivers, idle=args.idle, use_tap=args.tap)
        started: list[AlarmPath] = []
        try:
            await pool.start()
            args.timing = pool.timing
            progress(f"timing: {pool.timing}")
            for path in paths:
                progress(f"starting the {path.name} path")
                started.append(path)  # first: a path that fails half-way is still stopped
                await path.start()
            for size in args.sizes:
                progress(f"N={size}: opening screens")
                results[size] = await measure(
                    paths, pool, size, args.presses, args.block, args.gap_ms / 1000
                )
        finally:
            for path in reversed(started):
                await path.stop()
            await pool.stop()
            broker.stop()
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Press-to-last-screen alarm latency, real path vs. lower bound."
    )
    parser.add_argument("--sizes", help="screen counts, comma-separated (default 100,1000,5000)")
    parser.add_argument("--presses", type=int, help="measured presses per N and path (default 200)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a check that the bench works, in seconds: N = 100 and 12 presses "
        "(--sizes and --presses still apply); its tail figures mean little",
    )
    parser.add_argument("--paths", default="bound,real", help="bound, real or both")
    parser.add_argument("--block", type=int, default=1, help="presses per path before switching")
    parser.add_argument(
        "--receivers", type=int, default=os.cpu_count() or 2, help="receiver processes"
    )
    parser.add_argument(
        "--normal-priority",
        dest="idle",
        action="store_false",
        help="run receivers at normal priority instead of SCHED_IDLE",
    )
    parser.add_argument(
        "--gap-ms",
        type=float,
        default=250.0,
        help="quiet time after one alarm is over before the next press (default 250)",
    )
    parser.add_argument(
        "--no-tap",
        dest="tap",
        action="store_false",
        help="time with the screens' socket stamps only, not the packet tap",
    )
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args(argv)
    args.timing = "?"
    quick_sizes, quick_presses = QUICK
    if args.sizes is None:
        args.sizes = quick_sizes if args.quick else "100,1000,5000"
    if args.presses is None:
        args.presses = quick_presses if args.quick else 200
    if args.presses < 1:
        parser.error("--presses must be at least 1")
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    args.paths = {p.strip() for p in args.paths.split(",") if p.strip()}
    if not args.paths <= {"bound", "real"} or not args.paths:
        parser.error("--paths takes bound, real or bound,real")
    return args


def dump(results: dict[int, dict[str, list[Sample]]], path: Path) -> None:
    data = {
        str(size): {name: [dataclasses.asdict(s) for s in samples] for name, samples in by.items()}
        for size, by in results.items()
    }
    path.write_text(json.dumps(data, indent=1))


async def run_until_signalled(args: argparse.Namespace) -> dict[int, dict[str, list[Sample]]]:
    """``run``, cancelled (so that it stops what it started) on SIGTERM or SIGINT."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    return await run(args)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        results = asyncio.run(run_until_signalled(args))
    except asyncio.CancelledError:
        sys.exit("interrupted; everything the bench started has been stopped")
    print(table(results, args))
    if args.json:
        dump(results, args.json)


if __name__ == "__main__":
    main()
