"""Password hashing: argon2id through pwdlib, with its recommended parameters."""

from __future__ import annotations

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


def hash_password(password: str) -> str:
    check_strength(password)
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


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(set(password)) < 5:
        raise WeakPassword("the password is too repetitive")
