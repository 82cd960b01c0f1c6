"""The desk client's settings: which central to talk to, and the user's token.

Read from TOML with :func:`configfile.load_settings`; ``TRYGG_DESK_TOKEN`` in the environment
overrides the file, so the token need not be written down next to the server address.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import SecretStr, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_TOKEN_LENGTH = 24

# Words that only appear in tokens somebody forgot to replace. Compared after lower-casing and
# dropping everything but letters and digits, so "Change-Me", "<your token>" and "…" all match.
_PLACEHOLDER_WORDS = (
    "changeme",
    "replaceme",
    "placeholder",
    "yourtoken",
    "tokenhere",
    "example",
    "secret",
    "password",
    "fixme",
    "xxxx",
)


def _refuse(code: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic's "Value error, " prefix out of the message users read.
    return PydanticCustomError(code, message)


def _looks_like_placeholder(token: str) -> bool:
    squashed = re.sub(r"[^a-z0-9]", "", token.lower())
    if not squashed or len(set(squashed)) <= 2:
        return True  # "…", "************************", "abababab…": nobody's real token
    return any(word in squashed for word in _PLACEHOLDER_WORDS)


class DeskSettings(BaseSettings):
    """``server`` is central's websocket URL (``ws://`` or ``wss://``); ``token`` is the user's."""

    model_config = SettingsConfigDict(
        env_prefix="TRYGG_DESK_", env_nested_delimiter="__", extra="forbid"
    )

    server: str
    token: SecretStr

    @field_validator("server")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            port = parts.port  # raises on a port that is not a number or out of range
        except ValueError as exc:
            raise _refuse("bad_url", f"not a valid URL: {exc}") from None
        if parts.scheme not in ("ws", "wss"):
            raise _refuse("bad_url", "must be a ws:// or wss:// URL, e.g. wss://central.example/ws")
        if not parts.hostname:
            raise _refuse("bad_url", "the URL names no host")
        if port == 0:
            raise _refuse("bad_url", "port 0 is not a port one can connect to")
        if parts.username or parts.password:
            raise _refuse("bad_url", "put the token in `token`, not in the URL")
        return value

    @field_validator("token")
    @classmethod
    def _real_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if len(token) < MIN_TOKEN_LENGTH:
            raise _refuse(
                "short_token",
                f"must be at least {MIN_TOKEN_LENGTH} characters (it is {len(token)}); "
                "ask the central administrator for your token",
            )
        if any(ch.isspace() for ch in token) or not token.isprintable():
            raise _refuse("bad_token", "must not contain spaces or control characters")
        if _looks_like_placeholder(token):
            raise _refuse("placeholder_token", "is a placeholder, not a real token")
        return value
