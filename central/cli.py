"""``trygg-central``: run central, or check a configuration file."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from central.app import create_app
from central.config import CentralSettings
from central.push.wire import FramesProtocol
from central.routines import load_alarm_response
from configfile import ConfigError, load_settings

log = logging.getLogger("central")


def server_config(settings: CentralSettings) -> uvicorn.Config:
    """How central is served: one worker (the alarm book lives in this process), the
    fan-out websocket protocol, no access log (screens and health checks would flood it)."""
    return uvicorn.Config(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        ws=FramesProtocol,
        ws_per_message_deflate=False,  # prepared frames are written uncompressed
        lifespan="on",
        access_log=False,
        log_config=None,
        workers=1,
    )


def _load(path: Path) -> CentralSettings:
    """Settings and the routines they name, both validated (ConfigError lists every problem)."""
    settings = load_settings(CentralSettings, path)
    load_alarm_response(settings.routines.alarm_response)
    return settings


def _run(path: Path) -> int:
    try:
        settings = _load(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    log.info("serving http://%s:%d", settings.http.host, settings.http.port)
    server = uvicorn.Server(server_config(settings))
    server.run()
    return 0 if server.started else 3  # 3: could not start (store, port), as uvicorn says


def _validate(path: Path) -> int:
    try:
        _load(path)
        problems = []
    except ConfigError as exc:
        problems = exc.problems
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    print(f"{path}: ok")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="trygg-central",
        description="Trygg central: MQTT ingest, alarm lifecycle, screens' websocket, API.",
    )
    parser.add_argument("--config", type=Path, help="central TOML file (see sample-central.toml)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    commands = parser.add_subparsers(dest="command")
    check = commands.add_parser("validate-config", help="check a config file and exit")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "validate-config":
        return _validate(args.file)
    if args.config is None:
        parser.error("--config FILE is required to run central")
    return _run(args.config)


if __name__ == "__main__":
    sys.exit(main())
