"""``trygg-desk``: the colleague's client. Only the headless mode exists so far."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from configfile import ConfigError, load_settings, validate_file
from desktop.config import DeskSettings
from desktop.errors import WindowNotBuilt
from desktop.headless import run_headless

EXIT_USAGE = 2  # bad configuration, or a mode that cannot run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trygg-desk",
        description=(
            "Trygg's desk client: shows alarms from central and answers them. "
            "With --headless it prints one JSON object per alarm event on stdout "
            '({"event": "active"|"alarm"|"update", ...}) and reads "coming <alarm_id>", '
            '"cant_come <alarm_id>" and "resolve <alarm_id>" lines on stdin. '
            "Logs go to stderr."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="the desk TOML file (server, token)")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no window: JSON lines on stdout, commands on stdin (the window is not built yet)",
    )
    parser.add_argument(
        "--ack-all",
        action="store_true",
        help="answer 'coming' to every new alarm, once each (for test rigs and demos)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "validate-config",
        help="check a config file: prints 'FILE: ok' (exit 0) or each problem (exit 2)",
    )
    check.add_argument("file", metavar="FILE")
    return parser


def validate_config(path: str) -> int:
    problems = validate_file(DeskSettings, path)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    print(f"{path}: ok")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "validate-config":
        return validate_config(args.file)
    if args.config is None:
        parser.error("--config FILE is required (or: trygg-desk validate-config FILE)")
    if not args.headless:
        reason = WindowNotBuilt(
            "the window client (pop-up, sound, tray, hotkey) is not built yet; "
            "run with --headless for the JSON-lines client"
        )
        print(f"trygg-desk: {reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings(DeskSettings, args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="trygg-desk: %(levelname)s: %(message)s",
    )
    logging.getLogger("websockets").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return asyncio.run(run_headless(settings, ack_all=args.ack_all))
    except KeyboardInterrupt:  # before the signal handlers were in place
        return 130
