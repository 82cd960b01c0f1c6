"""The fault matrix, short: every fault kind once, on real processes, with a few alarms each.

``make chaos`` runs the same harness over >= 1,000 alarms (docs/chaos.md). Here only what must
hold is asserted — no press lost, none doubled, none stored but shown on no desk, every LED
and desk back to central's record within 10 s of the last change, without a new press, and no
problem noted (a flood, a fault that never ran); the times are printed with ``-s``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.faults import FAULTS, SHORT
from tests.chaos.matrix import run_fault, table
from tests.chaos.rig import Cleanup


@pytest.fixture
def cleanup() -> Iterator[Cleanup]:
    done = Cleanup()
    yield done
    done.run()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_loses_nothing_and_heals(fault: str, tmp_path: Path, cleanup: Cleanup) -> None:
    assert os.geteuid() == 0, (
        "the fault matrix needs root: a network namespace and a tmpfs mount (run `make test` "
        "as root, or in the project's container)"
    )
    fig = run_fault(fault, tmp_path, cleanup, SHORT, alarms=4, episodes=1, edges=2, seed=7)
    print(table(fig))
    assert fig.alarms >= 4, table(fig)
    assert (fig.lost, fig.doubled, fig.unshown) == (0, 0, 0), table(fig)
    assert fig.failures() == [], table(fig)
