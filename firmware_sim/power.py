"""``trygg-sim power-off DEVICE`` / ``power-on DEVICE``: cut a simulated device's power.

Cutting the power of a Raspberry Pi is, for its software, a ``kill -9`` of the edge agent: no
goodbye on MQTT (the broker publishes the device's last will), no flush, a press being written
is left as the disk has it. Power back on is the same program started again on the same config
and the same outbox, which sends what it had not sent. Supervision shows the device offline in
between, on the console's board and the facility managers' desks.

The demo owns its edge processes (Ctrl-C must leave none behind), so ``trygg-sim`` asks the
running demo through its control socket ``<workdir>/demo.ctl``; the demo kills or restarts the
process. While a device is off, ``<workdir>/<device>.off`` says so: a press on its buttons then
is refused with the reason (nothing is running to notice it; on a real device it is lost at
the button), rather than with a socket error.
"""

from __future__ import annotations

from pathlib import Path

from firmware_sim.control import request
from firmware_sim.errors import SimError

CONTROL_NAME = "demo.ctl"


def control_path(workdir: Path) -> Path:
    return workdir / CONTROL_NAME


def off_marker(workdir: Path, device: str) -> Path:
    return workdir / f"{device}.off"


def powered_off(workdir: Path, device: str) -> bool:
    return off_marker(workdir, device).exists()


def refuse_if_off(workdir: Path, device: str) -> None:
    """A clear refusal for an action on the buttons of a device whose power is cut."""
    if powered_off(workdir, device):
        raise SimError(
            f"{device} is powered off: nothing runs to notice a press, so it is lost at the "
            f"button (a real device would not see it either). `trygg-sim --workdir {workdir} "
            f"power-on {device}` brings it back."
        )


def power(workdir: Path, device: str, on: bool) -> str:
    """Ask the running demo in ``workdir`` to cut or restore ``device``'s power; its answer."""
    path = control_path(workdir)
    if not path.exists():
        raise SimError(f"no demo is running in {workdir} (no {CONTROL_NAME}): `trygg-sim demo`")
    reply = request(path, timeout=30, cmd="power-on" if on else "power-off", device=device)
    return str(reply.get("said", ""))
