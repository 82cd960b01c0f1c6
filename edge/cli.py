"""``trygg-edge``: run the agent, or check a configuration file.

    trygg-edge --config /etc/trygg/edge.toml
    trygg-edge validate-config /etc/trygg/edge.toml
    trygg-edge doctor --config /etc/trygg/edge.toml [--json] [--env-file /etc/trygg/edge.env]

Logs go to stderr, one line per event; stdout stays free for machine-readable output.
Exit status 2 means the configuration was refused (each problem printed as
``file:line: [where] reason``). ``doctor`` checks an installation before its first alarm
(edge.doctor): one line per check on stdout, exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from configfile import ConfigError, load_settings, report, validate_file
from edge.config import EdgeSettings
from edge.errors import EdgeError
from trygg_systemd.envfile import parse_env_file

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
    _env_file_option(check)
    doctor = commands.add_parser(
        "doctor",
        help="check pins, serial port, broker, clock and outbox before the first alarm "
        "(0 ready, 1 a check failed, 2 config refused)",
        description="Check this device's installation: config, GPIO pin factory and pins, "
        "the sensor board's serial port, the broker (DNS, TCP, TLS, MQTT login), the clock "
        "and the outbox. Changes nothing and sends no alarm; stop the agent first for the "
        "full check (it holds the pins, the port and the broker session).",
    )
    doctor.add_argument(
        "--config", dest="doctor_config", metavar="FILE", help="edge configuration (TOML)"
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.add_argument(
        "--expect-pins",
        metavar="FACTORY",
        help="the gpiozero pin factory this device must use (default: lgpio on a Raspberry Pi)",
    )
    doctor.add_argument(
        "--time-peer",
        metavar="HOST[:PORT]",
        default="broker",
        help="an NTP server to compare the clock with ('broker': the broker's host, the "
        "default; 'none': no comparison)",
    )
    doctor.add_argument(
        "--serial-listen",
        metavar="SECONDS",
        type=float,
        default=2.5,
        help="how long to listen for the sensor board's frames (default 2.5)",
    )
    _env_file_option(doctor)
    return parser


def _env_file_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--env-file",
        metavar="FILE",
        help="first take the environment from FILE as systemd's EnvironmentFile= reads it "
        "(KEY=VALUE, quotes, no $ expansion), as the service gets it; '-': from stdin",
    )


def _load_env_file(name: str | None) -> str | None:
    """Put the variables of ``name`` (systemd's rules) into this process's environment, where
    the settings are read from; a problem is returned as a line to print."""
    if name is None:
        return None
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"trygg-edge: cannot read the environment file {name}: {exc}"
    os.environ.update(parse_env_file(text))
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command in ("validate-config", "doctor"):
        unread = _load_env_file(args.env_file)
        if unread is not None:
            print(unread, file=sys.stderr)
            return EXIT_CONFIG
    if args.command == "validate-config":
        return _validate(args.file)
    if args.command == "doctor":
        config = args.doctor_config or args.config
        if not config:
            parser.error("doctor needs --config FILE")
        return _doctor(args, config)
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


def _doctor(args: argparse.Namespace, config: str) -> int:
    from edge.core import doctor as judge  # the doctor's I/O is only needed to run it
    from edge.doctor import Options, diagnose

    peer = None if args.time_peer == "none" else args.time_peer
    options = Options(
        Path(config),
        expect_pins=args.expect_pins,
        time_peer=peer,
        serial_listen_s=args.serial_listen,
    )
    verdicts = asyncio.run(diagnose(options))
    if args.json:
        print(json.dumps(judge.as_json(verdicts), ensure_ascii=False, indent=2))
    else:
        plain = not _can_print("✓✗–")
        for verdict in verdicts:
            print(judge.line(verdict, ascii_only=plain))
        print(judge.summary(verdicts, ascii_only=plain))
    if any(v.check == "config" and v.status is judge.Status.FAIL for v in verdicts):
        return EXIT_CONFIG
    return EXIT_FAILURE if judge.failed(verdicts) else 0


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


async def _run(settings: EdgeSettings) -> None:
    from edge.agent import EdgeAgent  # the I/O stack is only needed to run, not to validate
    from edge.agent.watchdog import Supervised

    # READY=1, the watchdog and STOPPING=1 for systemd (Type=notify), when it asks.
    supervised = Supervised(EdgeAgent(settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, supervised.stop)
    await supervised.run()


if __name__ == "__main__":
    raise SystemExit(main())
