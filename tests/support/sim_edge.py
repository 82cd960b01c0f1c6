"""A ``trygg-edge`` PROCESS on the simulator's pins, for tests that must kill an edge with -9.

Why a process and not the in-process agent (tests/e2e/conftest.py): a power cut is SIGKILL,
and only a process can take it; what it leaves on disk (its outbox) is all the next start has.
The pins are ``trygg-sim``'s (``GPIOZERO_PIN_FACTORY=trygg-sim``): the test works the buttons
and reads the LEDs back through the control socket, as ``trygg-sim`` does in the demo. A
button may be held from the first moment of a start (``TRYGG_SIM_HELD``): the finger still on
it when the power comes back.

The LED is read as the pin shows it: ``fast-blink`` = sending, ``slow-blink`` = received,
``on`` = help is coming, ``off`` = nothing (or resolved, after its few quick blinks).
Every wait is bounded polling; nothing here measures time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from firmware_sim.control import request
from firmware_sim.errors import SimError
from tests.support.broker import Broker
from tests.support.stack import SITE, edge_config, kill_process, script, stop_process

#: As tests.support.stack.edge_config: input -> (button pin, LED pin).
PINS = {"desk": (17, 27), "wall": (22, 23)}


class SimEdge:
    """One ``trygg-edge`` process; ``start`` may follow ``kill`` on the same files."""

    def __init__(
        self, broker: Broker, workdir: Path, device: str = "rom-101", site: str = SITE
    ) -> None:
        self.device = device
        self.config = edge_config(workdir, broker, device, site)
        # A Unix socket path must stay under ~100 bytes; pytest's tmp_path may not.
        self._sockdir = Path(tempfile.mkdtemp(prefix="trygg-e2e-"))
        self.control = self._sockdir / "pins.sock"
        self.log = workdir / f"{device}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, held: tuple[str, ...] = (), timeout: float = 30) -> None:
        """Start and wait until it is connected to the broker; ``held`` inputs are closed
        from the first moment."""
        pins = [PINS[name][0] for name in held]
        self.proc = launch(self.config, self.log, self.control, pins, timeout=timeout)

    def act(self, input_name: str, cmd: str) -> dict[str, Any]:
        """``press`` (0.3 s), ``tap``, ``hold``, ``release`` on one button (blocking)."""
        return request(self.control, cmd=cmd, pin=PINS[input_name][0])

    def outputs(self) -> dict[str, dict[str, Any]]:
        return dict(request(self.control, cmd="outputs")["pins"])

    def led(self, input_name: str) -> str:
        """The LED's pattern: ``off``, ``on``, ``slow-blink``, ``fast-blink``."""
        return str(self.outputs()[f"GPIO{PINS[input_name][1]}"]["pattern"])

    def wait_led(self, input_name: str, pattern: str, timeout: float = 20) -> None:
        """Until the LED has shown ``pattern`` for two readings 0.3 s apart (a blink passing
        through "on" is not "help is coming")."""
        deadline = time.monotonic() + timeout
        streak, seen = 0, ""
        while time.monotonic() < deadline:
            seen = self.led(input_name)
            streak = streak + 1 if seen == pattern else 0
            if streak >= 2:
                return
            time.sleep(0.3)
        raise AssertionError(
            f"{self.device} {input_name} LED not {pattern} in {timeout} s "
            f"(last: {seen}):\n{self.logs()}"
        )

    def kill(self) -> None:
        """SIGKILL: a power cut; nothing of the agent's shutdown runs."""
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)
        shutil.rmtree(self._sockdir, ignore_errors=True)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def launch(
    config: Path,
    log: Path,
    control: Path,
    held_pins: Iterable[int] = (),
    *,
    connected: bool = True,
    timeout: float = 30,
    wrap: Callable[[list[str]], list[str]] = list,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``trygg-edge --config config`` on ``trygg-sim`` pins (control socket ``control``,
    ``held_pins`` closed from the first moment), its output appended to ``log``; return once its
    pins answer and (``connected``) it has connected to the broker once more than before.
    ``wrap`` turns the argv into the one to run (a network namespace's)."""
    env = {
        **os.environ,
        "GPIOZERO_PIN_FACTORY": "trygg-sim",
        "TRYGG_SIM_CONTROL": str(control),
        "TRYGG_SIM_HELD": ",".join(str(pin) for pin in held_pins),
    }
    before = _connects(log)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            wrap([script("trygg-edge"), "--config", str(config)]),
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=new_session,
        )
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{config.stem} exited:\n{_tail(log)}")
            if (not connected or _connects(log) > before) and control.exists():
                try:
                    request(control, cmd="outputs")
                    return proc
                except SimError:
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{config.stem} not up in {timeout} s:\n{_tail(log)}")
            time.sleep(0.02)
    except BaseException:
        kill_process(proc)  # not left running behind the caller's back
        raise


def _connects(log: Path) -> int:
    try:
        return log.read_text(errors="replace").count("mqtt connected")
    except OSError:
        return 0


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""
