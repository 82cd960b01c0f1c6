"""``python -m tests.edge.held_pin_edge --config FILE``: the real ``trygg-edge`` on the
simulator's pins (``trygg-sim`` control socket at ``TRYGG_SIM_CONTROL``), where the inputs named
in ``TRYGG_TEST_HELD_PINS`` (``GPIO17,...``) are closed from the moment the edge opens them: the
button a person still holds when the power comes back. Only the pin factory differs from
``python -m edge``.
"""

from __future__ import annotations

import os

from gpiozero import Device
from gpiozero.pins.mock import MockPin

from edge.cli import main
from firmware_sim.pins import SimFactory

HELD = {name.strip() for name in os.environ.get("TRYGG_TEST_HELD_PINS", "").split(",") if name}


class HeldAtStartPin(MockPin):  # type: ignore[misc]
    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        if str(self.info.name) in HELD:
            self.drive_low() if value == "up" else self.drive_high()


if __name__ == "__main__":
    factory = SimFactory()
    factory.pin_class = HeldAtStartPin
    Device.pin_factory = factory
    raise SystemExit(main())
