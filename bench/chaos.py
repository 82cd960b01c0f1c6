"""The fault matrix (``make chaos``): real processes under one fault at a time, presses
throughout, a table per fault. The harness lives in ``tests/chaos/`` (the suite runs a short
version of it); see docs/chaos.md. Run::

    .venv/bin/python bench/chaos.py                         # every fault, >= 1,000 alarms
    .venv/bin/python bench/chaos.py --faults broker-kill --alarms 100
    .venv/bin/python bench/chaos.py --short --alarms 40     # the timings of make test

Needs root (a network namespace, a tmpfs mount), Mosquitto and iproute2. Exit status 0 only if
every fault kind had 0 lost, 0 doubled and every LED and desk converged within 10 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.chaos lives in the repo, not in the installed package

from tests.chaos.matrix import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
