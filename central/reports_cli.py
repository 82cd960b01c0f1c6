"""``trygg-central reports purge [--dry-run]`` and ``trygg-central reports email USER [ADDRESS]``.

Work on the database named by the config, with or without central running (WAL lets both
write; ``BEGIN IMMEDIATE`` waits out central's writer). ``purge`` is the retention job central
runs on its schedule (``central.store.report_retention.purge``), run now: it prints what it
anonymised per site, or with ``--dry-run`` what it would anonymise (changing nothing but the
run's own record, which the console's retention page lists as a dry run). ``email`` sets (or
with ``--clear`` removes) the address a database account is told of new incident reports at;
a config file's ``[[users]]`` entry has its ``email`` in the file.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, datetime
from uuid import uuid4

import sqlite_utils

from central.audit import log as audit_log
from central.auth.admin import AdminError, _actor, _immediate
from central.config import CentralSettings
from central.store import accounts as account_rows
from central.store import report_retention as retention
from central.store import reports as rows
from central.store.sqlite import create_schema


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reports = commands.add_parser("reports", help="incident reports: retention now, addresses")
    actions = reports.add_subparsers(dest="reports_action", required=True)
    purge = actions.add_parser(
        "purge", help="anonymise reports older than their site's retention now (the job's run)"
    )
    purge.add_argument("--dry-run", action="store_true", help="only say what would be done")
    email = actions.add_parser(
        "email", help="set the e-mail address a database account is told of new reports at"
    )
    email.add_argument("user_id")
    email.add_argument("address", nargs="?")
    email.add_argument("--clear", action="store_true", help="remove the address")
    for sub in (purge, email):
        sub.add_argument("--config", required=True, help="central TOML file")


def run(args: argparse.Namespace, settings: CentralSettings) -> int:
    now = datetime.now(UTC)
    path = settings.store.path
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(sqlite3.connect(path, timeout=30, isolation_level=None))
    try:
        create_schema(db)
        if args.reports_action == "purge":
            return _purge(db, settings, now, args.dry_run)
        return _email(db, settings, now, args)
    finally:
        db.close()


def _purge(
    db: sqlite_utils.Database, settings: CentralSettings, now: datetime, dry_run: bool
) -> int:
    actor = _actor()
    run_id = str(uuid4())
    with _immediate(db):
        done = retention.purge(db, run_id, now, settings.report_retention_days, actor, dry_run)
        detail = f"anonymised={done.anonymised} of {done.checked}" + (
            " (dry run)" if dry_run else ""
        )
        audit_log.append(db, audit_log.entry(now, actor, "reports_retention", run_id, detail))
    if done.anonymised and not dry_run and not retention.forget_freed(db):
        print("the write-ahead log is busy: emptied at the next run", file=sys.stderr)
    verb = "would anonymise" if dry_run else "anonymised"
    for site, counts in sorted(done.detail.items()):
        print(f"{site}: {verb} {counts['anonymised']} (retention {counts['days']} days)")
    print(
        json.dumps({"run_id": run_id, "dry_run": dry_run, verb.replace(" ", "_"): done.anonymised})
    )
    return 0


def _email(
    db: sqlite_utils.Database, settings: CentralSettings, now: datetime, args: argparse.Namespace
) -> int:
    user_id: str = args.user_id
    if any(u.id == user_id for u in settings.users):
        raise AdminError(f"{user_id} is a user of the config file: set email in its [[users]]")
    if account_rows.account(db, user_id) is None:
        raise AdminError(f"no account {user_id}")
    if args.clear == bool(args.address):
        raise AdminError("give an address, or --clear (not both)")
    address = None if args.clear else str(args.address).strip()
    if address is not None and ("@" not in address or any(c.isspace() for c in address)):
        raise AdminError(f"{address!r} is not an e-mail address")
    with _immediate(db):
        rows.set_contact(db, user_id, address, now)
        what = "cleared" if address is None else "set"
        audit_log.append(db, audit_log.entry(now, _actor(), f"report_email_{what}", user_id))
    print(f"e-mail of {user_id} {what}", file=sys.stderr)
    return 0
