"""Everyone central knows (central.people.merged): one rule for the reports' e-mail, the
training register and the routines' readers — the config file wins an id both hold; a
disabled account and a blocked config user are nobody."""

from __future__ import annotations

from central.core import Person, Role
from central.people import merged
from central.store.accounts import Account

OSLO = "oslo-sentrum"


def config(user: str, *roles: Role) -> Person:
    return Person(user, f"{user.title()} (config)", "t", frozenset({OSLO}), frozenset(roles))


def account(user: str, *roles: Role, disabled: bool = False) -> Account:
    return Account(user, f"{user.title()} (db)", "h", frozenset(roles), frozenset({OSLO}), disabled)


def test_the_config_file_wins_and_the_disabled_are_nobody() -> None:
    found = merged(
        [config("lina", Role.LEADER), config("gone", Role.LEADER), config("vera", Role.SAFETY_REP)],
        [
            account("lina", Role.EMPLOYEE),  # a leftover under a config user's id
            account("vera", Role.EMPLOYEE, disabled=True),
            account("anne", Role.EMPLOYEE),
            account("old", Role.LEADER, disabled=True),
        ],
        {"user:gone"},
    )
    by_id = {p.user_id: p for p in found}
    assert sorted(by_id) == ["anne", "lina", "vera"]
    assert by_id["lina"].roles == {Role.LEADER}  # the file's word, not the leftover's
    assert by_id["lina"].name == "Lina (config)"
    assert by_id["vera"].name == "Vera (config)"  # her own block would remove her, not this
    assert by_id["anne"].name == "Anne (db)"
