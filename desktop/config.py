"""The desk client's settings: which central to talk to, the user's token, and how the window
client behaves (language, the location a silent alarm names, its hotkey, the sound).

Read from TOML with :func:`configfile.load_settings`; ``TRYGG_DESK_TOKEN`` in the environment
overrides the file, so the token need not be written down next to the server address. Better
still, ``credential_file`` names the file ``trygg-desk connect`` wrote (desktop.credential):
the token then never appears in the config at all.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from configfile.secrets import placeholder_kind, secret_problem
from desktop.core.keys import parse_hotkey
from desktop.credential import CredentialError, read_credential
from protocol.messages import AlarmLevel, ShortText
from protocol.topics import SiteId

MIN_TOKEN_LENGTH = 24


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(code: str, message: str) -> PydanticCustomError:
    # A custom error keeps pydantic's "Value error, " prefix out of the message users read.
    return PydanticCustomError(code, message)


class Language(StrEnum):
    NB = "nb"  # Norwegian bokmål, the default
    EN = "en"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocationSettings(_Section):
    """Where this desk is: what a silent alarm raised from it names."""

    site: SiteId
    room: ShortText
    floor: ShortText | None = None


class HotkeySettings(_Section):
    sequence: str = "Ctrl+Shift+F12"  # the silent alarm
    focus_sequence: str = "Ctrl+Shift+F11"  # gives the newest alarm window the keyboard
    level: AlarmLevel = AlarmLevel.ACUTE
    # At least a second to notice and cancel an accidental press; at most ten, or help waits.
    countdown_s: float = Field(default=3.0, ge=1.0, le=10.0)

    @field_validator("sequence", "focus_sequence")
    @classmethod
    def _grabbable(cls, value: str) -> str:
        try:
            return str(parse_hotkey(value))
        except ValueError as exc:
            raise _refuse("bad_hotkey", str(exc)) from None

    @model_validator(mode="after")
    def _two_different_keys(self) -> HotkeySettings:
        if self.sequence == self.focus_sequence:
            raise _refuse("same_hotkey", "sequence and focus_sequence must be different keys")
        return self


class SoundSettings(_Section):
    file: str = ""  # a WAV file; empty = the built-in tone
    enough_responders: int = Field(default=2, ge=1, le=50)

    @field_validator("file")
    @classmethod
    def _wav_file(cls, value: str) -> str:
        if value and not Path(value).expanduser().is_file():
            raise _refuse("no_sound_file", f"{value} is not a file")
        if value and Path(value).suffix.lower() != ".wav":
            raise _refuse("bad_sound_file", "must be a .wav file (or empty for the built-in tone)")
        return value


class DeskSettings(BaseSettings):
    """``server`` is central's websocket URL (``ws://`` or ``wss://``); ``token`` is the user's,
    or ``credential_file`` the file holding it (``trygg-desk connect`` writes one): one of the
    two, not both.

    ``location`` may be left out (the silent alarm is then unavailable, and says why).
    """

    model_config = SettingsConfigDict(
        env_prefix="TRYGG_DESK_", env_nested_delimiter="__", extra="forbid"
    )

    server: str
    # Declared before ``token``: the token's validator reads the file named here.
    credential_file: Path | None = None
    token: SecretStr = Field(default=SecretStr(""), validate_default=True)
    language: Language = Language.NB
    location: LocationSettings | None = None
    hotkey: HotkeySettings = HotkeySettings()
    sound: SoundSettings = SoundSettings()

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
        if parts.scheme == "ws" and not _loopback(parts.hostname):
            # The token and every alarm would cross the network in clear (docs/security.md).
            raise _refuse(
                "insecure_url",
                f"plain ws:// is only for this machine (loopback); use wss://{parts.netloc}"
                f"{parts.path} so the token and alarms are encrypted",
            )
        return value

    @field_validator("credential_file")
    @classmethod
    def _usable_credential(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        try:
            problem = _token_problem(read_credential(path))
        except CredentialError as exc:
            raise _refuse("bad_credential_file", str(exc)) from None
        if problem is not None:
            raise _refuse(
                "bad_credential_file", f"{path} holds no usable token: it {problem.message()}"
            )
        return path

    @field_validator("token")
    @classmethod
    def _real_token(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if "credential_file" not in info.data:  # the file was refused, and that is reported
            return value
        token = value.get_secret_value()
        path: Path | None = info.data["credential_file"]
        if path is not None:
            stored = read_credential(path)
            # The same token again is the file's (settings validated a second time).
            if token and token != stored:
                raise _refuse(
                    "token_and_credential_file",
                    "give either token or credential_file, not both (TRYGG_DESK_TOKEN counts)",
                )
            return SecretStr(stored)
        if not token:
            raise _refuse(
                "no_token",
                "required: token, or credential_file (run `trygg-desk connect <central URL>`)",
            )
        problem = _token_problem(token)
        if problem is not None:
            raise problem
        return value


def _token_problem(token: str) -> PydanticCustomError | None:
    """Why ``token`` cannot be a desk's token, or None."""
    if len(token) < MIN_TOKEN_LENGTH:
        return _refuse(
            "short_token",
            f"must be at least {MIN_TOKEN_LENGTH} characters (it is {len(token)}); "
            "ask the central administrator for your token",
        )
    if any(ch.isspace() for ch in token) or not token.isprintable():
        return _refuse("bad_token", "must not contain spaces or control characters")
    if placeholder_kind(token) is not None:
        return _refuse("placeholder_token", "is a placeholder, not a real token")
    weak = secret_problem(token, "the token")
    if weak is not None:
        return _refuse("weak_token", weak)
    return None
