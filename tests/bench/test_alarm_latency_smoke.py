"""`bench/alarm_latency.py --quick` runs whole, as a real process, and prints both figures.

The bench is not part of `make test`, so nothing noticed when it broke (central started
closing its control screen for answering no liveness ping, and every run ended in a
``TimeoutError`` on the first press after a few seconds). This runs its quick mode end to
end: a real Mosquitto, a real ``trygg-central``, an edge on gpiozero's mock pins, the lean
receiver processes and, where the run has root, the packet tap; and it checks that each path's
row of the table is there with numbers in it, that every alarm reached every screen, and that
the bench left no process and no work directory behind.

No assertion on the figures themselves: they are wall-clock times on a shared machine.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "alarm_latency.py"
# A hang guard, not a time limit on the bench: --quick takes ~15 s here.
HANG_GUARD_S = 100

_NUMBER = r"(\d+\.\d+)"


def row(table: str, path: str) -> dict[str, float | int]:
    """The table's row for ``path`` at N = 100: presses and the figures that must be numbers."""
    pattern = (
        rf"^\s*100\s+{path}\s+(\d+)\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+"
        rf"(?:(\d+\.\d+)\s+)?{_NUMBER}\s"
    )
    found = re.search(pattern, table, re.MULTILINE)
    assert found, f"no N=100 {path} row in the bench's table:\n{table}"
    return {
        "presses": int(found[1]),
        "p50": float(found[2]),
        "p99": float(found[3]),
        "max": float(found[4]),
        **({"ratio": float(found[5])} if found[5] else {}),
        "first_p50": float(found[6]),
    }


def test_quick_bench_completes_and_prints_real_and_bound_figures(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its work directory, to check it is gone
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    said = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    assert done.returncode == 0, said
    assert "button press -> AlarmNew frame at the LAST of N screens" in done.stdout, said

    bound = row(done.stdout, "bound")
    real = row(done.stdout, "real")
    for name, figures in (("bound", bound), ("real", real)):
        assert figures["presses"] == 12, f"{name}: {figures}\n{said}"  # --quick's 12 presses
        for key, value in figures.items():
            assert math.isfinite(value), f"{name} {key} is {value}\n{said}"
    assert "ratio" in real, f"no p99 real/bound beside the real path's row\n{said}"
    assert "ratio" not in bound, said

    # Every measured alarm reached all 100 screens of its path (nothing only partly delivered).
    assert "did not reach every screen" not in done.stdout, said
    assert "alarm reached only" not in done.stderr, said
    # The real path's split: the spy saw the alarm and central's "received" ack at the broker.
    split = re.search(
        rf"^\s*100\s+real\s.*\s{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s*$", done.stdout, re.MULTILINE
    )
    assert split, f"the real row has no 1st / mqtt / ack p50\n{said}"

    # It stopped what it started: no process of its work directory, and the directory is gone.
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("trygg-bench-")]
    assert leftovers == [], leftovers
    listing = subprocess.run(
        ["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    running = [
        line for line in listing.splitlines() if str(tmp_path) in line and "ps -eww" not in line
    ]
    assert running == [], running
