"""``trygg-sim``: simulated hardware for the demo, CI and tests."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path

from configfile import ConfigError, load_settings, validate_file
from firmware_sim.config import DEFAULT_DEMO, DemoSettings
from firmware_sim.control import request
from firmware_sim.errors import SimError

DEFAULT_WORKDIR = Path(os.environ.get("TRYGG_SIM_WORKDIR", f"/tmp/trygg-sim-{os.getuid()}"))


def _pin_of(workdir: Path, device: str, input_name: str) -> int:
    """The pin of ``input_name`` read from the device's config file (data, not edge code)."""
    config = workdir / f"{device}.toml"
    try:
        data = tomllib.loads(config.read_text())
    except OSError:
        raise SimError(f"no simulated device {device!r} in {workdir}") from None
    for button in data.get("buttons", []):
        if button.get("input") == input_name:
            return int(button["pin"])
    raise SimError(f"device {device!r} has no input {input_name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trygg-sim", description=__doc__)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where the demo keeps configs, sockets and logs ({DEFAULT_WORKDIR})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run broker, central, simulated edges and desks")
    demo.add_argument("--config", type=Path, help="the office to simulate (TOML)")
    check = sub.add_parser("validate-config", help="check a demo config file")
    check.add_argument("file", type=Path)
    for action in ("press", "release", "tap", "bounce"):
        p = sub.add_parser(action, help=f"{action} an input of a running simulated device")
        p.add_argument("device")
        p.add_argument("input")
    outputs = sub.add_parser("outputs", help="read back a simulated device's LEDs and buzzers")
    outputs.add_argument("device")
    args = parser.parse_args(argv)

    try:
        if args.command == "validate-config":
            problems = validate_file(DemoSettings, args.file)
            for problem in problems:
                print(problem, file=sys.stderr)
            if not problems:
                print(f"{args.file}: ok")
            return 2 if problems else 0
        if args.command == "demo":
            from firmware_sim.demo import run_demo

            settings = load_settings(DemoSettings, args.config) if args.config else DEFAULT_DEMO
            return run_demo(settings, args.workdir)
        socket_path = args.workdir / f"{args.device}.sock"
        if args.command == "outputs":
            print(json.dumps(request(socket_path, cmd="outputs")["pins"], indent=2))
            return 0
        pin = _pin_of(args.workdir, args.device, args.input)
        request(socket_path, cmd=args.command, pin=pin)
        print(f"{args.command}: {args.device} {args.input} (pin {pin})")
        return 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SimError as exc:
        print(f"trygg-sim: {exc}", file=sys.stderr)
        return 2
