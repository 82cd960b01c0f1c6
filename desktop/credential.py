"""The desk's credential file: the token ``trygg-desk connect`` received, readable by its user
only, and where such files live.

Why a file of its own rather than a line in ``desk.toml``: the config is something people
copy, mail to a colleague and paste into tickets; a token must not travel with it. The file
holds the token alone (one line), is written atomically with mode 0600 in a directory of mode
0700, and is refused when anyone but its owner can read it — the same rule ssh applies to a
private key. The file is opened once, without following a symbolic link (``O_NOFOLLOW``),
and the checks are made on what was opened (``fstat``), so nothing can swap the file between
the check and the read. On Windows there are no such mode bits: the file lives in the user's
own ``%LOCALAPPDATA%`` (not the roaming ``%APPDATA%``, which is copied to servers and other
PCs), which only that user (and administrators) can read, and no mode is checked. Not done:
sealing the token with DPAPI (``CryptProtectData``) on Windows.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

CREDENTIAL_NAME = "desk-credential"
CONFIG_NAME = "desk.toml"
MAX_BYTES = 4096


class CredentialError(Exception):
    """A credential file that cannot be used; the message says why, for a person to read."""


def config_dir() -> Path:
    """Where the desk keeps its own files for this user (created by ``write_private``)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "Trygg"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Trygg"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trygg"


def _posix() -> bool:
    return os.name == "posix"


def read_credential(path: Path) -> str:
    """The token in ``path``; CredentialError if it is missing, a link, too open, or not one
    line."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise CredentialError(
            f"{path} does not exist: run `trygg-desk connect <central URL>` to make it"
        ) from None
    except OSError as exc:
        if path.is_symlink():
            raise CredentialError(f"{path} is a symbolic link, not the file itself") from None
        raise CredentialError(f"{path} cannot be read: {exc.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CredentialError(f"{path} is not a file")
        if _posix() and info.st_mode & 0o077:
            raise CredentialError(
                f"{path} can be read by others (mode {stat.S_IMODE(info.st_mode):04o}):"
                f" run `chmod 600 {path}`, and revoke the token if others may have read it"
            )
        if _posix() and hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise CredentialError(f"{path} belongs to another user")
        if info.st_size > MAX_BYTES:
            raise CredentialError(f"{path} is too long to be a desk credential")
        try:
            text = handle.read(MAX_BYTES + 1).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialError(f"{path} cannot be read: {exc}") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise CredentialError(f"{path} must hold the token alone, on one line")
    return lines[0]


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this user only (0600; its directory 0700 if it
    is made here), atomically: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if _posix():
                os.fchmod(handle.fileno(), 0o600)  # before it has its name: never more open
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
