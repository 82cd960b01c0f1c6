"""``trygg-desk``: the colleague's client. The window client by default; ``--headless`` for JSON
lines; ``silent-alarm`` and ``focus-alarm`` poke a running window client (bind them to keys where
no global hotkey can be grabbed, e.g. on Wayland)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from configfile import ConfigError, load_settings, report, validate_file
from desktop.config import DeskSettings
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
        help="no window: JSON lines on stdout, commands on stdin",
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
    commands.add_parser(
        "silent-alarm",
        help="start the silent alarm's countdown in the running window client (exit 0 if it did)",
    )
    commands.add_parser(
        "focus-alarm", help="give the newest alarm window of the running client the keyboard"
    )
    connect = commands.add_parser(
        "connect",
        help="pair this desk with central: shows a code to approve on the console's /connect"
        " page, then keeps the desk's credential in a file only you can read",
    )
    connect.add_argument("url", metavar="URL", help="central's address, e.g. https://trygg.example")
    connect.add_argument("--credential", metavar="FILE", help="where to keep the credential")
    connect.add_argument("--label", help="the desk's name shown on the console (its host name)")
    connect.add_argument("--language", choices=("nb", "en"), default="nb")
    connect.add_argument("--ca", metavar="FILE", help="the office CA, if central's is not trusted")
    # SUPPRESS: `trygg-desk --config FILE connect URL` works too (the option before it).
    connect.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="the desk TOML to write"
    )
    autostart = commands.add_parser(
        "autostart",
        help="start the window client at login (on: with --config FILE), stop that (off), "
        "or say whether it does (status)",
    )
    autostart.add_argument("action", choices=("on", "off", "status"))
    # SUPPRESS: `trygg-desk --config FILE autostart on` works too (the option before it).
    autostart.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="the desk TOML file"
    )
    return parser


def validate_config(path: str) -> int:
    return report(validate_file(DeskSettings, path), path)


def _connect(args: argparse.Namespace) -> int:
    from desktop.config import Language
    from desktop.pairing import connect

    return connect(
        args.url,
        credential=Path(args.credential) if args.credential else None,
        config=Path(args.config) if args.config else None,
        label=args.label,
        language=Language(args.language),
        ca=args.ca,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "validate-config":
        return validate_config(args.file)
    if args.command == "connect":
        return _connect(args)
    if args.command == "autostart":
        from desktop.autostart import run_autostart

        return run_autostart(args.action, args.config)
    if args.command in ("silent-alarm", "focus-alarm"):
        from desktop.gui.run import trigger

        if trigger(args.command):
            return 0
        print("trygg-desk: no running window client answered", file=sys.stderr)
        return 1
    if args.config is None:
        parser.error("--config FILE is required (or: trygg-desk validate-config FILE)")
    if args.ack_all and not args.headless:
        parser.error("--ack-all works only with --headless")
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
    if not args.headless:
        # Imported here: the headless client needs no Qt, and starts faster without it.
        from desktop.gui.run import run_window

        return run_window(settings)
    try:
        return asyncio.run(run_headless(settings, ack_all=args.ack_all))
    except KeyboardInterrupt:  # before the signal handlers were in place
        return 130
