"""Timed scripts for the demo: ``trygg-sim demo --scenario FILE`` or ``trygg-sim play FILE``.

A scenario is TOML, validated like every config (errors name file and line)::

    description = "A press, then the board misbehaves"
    [[step]]
    at_s = 5            # seconds after the demo is up
    action = "tap"      # press tap hold release bounce stuck cut fix   (need input; an
    device = "rom-102"  # announcing input, such as a reception's "evacuate", is one too)
    input = "desk"
    [[step]]
    at_s = 8
    action = "noise"    # door pir tamper silence (need value), sound (db), pendant (pendant,
    device = "rom-102"  # battery?), battery (pendant, battery), noise (bytes?), badcrc,
    bytes = 64          # truncate, oversize, unplug, replug
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from configfile import ConfigProblem, load_settings, locate
from firmware_sim.actions import PIN_ACTIONS, board_action, pin_action
from firmware_sim.config import DemoSettings, Id, InputName, PendantId
from firmware_sim.errors import SimError

Action = Literal[
    "press",
    "tap",
    "hold",
    "release",
    "bounce",
    "stuck",
    "cut",
    "fix",
    "door",
    "pir",
    "tamper",
    "silence",
    "sound",
    "pendant",
    "battery",
    "noise",
    "badcrc",
    "truncate",
    "oversize",
    "unplug",
    "replug",
]
Switch = Annotated[str, StringConstraints(pattern=r"^(on|off|open|closed)$")]

_NEEDS: dict[str, tuple[str, ...]] = {
    **{action: ("input",) for action in PIN_ACTIONS},
    "door": ("value",),
    "pir": ("value",),
    "tamper": ("value",),
    "silence": ("value",),
    "sound": ("db",),
    "pendant": ("pendant",),
    "battery": ("pendant", "battery"),
}
_MAY: dict[str, tuple[str, ...]] = {
    "press": ("hold_s",),
    "tap": ("hold_s",),
    "pendant": ("battery",),
    "noise": ("bytes",),
}
_VALUES = {"door": ("open", "closed"), "pir": ("on", "off"), "tamper": ("on", "off")}
_VALUES["silence"] = ("on", "off")
_OPTIONAL = ("input", "value", "db", "pendant", "battery", "bytes", "hold_s")
#: How long a step may wait for its device's socket (an edge still starting).
REACH_S = 15.0


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_s: float = Field(ge=0, le=86400)
    action: Action
    device: Id
    input: InputName | None = None
    value: Switch | None = None
    db: int | None = Field(default=None, ge=0, le=150)
    pendant: PendantId | None = None
    battery: int | None = Field(default=None, ge=0, le=100)
    bytes: int | None = Field(default=None, ge=1, le=4096)
    hold_s: float | None = Field(default=None, gt=0, le=60)

    @model_validator(mode="after")
    def _fields_fit_the_action(self) -> Step:
        needs = _NEEDS.get(self.action, ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"action {self.action!r} needs {', '.join(missing)}")
        allowed = needs + _MAY.get(self.action, ())
        extra = [n for n in _OPTIONAL if n not in allowed and getattr(self, n) is not None]
        if extra:
            raise ValueError(f"action {self.action!r} takes no {', '.join(extra)}")
        if self.action in _VALUES and self.value not in _VALUES[self.action]:
            choices = " or ".join(_VALUES[self.action])
            raise ValueError(f"action {self.action!r} takes value {choices}")
        return self

    def describe(self) -> str:
        extras = [f"{n}={getattr(self, n)}" for n in _OPTIONAL if n != "input" and getattr(self, n)]
        return " ".join([self.action, self.device, self.input or "", *extras]).replace("  ", " ")


class Scenario(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRYGG_SIM_SCENARIO_", extra="forbid")

    description: str = Field(default="", max_length=500)
    step: list[Step] = Field(min_length=1)


def load_scenario(path: Path) -> Scenario:
    return load_settings(Scenario, path)


def check_against(scenario: Scenario, path: Path, demo: DemoSettings) -> list[ConfigProblem]:
    """Steps naming devices, inputs or boards the demo does not have, with their lines."""
    text = path.read_text(encoding="utf-8")
    rooms = {room.device: room for _site, room in demo.rooms()}
    problems = []
    for index, step in enumerate(scenario.step):

        def problem(key: str, reason: str, index: int = index) -> ConfigProblem:
            where = ("step", index, key)
            return ConfigProblem(path, locate(text, where), f"step.{index}.{key}", reason)

        room = rooms.get(step.device)
        if room is None:
            problems.append(problem("device", f"the demo has no device {step.device!r}"))
        elif step.input is not None and step.input not in room.inputs:
            known = ", ".join(room.inputs)
            reason = f"{step.device} has no input {step.input!r} (its inputs: {known})"
            problems.append(problem("input", reason))
        elif step.action not in PIN_ACTIONS and room.board is None:
            problems.append(problem("action", f"{step.device} has no sensor board"))
    return problems


def perform(step: Step, workdir: Path) -> dict[str, Any]:
    if step.action in PIN_ACTIONS:
        if step.input is None:  # checked by the model
            raise ValueError(f"{step.action} needs an input")
        return pin_action(workdir, step.device, step.input, step.action, step.hold_s)
    return board_action(
        workdir,
        step.device,
        step.action,
        value=step.value,
        db=step.db,
        id=step.pendant,
        battery=step.battery,
        bytes=step.bytes,
    )


def play(
    scenario: Scenario,
    workdir: Path,
    stop: threading.Event | None = None,
    out: IO[str] = sys.stdout,
) -> int:
    """Run the steps at their times (from now); return how many failed. ``stop`` ends early."""
    stop = stop or threading.Event()
    started = time.monotonic()
    failed = 0
    for step in sorted(scenario.step, key=lambda s: s.at_s):
        if stop.wait(max(0.0, started + step.at_s - time.monotonic())):
            break
        outcome = _attempt(step, workdir, stop)
        failed += outcome.startswith("failed")
        print(f"[scenario t={step.at_s:g}s] {step.describe()}: {outcome}", file=out, flush=True)
    return failed


def _attempt(step: Step, workdir: Path, stop: threading.Event) -> str:
    deadline = time.monotonic() + REACH_S
    while True:
        try:
            reply = perform(step, workdir)
        except SimError as exc:
            # Only an edge that is still starting is worth waiting for; anything else is final.
            if "cannot reach" not in str(exc) or time.monotonic() > deadline:
                return f"failed: {exc}"
            if stop.wait(0.2):
                return "stopped"
            continue
        return f"ignored ({reply['ignored']})" if reply.get("ignored") else "ok"
