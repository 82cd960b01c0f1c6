"""``trygg-central user add|passwd|token|role|sites|disable``, ``token list|revoke`` and
``audit verify``: accounts, desk tokens and the audit trail in central's database, for admins.

Works on the SQLite file named by the config, with or without central running (WAL lets both
write; the busy timeout waits out the other writer). Passwords are read from the terminal, or
from stdin with ``--password-stdin`` (scripts); desk tokens are printed once and kept hashed.
A change of roles or sites ends the account's sessions and bumps the credentials version: a
running central closes, within a second or two, the sockets opened under the old ones, and the
desks reconnect under the new ones (``central.auth.service``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlite_utils

from central.audit import log as audit_log
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
    where = actions.add_parser("sites", help="set an account's sites")
    where.add_argument("user_id")
    where.add_argument("--sites", required=True, help="comma-separated site ids, or *")
    disable = actions.add_parser(
        "disable", help="disable an account: no login; its sessions, tokens and sockets end"
    )
    disable.add_argument("user_id")
    for sub in (add, passwd):
        sub.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    for sub in (add, passwd, token, role, where, disable):
        sub.add_argument("--config", required=True, help="central TOML file")


def add_token_arguments(tokens: argparse.ArgumentParser) -> None:
    actions = tokens.add_subparsers(dest="token_action", required=True)
    listing = actions.add_parser("list", help="list desk tokens (ids, never the tokens)")
    listing.add_argument("user_id", nargs="?")
    revoke = actions.add_parser("revoke", help="revoke a desk token by its id")
    revoke.add_argument("token_id")
    for sub in (listing, revoke):
        sub.add_argument("--config", required=True, help="central TOML file")


def add_audit_arguments(audit: argparse.ArgumentParser) -> None:
    actions = audit.add_subparsers(dest="audit_action", required=True)
    verify = actions.add_parser("verify", help="check the audit trail's hash chain")
    verify.add_argument("--config", required=True, help="central TOML file")


@contextmanager
def _immediate(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction that takes the lock first: the audit row's "previous hash" is
    read and its row written with no other writer (central) in between."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (a container): the uid then
        return f"cli:uid{os.getuid()}"


def _roles(text: str) -> frozenset[Role]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in set(Role)]
    if unknown or not names:
        raise AdminError(f"roles must be among {', '.join(Role)}; got {text!r}")
    return frozenset(Role(n) for n in names)


def _sites(text: str, settings: CentralSettings) -> frozenset[str]:
    sites = frozenset(s.strip() for s in text.split(",") if s.strip())
    known = {s.id for s in settings.sites} | {ALL_SITES}
    if not sites or sites - known:
        raise AdminError(f"unknown site(s): {', '.join(sorted(sites - known)) or '(none)'}")
    return sites


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
        if getattr(args, "token_action", None):
            return _tokens(args, settings, db, now)
        if getattr(args, "audit_action", None):
            return _verify(db)
        return _do(args, settings, db, now)
    except WeakPassword as exc:
        raise AdminError(str(exc)) from None
    finally:
        db.close()


def _record(
    db: sqlite_utils.Database, now: datetime, action: str, target: str, detail: str = ""
) -> None:
    audit_log.append(db, audit_log.entry(now, _actor(), action, target, detail))


def _verify(db: sqlite_utils.Database) -> int:
    broken = audit_log.check(db)
    count = db.execute(f"SELECT count(*) FROM {audit_log.TABLE}").fetchone()[0]
    if broken is None:
        print(f"audit trail intact: {count} rows")
        return 0
    print(f"audit trail BROKEN at row {broken.seq}: {broken.reason}", file=sys.stderr)
    return 1


def _tokens(
    args: argparse.Namespace, settings: CentralSettings, db: sqlite_utils.Database, now: datetime
) -> int:
    config_tokens = {
        rows.token_id_of(u.token): u for u in settings.users
    }  # the config file's: listed, revocable by a block
    if args.token_action == "list":  # noqa: S105 (a subcommand's name, not a password)
        blocked = rows.blocks(db)
        print("token_id      user            label          made                       expires")
        for t in rows.tokens(db, args.user_id):
            made, expires = t.created_at[:19], t.expires_at[:19]
            print(f"{t.token_id}  {t.user_id:<15} {t.label:<14} {made}  {expires}")
        for token_id, user in config_tokens.items():
            if args.user_id and user.id != args.user_id:
                continue
            state = "revoked" if f"token:{rows.digest(user.token)}" in blocked else "config file"
            print(f"{token_id}  {user.id:<15} {'(config)':<14} {'-':<19}  {state}")
        return 0
    token_id = args.token_id.strip().lower()
    with _immediate(db):
        users = rows.revoke_token(db, token_id)
        config_user = config_tokens.get(token_id)
        if config_user is not None:
            rows.block(db, f"token:{rows.digest(config_user.token)}", config_user.id, now)
            users.append(config_user.id)
        if not users:
            raise AdminError(f"no token {token_id} (see `trygg-central token list`)")
        _record(db, now, "token_revoked", token_id, f"of {users[0]}")
    print(f"revoked token {token_id} of {users[0]}")
    return 0


def _do(
    args: argparse.Namespace, settings: CentralSettings, db: sqlite_utils.Database, now: datetime
) -> int:
    user_id: str = args.user_id
    found = rows.account(db, user_id)
    if args.user_action == "disable":
        config_user = next((u for u in settings.users if u.id == user_id), None)
        if found is None and config_user is None:
            raise AdminError(f"no account {user_id}")
        with _immediate(db):
            if found is not None:
                rows.disable(db, found, now)
            if config_user is not None:
                rows.block(db, f"user:{user_id}", user_id, now)
            _record(db, now, "user_disabled", user_id)
        print(f"disabled {user_id}")
        return 0
    if args.user_action == "add":
        if found is not None:
            raise AdminError(f"account {user_id} exists")
        if any(u.id == user_id for u in settings.users):
            raise AdminError(f"{user_id} is a user of the config file; choose another id")
        sites = _sites(args.sites, settings)
        hashed = hash_password(_password(args.password_stdin), user_id, args.name)
        roles = _roles(args.roles)
        with _immediate(db):
            rows.save_account(db, rows.Account(user_id, args.name, hashed, roles, sites), now)
            _record(db, now, "account_added", user_id, f"roles={','.join(sorted(roles))}")
        print(f"added {user_id}")
        return 0
    if found is None:
        raise AdminError(f"no account {user_id}")
    if args.user_action == "passwd":
        hashed = hash_password(_password(args.password_stdin), user_id, found.name)
        changed = rows.Account(
            user_id, found.name, hashed, found.roles, found.sites, found.disabled
        )
        with _immediate(db):
            rows.save_account(db, changed, now)
            rows.end_sessions_of(db, user_id)
            rows.end_tokens_of(db, user_id)  # a new password: the desks get new tokens too
            _record(db, now, "password_changed", user_id, "sessions and tokens ended")
        print(f"password of {user_id} changed; its sessions and desk tokens are ended")
    elif args.user_action == "role":
        changed = rows.Account(
            user_id,
            found.name,
            found.password_hash,
            _roles(args.roles),
            found.sites,
            found.disabled,
        )
        with _immediate(db):
            rows.save_account(db, changed, now)  # bumps the credentials version if changed
            rows.end_sessions_of(db, user_id)
            _record(db, now, "roles_changed", user_id, ",".join(sorted(changed.roles)))
        print(f"roles of {user_id}: {', '.join(sorted(changed.roles))}")
    elif args.user_action == "sites":
        sites = _sites(args.sites, settings)
        changed = rows.Account(
            user_id, found.name, found.password_hash, found.roles, sites, found.disabled
        )
        with _immediate(db):
            rows.save_account(db, changed, now)  # bumps the credentials version if changed
            rows.end_sessions_of(db, user_id)  # as for roles: sign in again under the new ones
            _record(db, now, "sites_changed", user_id, ",".join(sorted(sites)))
        print(f"sites of {user_id}: {', '.join(sorted(sites))}")
    else:
        if found.disabled:
            raise AdminError(f"account {user_id} is disabled")
        token = secrets.token_urlsafe(32)
        days = settings.web.token_days
        with _immediate(db):
            token_id = rows.add_token(db, user_id, token, args.label, now, days)
            _record(db, now, "token_issued", token_id, f"for {user_id}, {days:g} days")
        print(f"token {token_id} for {user_id}, valid {days:g} days:", file=sys.stderr)
        print(token)  # stdout: the only time it is shown
    return 0
