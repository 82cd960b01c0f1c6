"""The edge agent's settings: one TOML file (see ``sample-edge.toml``), env vars may override.

Cross-field checks (unique input names, one use per GPIO pin) run *while* each button is
validated, not afterwards, so that their errors carry the button's location
(``buttons.1.pin``) and ``validate-config`` can name the line in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from configfile.secrets import placeholder_kind, secret_problem
from protocol import AlarmLevel
from protocol.topics import ID_PATTERN

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
InputName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
RoomName = Annotated[str, StringConstraints(min_length=1, max_length=120)]

# gpiozero pin names: a BCM number, "GPIO17", "BCM17", "BOARD11", "J8:11", "WPI0".
PinSpec = int | Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9:_-]{1,32}$")]

MIN_PASSWORD_LENGTH = 8


def pin_key(pin: int | str) -> str:
    """One spelling per pin so that ``17``, ``"17"``, ``"GPIO17"`` and ``"BCM17"`` collide.

    ``BOARD``/``J8`` header names cannot be mapped without board data; gpiozero still refuses a
    pin that is already in use when the agent starts.
    """
    text = str(pin).strip().upper()
    match = re.fullmatch(r"(?:GPIO|BCM)?(\d+)", text)
    return f"GPIO{int(match.group(1))}" if match else text


class _Seen:
    """Names and pins met so far while one settings object is being validated."""

    def __init__(self) -> None:
        self.inputs: set[str] = set()
        self.pins: dict[str, str] = {}  # pin key -> "desk (led_pin)"


_seen: ContextVar[_Seen | None] = ContextVar("edge_config_seen", default=None)


@contextmanager
def _tracking() -> Iterator[None]:
    token = _seen.set(_Seen())
    try:
        yield
    finally:
        _seen.reset(token)


class MqttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1)  # defaults to the device id
    keepalive_s: int = Field(default=10, ge=2, le=3600)
    # Not in the first contract draft; optional. Reconnect waits double from min to max.
    reconnect_min_s: float = Field(default=0.2, gt=0, le=60)
    reconnect_max_s: float = Field(default=1.0, gt=0, le=300)  # fast heal after a broker restart
    # TLS to the broker (deploy/README.md, "TLS"): the office CA, and this device's client
    # certificate and key when the broker requires one. ``tls_insecure`` is refused.
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_insecure: bool = False
    # The device's broker password; not needed when it logs in with a client certificate
    # (``tls_cert``: the broker takes the certificate's identity as the username). Declared
    # after ``tls_cert`` so that its check sees it.
    password: SecretStr | None = Field(default=None, validate_default=True)

    @model_validator(mode="after")
    def _tls(self) -> MqttSettings:
        if self.tls_insecure:
            raise ValueError(
                "tls_insecure is refused: a broker whose certificate is not checked can be anyone"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        if self.tls_cert is not None and self.tls_ca is None:
            raise ValueError("a client certificate needs tls_ca (the office CA) too")
        for name, path in (
            ("tls_ca", self.tls_ca),
            ("tls_cert", self.tls_cert),
            ("tls_key", self.tls_key),
        ):
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {str(path)!r} is not a readable file")
        return self

    @field_validator("password")
    @classmethod
    def _real_password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("tls_cert") is not None:
                return None  # a client certificate is the device's credential
            raise PydanticCustomError(
                "missing",  # reported as "required value is missing", at [mqtt] password
                "the device's broker password is required, unless it logs in with a client"
                " certificate (tls_cert)",
            )
        secret = value.get_secret_value()
        if not secret.strip():
            raise ValueError("password must not be empty")
        problem = secret_problem(secret, "password")
        if problem is not None and len(secret) >= MIN_PASSWORD_LENGTH:
            raise ValueError(problem)  # placeholder, repetitive or weak: configfile.secrets
        if placeholder_kind(secret) is not None:
            raise ValueError("password is a placeholder; set the device's real password")
        if len(secret) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> MqttSettings:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must not be below reconnect_min_s")
        return self


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path = Path("/var/lib/trygg/edge-outbox.db")


class ButtonConfig(BaseModel):
    """One alarm button (a dry contact to ground, by default) and its optional LED and buzzer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: InputName
    pin: PinSpec
    level: AlarmLevel
    pull_up: bool = True
    bounce_ms: int = Field(default=30, ge=0, le=2000)
    led_pin: PinSpec | None = None
    buzzer_pin: PinSpec | None = None

    @field_validator("input")
    @classmethod
    def _unique_input(cls, value: str) -> str:
        seen = _seen.get()
        if seen is not None:
            if value in seen.inputs:
                raise ValueError(f"input name {value!r} is used by another button")
            seen.inputs.add(value)
        return value

    @field_validator("pin", "led_pin", "buzzer_pin")
    @classmethod
    def _unique_pin(cls, value: int | str | None, info: ValidationInfo) -> int | str | None:
        seen = _seen.get()
        if value is None or seen is None:
            return value
        key = pin_key(value)
        owner = f"{info.data.get('input', '?')} ({info.field_name})"
        if key in seen.pins:
            raise ValueError(f"pin {value!r} is already used by {seen.pins[key]}")
        seen.pins[key] = owner
        return value

    @property
    def bounce(self) -> timedelta:
        return timedelta(milliseconds=self.bounce_ms)


class AnnounceInputConfig(BaseModel):
    """An input that announces for the whole site (e.g. a reception's evacuation button): a
    press asks central for ``kind``; central does it only if the device's registry entry
    allows that kind (``announces``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: InputName
    pin: PinSpec
    kind: Literal["evacuate", "lockdown", "all_clear"]
    pull_up: bool = True
    bounce_ms: int = Field(default=30, ge=0, le=2000)

    @field_validator("input")
    @classmethod
    def _unique_input(cls, value: str) -> str:
        return ButtonConfig._unique_input(value)  # one namespace for every input's name

    @field_validator("pin")
    @classmethod
    def _unique_pin(cls, value: int | str, info: ValidationInfo) -> int | str | None:
        return ButtonConfig._unique_pin(value, info)  # one use per GPIO pin


class AnnounceSettings(BaseModel):
    """``[announce]``: evacuation and lockdown at this device. Optional; the buttons' own
    buzzers sound the announcement's pattern too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buzzer_pin: PinSpec | None = None  # a sounder for evacuation / lockdown alone
    inputs: tuple[AnnounceInputConfig, ...] = ()

    @field_validator("buzzer_pin")
    @classmethod
    def _unique_buzzer(cls, value: int | str | None) -> int | str | None:
        seen = _seen.get()
        if value is None or seen is None:
            return value
        key = pin_key(value)
        if key in seen.pins:
            raise ValueError(f"pin {value!r} is already used by {seen.pins[key]}")
        seen.pins[key] = "announce (buzzer_pin)"
        return value


class SensorBoardSettings(BaseModel):
    """The room's sensor board on a serial line (docs/serial-protocol.md). Optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: str = Field(min_length=1)  # a device path or any pyserial URL (serial_for_url)
    baudrate: int = Field(default=115200, gt=0)
    silence_s: float = Field(default=3.0, gt=0, le=3600)  # no frame this long: a fault
    reopen_s: float = Field(default=1.0, gt=0, le=300)  # retry opening a lost port this often
    pendant_level: AlarmLevel = AlarmLevel.ACUTE
    sound_alarm_db: int | None = Field(default=None, ge=0, le=150)  # None: no sound alarm
    sound_alarm_s: float = Field(default=5.0, ge=0, le=3600)

    @property
    def silence(self) -> timedelta:
        return timedelta(seconds=self.silence_s)

    @property
    def sound_alarm_for(self) -> timedelta:
        return timedelta(seconds=self.sound_alarm_s)


class SelftestSettings(BaseModel):
    """Limits of the device self-test (``selftest/run``); the defaults suit an office."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stuck_after_s: float = Field(default=60.0, gt=0, le=86400)  # held closed longer: stuck
    max_clock_offset_s: float = Field(default=2.0, gt=0, le=3600)
    min_free_mb: int = Field(default=50, ge=0)


class EdgeSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRYGG_EDGE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    site: Id
    device: Id
    room: RoomName
    heartbeat_interval_s: float = Field(default=10.0, gt=0, le=3600)
    resend_interval_s: float = Field(default=5.0, gt=0, le=3600)
    mqtt: MqttSettings
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    buttons: list[ButtonConfig] = Field(min_length=1)
    sensor_board: SensorBoardSettings | None = None  # absent: the room has no sensor board
    # Evacuation / lockdown: a sounder and inputs that announce (absent: the buttons' buzzers).
    announce: AnnounceSettings = Field(default_factory=AnnounceSettings)
    selftest: SelftestSettings = Field(default_factory=SelftestSettings)

    @model_validator(mode="wrap")
    @classmethod
    def _cross_checks(cls, data: Any, handler: Any) -> Any:
        with _tracking():
            return handler(data)

    @property
    def mqtt_username(self) -> str:
        return self.mqtt.username or self.device

    def button(self, input_name: str) -> ButtonConfig:
        for button in self.buttons:
            if button.input == input_name:
                return button
        raise KeyError(input_name)
