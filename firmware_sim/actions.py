"""What ``trygg-sim`` and scenarios do to a running demo's hardware, through its sockets.

A demo's working directory holds, per room, the edge config ``<device>.toml`` (the source of the
input -> pin mapping: its ``[[buttons]]`` and its ``[[announce.inputs]]``, such as a reception's
evacuation button, which are worked alike), the pins' control socket ``<device>.sock`` and,
with a sensor board, ``<device>.board.sock`` and the board's port ``<device>.tty``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from firmware_sim.board_commands import board_socket
from firmware_sim.control import request
from firmware_sim.errors import SimError

PIN_ACTIONS = ("press", "tap", "hold", "release", "bounce", "stuck", "cut", "fix")


def known_devices(workdir: Path) -> list[str]:
    return sorted(p.stem for p in workdir.glob("*.sock") if not p.name.endswith(".board.sock"))


def device_config(workdir: Path, device: str) -> dict[str, Any]:
    """The edge config the demo wrote for ``device`` (read as data; no edge code involved)."""
    try:
        return tomllib.loads((workdir / f"{device}.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        known = ", ".join(known_devices(workdir)) or "none"
        raise SimError(
            f"no simulated device {device!r} in {workdir} (running devices: {known})"
        ) from None


def _buttons(workdir: Path, device: str) -> list[dict[str, Any]]:
    """Every input of the device: its alarm buttons, then its announcing inputs."""
    config = device_config(workdir, device)
    return [*config.get("buttons", []), *config.get("announce", {}).get("inputs", [])]


def pin_of(workdir: Path, device: str, input_name: str) -> int | str:
    buttons = _buttons(workdir, device)
    for button in buttons:
        if button.get("input") == input_name:
            pin: int | str = button["pin"]
            return pin
    inputs = ", ".join(str(b.get("input")) for b in buttons) or "none"
    raise SimError(f"device {device!r} has no input {input_name!r} (its inputs: {inputs})")


def pin_action(
    workdir: Path, device: str, input_name: str, action: str, hold_s: float | None = None
) -> dict[str, Any]:
    """``press``/``tap``/``hold``/... on one input (see :mod:`firmware_sim.pins`)."""
    if action not in PIN_ACTIONS:
        raise SimError(f"unknown input action {action!r}; known: {', '.join(PIN_ACTIONS)}")
    fields: dict[str, Any] = {"cmd": action, "pin": pin_of(workdir, device, input_name)}
    if hold_s is not None:
        fields["hold_s"] = hold_s
    return request(workdir / f"{device}.sock", **fields)


def board_action(workdir: Path, device: str, cmd: str, **params: Any) -> dict[str, Any]:
    """One board command (see :mod:`firmware_sim.board_commands`)."""
    device_config(workdir, device)  # a clear error for an unknown device
    path = board_socket(workdir, device)
    if not path.exists():
        raise SimError(f"device {device!r} has no simulated sensor board")
    return request(path, cmd=cmd, **{k: v for k, v in params.items() if v is not None})


def outputs(workdir: Path, device: str) -> dict[str, dict[str, Any]]:
    """Per input: its contact, LED and buzzer as seen on the pins, named as in the config."""
    buttons = _buttons(workdir, device)
    pins = request(workdir / f"{device}.sock", cmd="outputs")["pins"]

    def pin(spec: object) -> dict[str, Any] | None:
        for name in (str(spec), f"GPIO{spec}"):
            if name in pins:
                return dict(pins[name])
        return None

    result: dict[str, dict[str, Any]] = {}
    for button in buttons:
        entry: dict[str, Any] = {"button": pin(button["pin"])}
        for part in ("led", "buzzer"):
            if f"{part}_pin" in button:
                entry[part] = pin(button[f"{part}_pin"])
        result[str(button["input"])] = entry
    sounder = device_config(workdir, device).get("announce", {}).get("buzzer_pin")
    if sounder is not None:  # the [announce] sounder of its own (evacuation, lockdown)
        result["announce"] = {"buzzer": pin(sounder)}
    return result
