"""How hard the fuzz tests push: a few hundred inputs each in ``make test``, ``make fuzz`` sets
``TRYGG_FUZZ_EXAMPLES`` (100,000 by default there) for the long run."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("TRYGG_FUZZ_EXAMPLES", "300"))

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # a fuzz run explores afresh; failures print their reproducing example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
