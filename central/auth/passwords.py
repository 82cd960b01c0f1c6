"""Password hashing: argon2id through pwdlib, with its recommended parameters; and what a new
password must be: at least 12 characters, not repetitive, not the account's own id or name,
and not one of the 30,000 most common passwords, bare or with digits and symbols around it
(ASVS 6.2.4). That list is the one the
``zxcvbn`` package maintains and ships (``zxcvbn.frequency_lists``, from leaked-password
corpora); nothing is fetched at run time."""

from __future__ import annotations

import re
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from central.errors import CentralError

MIN_PASSWORD_LENGTH = 12
_HASHER = Argon2Hasher()
# Checked against when the user does not exist, so that a wrong name takes as long as a wrong
# password (no way to learn which accounts exist from the time a login takes).
_DUMMY = PasswordHash((_HASHER,)).hash("not-a-password-of-anyone")


class WeakPassword(CentralError):
    """A new password that is too short or too simple; the message says why."""


def hasher() -> PasswordHash:
    return PasswordHash((_HASHER,))


def hash_password(password: str, user_id: str = "", name: str = "") -> str:
    check_strength(password, user_id, name)
    return hasher().hash(password)


def verify(password: str, password_hash: str | None) -> bool:
    """True if ``password`` matches; takes the same time when there is no hash."""
    if not password_hash:
        hasher().verify(password, _DUMMY)
        return False
    try:
        return hasher().verify(password, password_hash)
    except Exception:  # a malformed hash in the database: never a way in
        return False


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def check_strength(password: str, user_id: str = "", name: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 5:
        raise WeakPassword("the password is too repetitive")
    folded = password.strip().lower()
    # "Password2024!!" is "password" with decoration: refused as well.
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", folded)
    if folded in common_passwords() or core in common_passwords():
        raise WeakPassword("that password is on a list of common passwords; choose another")
    own = {w.strip().lower() for w in (user_id, name) if len(w.strip()) >= 3}
    if any(w in folded for w in own):
        raise WeakPassword("the password must not contain the account's id or name")
