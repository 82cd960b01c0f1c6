"""``trygg-sim``: simulated hardware for the demo, CI and tests.

Input actions (on a running demo's edge, through its pins' control socket):
  press    close the contact 0.3 s (--hold-s to change), then open it: a person's press
  tap      the same, 0.1 s
  hold     close the contact and keep it closed, until `release`
  release  open the contact
  bounce   a worn contact: a burst of closures a few ms apart, then open
  stuck    fault: contact welded closed; every action but `fix` is ignored
  cut      fault: wire cut, the input reads open; every action but `fix` is ignored
  fix      clear stuck/cut: the input reads open and obeys again

Power (on a running demo's device, through the demo's control socket):
  power-off  cut the device's power: kill -9 of its edge agent. The demo goes on; the device
             shows offline on the console's board and the desks. A press on it while it is
             off is lost at the button (nothing runs to notice it).
  power-on   power it back: its edge starts again on the same config and outbox, and sends
             what the outbox still holds (a press made just before the power cut arrives now).

Exit status: 0 done, 1 a run failed, 2 bad usage, unknown device/input or bad config.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from configfile import ConfigError, load_settings, report, validate_file
from firmware_sim.actions import PIN_ACTIONS, board_action, outputs, pin_action
from firmware_sim.config import DEFAULT_DEMO, DemoSettings
from firmware_sim.errors import SimError
from firmware_sim.power import refuse_if_off

DEFAULT_WORKDIR = Path(
    os.environ.get("TRYGG_SIM_WORKDIR", Path(tempfile.gettempdir()) / f"trygg-sim-{os.getuid()}")
)
_HELP = {
    "press": "press an input (0.3 s) and let go",
    "tap": "a short press (0.1 s)",
    "hold": "press an input and keep it pressed",
    "release": "let go of an input",
    "bounce": "a burst of contact bounces",
    "stuck": "fault: the contact stays closed (until fix)",
    "cut": "fault: the wire is cut, presses do nothing (until fix)",
    "fix": "clear a stuck or cut fault",
}


def _seconds(text: str) -> float:
    """A delay for ``--escalate-after``: more than 0, at most an hour (as in the demo config)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600 seconds")
    return value


def _board_parser(sub: Any) -> None:
    board = sub.add_parser(
        "board",
        help="act on a simulated sensor board",
        description="Work a room's simulated sensor board (serial protocol in "
        "docs/serial-protocol.md). Fault frames each use up a sequence number.",
    )
    board.add_argument("device")
    what = board.add_subparsers(dest="board_cmd", required=True)
    what.add_parser("door", help="door contact").add_argument("value", choices=["open", "closed"])
    what.add_parser("pir", help="presence").add_argument("value", choices=["on", "off"])
    what.add_parser("tamper", help="case open (on) / closed").add_argument(
        "value", choices=["on", "off"]
    )
    what.add_parser("sound", help="sound level in dB(A)").add_argument("db", type=int)
    pendant = what.add_parser("pendant", help="a pendant press")
    pendant.add_argument("id")
    pendant.add_argument("--battery", type=int, help="battery %% reported with the press")
    battery = what.add_parser("battery", help="a pendant's battery report")
    battery.add_argument("id")
    battery.add_argument("battery", type=int)
    noise = what.add_parser("noise", help="random bytes, never '$' (no frame is lost)")
    noise.add_argument("--bytes", type=int, default=32)
    what.add_parser("badcrc", help="a DOOR frame with a wrong checksum")
    what.add_parser("truncate", help="half a DOOR frame, no newline")
    what.add_parser("oversize", help="a 120-byte frame (valid checksum)")
    what.add_parser("silence", help="stop (on) / resume (off) sending").add_argument(
        "value", choices=["on", "off"]
    )
    what.add_parser("unplug", help="close the pty and remove the symlink")
    what.add_parser("replug", help="new pty and symlink; the board reboots")
    what.add_parser("status", help="show the board's state")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trygg-sim", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where the demo keeps configs, sockets and logs ({DEFAULT_WORKDIR})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run broker, central, simulated edges, boards and desks")
    demo.add_argument("--config", type=Path, help="the office to simulate (TOML)")
    demo.add_argument("--scenario", type=Path, help="a timed script to play (TOML)")
    demo.add_argument(
        "--no-boards", action="store_true", help="rooms without sensor boards (no [sensor_board])"
    )
    demo.add_argument(
        "--escalate-after",
        type=_seconds,
        metavar="S",
        help="an alarm nobody answers escalates after S seconds (later stages in proportion); "
        "default: the shipped routine, routines/escalation.toml",
    )
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="start with an empty office; by default a demo run before in the same workdir "
        "is reused (its alarm history kept, the console password reset)",
    )
    check = sub.add_parser("validate-config", help="check a demo config file")
    check.add_argument("file", type=Path)
    check_scenario = sub.add_parser("validate-scenario", help="check a scenario file")
    check_scenario.add_argument("file", type=Path)
    check_scenario.add_argument("--config", type=Path, help="the demo it is for (default built-in)")
    play = sub.add_parser("play", help="play a scenario on a running demo")
    play.add_argument("file", type=Path)
    for action in PIN_ACTIONS:
        p = sub.add_parser(action, help=_HELP[action])
        p.add_argument("device")
        p.add_argument("input")
        if action in ("press", "tap"):
            p.add_argument("--hold-s", type=float, help="how long the contact stays closed")
    for word, text in (
        ("power-off", "cut a device's power (kill -9 of its edge); the demo goes on"),
        ("power-on", "power a device back on (its edge restarts on the same outbox)"),
    ):
        sub.add_parser(word, help=text).add_argument("device")
    out = sub.add_parser("outputs", help="read back a simulated device's LEDs, buzzers, inputs")
    out.add_argument("device")
    _board_parser(sub)
    from firmware_sim.fleet import add_fleet_parser

    add_fleet_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SimError as exc:
        print(f"trygg-sim: {exc}", file=sys.stderr)
        return 2


def _demo_settings(config: Path | None) -> DemoSettings:
    return load_settings(DemoSettings, config) if config else DEFAULT_DEMO


def _demo(args: argparse.Namespace) -> int:
    from firmware_sim.demo import run_demo
    from firmware_sim.scenario import Scenario, check_against, load_scenario

    settings = _demo_settings(args.config)
    if args.no_boards:
        settings = settings.without_boards()
    if args.escalate_after is not None:
        settings = settings.model_copy(update={"escalate_after_s": args.escalate_after})
    scenario: Scenario | None = None
    if args.scenario:
        scenario = load_scenario(args.scenario)
        if problems := check_against(scenario, args.scenario, settings):
            raise ConfigError(problems)
    return run_demo(settings, args.workdir, scenario, fresh=args.fresh)


def _run(args: argparse.Namespace) -> int:
    workdir: Path = args.workdir
    if args.command == "validate-config":
        return report(validate_file(DemoSettings, args.file), args.file)
    if args.command == "validate-scenario":
        from firmware_sim.scenario import check_against, load_scenario

        try:
            loaded = load_scenario(args.file)
        except ConfigError as exc:
            return report(exc.problems, args.file)
        return report(check_against(loaded, args.file, _demo_settings(args.config)), args.file)
    if args.command == "demo":
        return _demo(args)
    if args.command == "play":
        from firmware_sim.scenario import load_scenario, play

        return 1 if play(load_scenario(args.file), workdir) else 0
    if args.command == "fleet":
        from firmware_sim.fleet import run_fleet

        return run_fleet(args)
    if args.command in ("power-off", "power-on"):
        from firmware_sim.power import power

        print(power(workdir, args.device, on=args.command == "power-on"))
        return 0
    if args.command == "outputs":
        print(json.dumps(outputs(workdir, args.device), indent=2))
        return 0
    if args.command == "board":
        params = {k: getattr(args, k, None) for k in ("value", "db", "id", "battery", "bytes")}
        reply = board_action(workdir, args.device, args.board_cmd, **params)
        reply.pop("ok", None)
        print(json.dumps(reply, indent=2))
        return 0
    hold_s = getattr(args, "hold_s", None)
    refuse_if_off(workdir, args.device)
    reply = pin_action(workdir, args.device, args.input, args.command, hold_s)
    note = f" (ignored: the input is {reply['ignored']})" if reply.get("ignored") else ""
    print(f"{args.command}: {args.device} {args.input}{note}")
    return 0
