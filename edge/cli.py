"""``trygg-edge``: run the agent, or check a configuration file.

    trygg-edge --config /etc/trygg/edge.toml
    trygg-edge validate-config /etc/trygg/edge.toml

Logs go to stderr, one line per event; stdout stays free for machine-readable output.
Exit status 2 means the configuration was refused (each problem printed as
``file:line: [where] reason``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from configfile import ConfigError, load_settings, report, validate_file
from edge.config import EdgeSettings
from edge.errors import EdgeError

EXIT_CONFIG = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trygg-edge",
        description="Trygg edge agent: alarm buttons on a Raspberry Pi, reported over MQTT.",
        epilog="GPIO pins come from gpiozero's pin factory (GPIOZERO_PIN_FACTORY, e.g. lgpio; "
        "'mock' for a dry run). TRYGG_EDGE_MQTT__PASSWORD overrides the file's password.",
    )
    parser.add_argument("--config", metavar="FILE", help="edge configuration (TOML)")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "validate-config", help="check a configuration file and exit (0 ok, 2 problems)"
    )
    check.add_argument("file", metavar="FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "validate-config":
        return _validate(args.file)
    if not args.config:
        parser.error("--config FILE is required to run the agent")
    try:
        settings = load_settings(EdgeSettings, args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    try:
        asyncio.run(_run(settings))
    except EdgeError as exc:
        logging.getLogger("edge").error("cannot run: %s", exc)
        return EXIT_FAILURE
    return 0


def _validate(path: str) -> int:
    return report(validate_file(EdgeSettings, path), path)


async def _run(settings: EdgeSettings) -> None:
    from edge.agent import EdgeAgent  # the I/O stack is only needed to run, not to validate

    agent = EdgeAgent(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, agent.stop)
    await agent.run()


if __name__ == "__main__":
    raise SystemExit(main())
