"""``trygg-central``: run central, or check a configuration file."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import uvicorn

from central import backups, brokerconfig, reports_cli
from central.app import create_app
from central.auth import admin, redact
from central.config import CentralSettings
from central.drillplan import check_drill_plan
from central.errors import CentralError
from central.escalation import check_escalation
from central.push.wire import FramesProtocol
from central.routines import check_self_tests, load_alarm_response, load_evacuation
from central.watchdog import SupervisedServer
from configfile import ConfigError, ConfigProblem, load_settings, report
from protocol.screen import MAX_FRAME_BYTES

log = logging.getLogger("central")


class CliError(CentralError):
    """A CLI request that could not be done (said on stderr, exit status 1)."""


def server_config(settings: CentralSettings) -> uvicorn.Config:
    """How central is served: one worker (the alarm book lives in this process), the
    fan-out websocket protocol, no access log (screens and health checks would flood it)."""
    redact.install()  # no token from a refused request's URL in any log line
    tls = settings.http
    return uvicorn.Config(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        ssl_certfile=str(tls.tls_cert) if tls.tls_cert else None,
        ssl_keyfile=str(tls.tls_key) if tls.tls_key else None,
        ws=FramesProtocol,
        ws_per_message_deflate=False,  # prepared frames are written uncompressed
        # A screen's frame is at most MAX_FRAME_BYTES characters, so at most 4 bytes each in
        # UTF-8: anything bigger is closed (1009) before it is buffered; the decoder answers
        # the ones in between with an error frame.
        ws_max_size=4 * MAX_FRAME_BYTES,
        lifespan="on",
        access_log=False,
        log_config=None,
        workers=1,
    )


def _load(path: Path) -> CentralSettings:
    """Settings and the routines they name, all validated (ConfigError lists every problem)."""
    settings = load_settings(CentralSettings, path)
    problems: list[ConfigProblem] = []
    try:
        load_alarm_response(settings.routines.alarm_response)
    except ConfigError as exc:
        problems += exc.problems
    try:
        check_self_tests(settings)
    except ConfigError as exc:
        problems += exc.problems
    try:
        check_escalation(settings)
    except ConfigError as exc:
        problems += exc.problems
    try:
        load_evacuation(settings.routines.evacuation)
    except ConfigError as exc:
        problems += exc.problems
    try:
        check_drill_plan(settings)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return settings


def _run(path: Path) -> int:
    try:
        settings = _load(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    scheme = "https" if settings.http.tls else "http"
    log.info("serving %s://%s:%d", scheme, settings.http.host, settings.http.port)
    # READY=1 and the watchdog for systemd (Type=notify), when it asks (central.watchdog).
    server = SupervisedServer(server_config(settings))
    server.run()
    return 0 if server.started else 3  # 3: could not start (store, port), as uvicorn says


def _validate(path: Path) -> int:
    try:
        _load(path)
    except ConfigError as exc:
        return report(exc.problems, path)
    return report([], path)


_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----"
)


def client_tls(settings: CentralSettings) -> ssl.SSLContext | None:
    """How the CLI checks a central that serves HTTPS (``[http] tls_cert``); None: plain HTTP.

    With ``tls_ca``: central's chain must lead to that CA and name the host called. Without
    it: the first certificate of ``tls_cert`` (central's own, not its issuers) is the only one
    trusted, so only a server holding central's key passes, whatever name the certificate
    carries (the CLI calls loopback, which a real certificate rarely names).
    """
    http = settings.http
    if http.tls_cert is None:
        return None
    if http.tls_ca is not None:
        return ssl.create_default_context(cafile=str(http.tls_ca))
    found = _PEM_CERTIFICATE.search(http.tls_cert.read_text(encoding="ascii", errors="replace"))
    if found is None:
        raise CliError(f"no PEM certificate in {http.tls_cert}")
    context = ssl.create_default_context(cadata=found.group(0))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the leaf is the trust anchor
    context.check_hostname = False
    return context


def _api(settings: CentralSettings, token: str, method: str, path: str, body: object = None) -> Any:
    """Call the running central's HTTP API; returns the JSON answer or raises CliError."""
    host = settings.http.host
    if host in ("0.0.0.0", "::"):  # noqa: S104 (a bind-all config is reached on loopback)
        host = "127.0.0.1"
    tls = client_tls(settings)
    scheme = "https" if tls is not None else "http"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{scheme}://{f'[{host}]' if ':' in host else host}:{settings.http.port}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=tls) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise CliError(f"central answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"central at {host}:{settings.http.port} is not reachable: {exc}") from None


def _token(settings: CentralSettings, user: str | None, site: str | None) -> tuple[str, str]:
    """(user, token): TRYGG_CENTRAL_TOKEN, else --user's token from the config, else the first
    facility manager of the site in it."""
    if os.environ.get("TRYGG_CENTRAL_TOKEN"):
        return user or "?", os.environ["TRYGG_CENTRAL_TOKEN"]
    for candidate in settings.users:
        if user is not None and candidate.id != user:
            continue
        person = candidate.person()
        if user is not None or (person.facility_manager and (site is None or person.covers(site))):
            return candidate.id, candidate.token
    raise CliError(
        f"no user {user!r} in the config"
        if user
        else "no facility_manager for that site in "
        "the config; pass --user or set TRYGG_CENTRAL_TOKEN"
    )


def _round(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    _, token = _token(settings, args.user, args.site)
    site = urllib.parse.quote(args.site)
    if args.action == "start":
        answer = _api(settings, token, "POST", "/api/test-rounds", {"site": args.site})
    else:
        rounds = _api(settings, token, "GET", f"/api/test-rounds?site={site}")["rounds"]
        current = [r for r in rounds if r["state"] == "open"]
        if not current:
            raise CliError(f"no open test round at {args.site}")
        round_id = current[0]["round_id"]
        if args.action == "close":
            answer = _api(settings, token, "POST", f"/api/test-rounds/{round_id}/close")
        else:
            answer = _api(settings, token, "GET", f"/api/test-rounds/{round_id}")
    print(json.dumps(answer, ensure_ascii=False))
    return 0


def _run_schedule(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    _, token = _token(settings, args.user, args.site)
    query = urllib.parse.urlencode(
        {k: v for k, v in (("site", args.site), ("device", args.device)) if v}
    )
    path = f"/api/schedules/{urllib.parse.quote(args.schedule)}/run"
    answer = _api(settings, token, "POST", f"{path}?{query}" if query else path)
    print(json.dumps(answer, ensure_ascii=False))
    return 0


def _broker_config(args: argparse.Namespace) -> int:
    try:
        settings = _load(args.config)
        passwords = brokerconfig.find_passwords(settings, args.passwords, os.environ)
        written = brokerconfig.write(brokerconfig.broker_files(settings, passwords), args.out)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except brokerconfig.BrokerConfigError as exc:
        print(f"trygg-central: broker-config: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def _arc_test(args: argparse.Namespace) -> int:
    """Send one 602 test report to each of the site's receivers; print what each answered."""
    from central.arc import SiteLink, arc_test  # only this command needs it

    try:
        settings = _load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    site = settings.site(args.site)
    if site is None or site.arc is None:
        print(f"trygg-central: site {args.site!r} has no [sites.arc] section", file=sys.stderr)
        return 2
    ok, lines = asyncio.run(arc_test(SiteLink.from_settings(site.id, site.arc)))
    for line in lines:
        print(line)
    return 0 if ok else 1


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
    rounds = commands.add_parser(
        "round", help="start, show or close a manual test round (talks to the running central)"
    )
    rounds.add_argument("action", choices=["start", "show", "close"])
    rounds.add_argument("--site", required=True)
    run = commands.add_parser("run-schedule", help="run a self-test schedule now")
    run.add_argument("schedule", help="a schedule id from routines/self-tests.toml")
    run.add_argument("--site")
    run.add_argument("--device")
    for sub in (rounds, run):
        sub.add_argument("--config", type=Path, required=True, help="central TOML file")
        sub.add_argument(
            "--user", help="act as this user (token from the config; or TRYGG_CENTRAL_TOKEN)"
        )
    broker = commands.add_parser(
        "broker-config",
        help="write Mosquitto's password file and ACL from the [[devices]] registry",
    )
    broker.add_argument("--config", type=Path, required=True, help="central TOML file")
    broker.add_argument("--out", type=Path, required=True, help="directory for passwd and acl")
    broker.add_argument(
        "--passwords",
        type=Path,
        help="directory of device password files named by username "
        "(else TRYGG_MQTT_PASSWORD_<USERNAME>)",
    )
    arc = commands.add_parser(
        "arc-test", help="send a test report (602) to a site's alarm receiving centre(s)"
    )
    arc.add_argument("--config", type=Path, required=True, help="central TOML file")
    arc.add_argument("--site", required=True, help="a site with an [sites.arc] section")
    users = commands.add_parser("user", help="console accounts and desk tokens (for admins)")
    admin.add_arguments(users)
    tokens = commands.add_parser("token", help="list or revoke desk tokens (for admins)")
    admin.add_token_arguments(tokens)
    audit = commands.add_parser("audit", help="check the audit trail's hash chain")
    admin.add_audit_arguments(audit)
    backups.add_arguments(commands)  # backup DEST / restore SRC (central.store.backup)
    reports_cli.add_arguments(commands)  # reports purge / email (central.reports_cli)
    args = parser.parse_args(argv)

    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "validate-config":
        return _validate(args.file)
    if args.command in ("round", "run-schedule"):
        try:
            return _round(args) if args.command == "round" else _run_schedule(args)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return 2
        except CliError as exc:
            print(f"trygg-central: {exc}", file=sys.stderr)
            return 1
    plain = {"broker-config": _broker_config, "arc-test": _arc_test}
    if args.command in plain:
        return plain[args.command](args)
    # Commands on central's files, not its API: the config's paths (backups: central.backups).
    on_files = {"user": admin.run, "token": admin.run, "audit": admin.run}
    on_files |= {"backup": backups.run, "restore": backups.run}
    on_files |= {"reports": reports_cli.run}
    if args.command in on_files:
        try:
            return on_files[args.command](args, _load(Path(args.config)))
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            return 2
        except CentralError as exc:
            print(f"trygg-central: {exc}", file=sys.stderr)
            return 1
    if args.config is None:
        parser.error("--config FILE is required to run central")
    return _run(args.config)


if __name__ == "__main__":
    sys.exit(main())
