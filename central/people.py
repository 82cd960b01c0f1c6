"""Everyone central knows, once: the config file's users and the database's accounts, merged by
one rule for every part that names or tells people (the incident reports' e-mail, the training
register and the routines' readers).

Why the config file wins when both hold the same id: it is how a credential is resolved too
(``central.auth.service.Auth.by_token`` asks the config's directory first), and the CLI refuses
to add an account under a config user's id, so such an account is a leftover from before the
user was put in the file — the file is the operator's word now. Left out: an account that is
disabled, and a config user disabled by ``trygg-central user disable`` (its ``user:<id>``
block): neither can sign in, so neither is told or listed.
"""

from __future__ import annotations

from collections.abc import Iterable

from central.config import CentralSettings
from central.core import Person
from central.store import Store
from central.store import accounts as account_rows


def merged(
    config: Iterable[Person], accounts: Iterable[account_rows.Account], blocks: set[str]
) -> list[Person]:
    """The config's people (but those blocked), then the enabled accounts of other ids."""
    found: dict[str, Person] = {p.user_id: p for p in config if f"user:{p.user_id}" not in blocks}
    taken = {p.user_id for p in config}
    for account in accounts:
        if not account.disabled and account.user_id not in taken:
            found[account.user_id] = account.person()
    return list(found.values())


async def everyone(settings: CentralSettings, store: Store) -> list[Person]:
    """Everyone who can sign in now (see :func:`merged`), read from the store each time."""
    accounts: list[account_rows.Account] = await store.read(account_rows.accounts)
    blocks: set[str] = await store.read(account_rows.blocks)
    return merged(settings.people(), accounts, blocks)
