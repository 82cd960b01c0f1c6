"""``trygg-central user add|passwd|token|role``: accounts in central's database, for admins.

Works on the SQLite file named by the config, with or without central running (WAL lets both
write; the busy timeout waits out the other writer). Passwords are read from the terminal, or
from stdin with ``--password-stdin`` (scripts); desk tokens are printed once and kept hashed.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sqlite3
import sys
from datetime import UTC, datetime

import sqlite_utils

from central.auth.passwords import WeakPassword, hash_password
from central.config import CentralSettings
from central.core import ALL_SITES, Role
from central.errors import CentralError
from central.store import accounts as rows
from central.store.sqlite import create_schema


class AdminError(CentralError):
    """An account request that cannot be done; the message says why."""


def add_arguments(users: argparse.ArgumentParser) -> None:
    actions = users.add_subparsers(dest="user_action", required=True)
    add = actions.add_parser("add", help="add a console account")
    add.add_argument("user_id")
    add.add_argument("--name", required=True)
    add.add_argument("--roles", required=True, help=f"comma-separated: {', '.join(Role)}")
    add.add_argument("--sites", default=ALL_SITES, help="comma-separated site ids, or *")
    passwd = actions.add_parser("passwd", help="set an account's password")
    passwd.add_argument("user_id")
    token = actions.add_parser("token", help="issue a desk token for an account (printed once)")
    token.add_argument("user_id")
    token.add_argument("--label", default="desk")
    role = actions.add_parser("role", help="set an account's roles")
    role.add_argument("user_id")
    role.add_argument("--roles", required=True)
    for sub in (add, passwd):
        sub.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    for sub in (add, passwd, token, role):
        sub.add_argument("--config", required=True, help="central TOML file")


def _roles(text: str) -> frozenset[Role]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in set(Role)]
    if unknown or not names:
        raise AdminError(f"roles must be among {', '.join(Role)}; got {text!r}")
    return frozenset(Role(n) for n in names)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise AdminError("the passwords differ")
    return first


def run(args: argparse.Namespace, settings: CentralSettings) -> int:
    now = datetime.now(UTC)
    path = settings.store.path
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    db = sqlite_utils.Database(conn)
    try:
        create_schema(db)
        return _do(args, settings, db, now)
    except WeakPassword as exc:
        raise AdminError(str(exc)) from None
    finally:
        db.close()


def _do(
    args: argparse.Namespace, settings: CentralSettings, db: sqlite_utils.Database, now: datetime
) -> int:
    user_id: str = args.user_id
    found = rows.account(db, user_id)
    if args.user_action == "add":
        if found is not None:
            raise AdminError(f"account {user_id} exists")
        if any(u.id == user_id for u in settings.users):
            raise AdminError(f"{user_id} is a user of the config file; choose another id")
        sites = frozenset(s.strip() for s in args.sites.split(",") if s.strip())
        known = {s.id for s in settings.sites} | {ALL_SITES}
        if not sites or sites - known:
            raise AdminError(f"unknown site(s): {', '.join(sorted(sites - known)) or '(none)'}")
        hashed = hash_password(_password(args.password_stdin))
        with db.atomic():
            rows.save_account(
                db, rows.Account(user_id, args.name, hashed, _roles(args.roles), sites), now
            )
        print(f"added {user_id}")
        return 0
    if found is None:
        raise AdminError(f"no account {user_id}")
    if args.user_action == "passwd":
        hashed = hash_password(_password(args.password_stdin))
        changed = rows.Account(
            user_id, found.name, hashed, found.roles, found.sites, found.disabled
        )
        with db.atomic():
            rows.save_account(db, changed, now)
            rows.end_sessions_of(db, user_id)
        print(f"password of {user_id} changed")
    elif args.user_action == "role":
        changed = rows.Account(
            user_id,
            found.name,
            found.password_hash,
            _roles(args.roles),
            found.sites,
            found.disabled,
        )
        with db.atomic():
            rows.save_account(db, changed, now)
            rows.end_sessions_of(db, user_id)
        print(f"roles of {user_id}: {', '.join(sorted(changed.roles))}")
    else:
        token = secrets.token_urlsafe(32)
        with db.atomic():
            rows.add_token(db, user_id, token, args.label, now)
        print(token)  # stdout: the only time it is shown
    return 0
