"""Central's configuration (TOML, env prefix ``TRYGG_CENTRAL_``), validated before anything runs.

Secrets may come from the environment instead of the file, e.g.
``TRYGG_CENTRAL_MQTT__PASSWORD``. Anything that would make central unsafe to start (an empty
password, a guessable or shared token, a user of a site that does not exist) is refused here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from central.core import ALL_SITES, Person, Role
from central.core.supervision import OpeningHours
from configfile.secrets import Placeholder, placeholder_kind
from configfile.types import TimeZoneName
from protocol.topics import ID_PATTERN

MIN_TOKEN_LENGTH = 24

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]


def _refuse_repeats(what: str, values: list[str]) -> None:
    repeated = sorted(v for v, n in Counter(values).items() if n > 1)
    if repeated:
        raise ValueError(f"{what}s must be unique; repeated: {', '.join(repeated)}")


def _refuse_placeholder(value: str, what: str) -> str:
    kind = placeholder_kind(value)
    if kind is Placeholder.PLACEHOLDER:
        raise ValueError(f"{what} is a placeholder; set a real one")
    if kind is Placeholder.REPETITIVE:
        raise ValueError(f"{what} is too repetitive to be a real secret")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str = Field(default="central", min_length=1)
    password: str = Field(min_length=1, repr=False)
    client_id: str = Field(default="trygg-central", min_length=1, max_length=64)
    # How long the broker keeps central's session (and queues QoS 1 alarms) while it is away.
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=60)
    keepalive_s: int = Field(default=10, ge=1, le=600)

    @field_validator("password")
    @classmethod
    def _real_password(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("password is empty")
        return _refuse_placeholder(value, "password")


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


MIN_SECRET_LENGTH = 32


class WebSettings(_Section):
    """The console. ``secret`` signs CSRF tokens; without one, central makes a random secret
    and keeps it in its database (so sessions and open forms survive a restart)."""

    secret: str | None = Field(default=None, min_length=MIN_SECRET_LENGTH, repr=False)
    # Behind TLS (as in production) the cookie is sent over HTTPS only.
    secure_cookies: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    language: Literal["nb", "en"] = "nb"

    @field_validator("secret")
    @classmethod
    def _real_secret(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("secret is empty")
        return _refuse_placeholder(value, "secret")


class Area(_Section):
    """A rectangle on a site's floor plan, in the plan's own units (metres, say)."""

    id: Id
    name: Name
    x: float = Field(ge=0)
    y: float = Field(ge=0)
    w: float = Field(gt=0)
    h: float = Field(gt=0)


class ZoneSettings(Area):
    pass


class RoomSettings(Area):
    zone: Id | None = None
    # The devices in the room: an alarm from one of them lights the room up.
    devices: tuple[Id, ...] = ()
    # The security measures in place (3.6), shown to every employee.
    measures: tuple[Annotated[str, StringConstraints(min_length=1, max_length=300)], ...] = ()


class StoreSettings(_Section):
    path: Path = Path("var/central.db")


class RoutineSettings(_Section):
    # Default: the routines shipped in the repository; an office points this at its own.
    alarm_response: Path = Field(
        default_factory=lambda: (
            Path(__file__).resolve().parents[1] / "routines" / "alarm-response.toml"
        )
    )
    self_tests: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "routines" / "self-tests.toml"
    )


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SiteSettings(_Section):
    id: Id
    name: Name
    zone: TimeZoneName = "Europe/Oslo"
    # While open, a site with no screen connected is a fault: an alarm would reach nobody.
    opening_hours: str | None = Field(default=None, examples=["08:00-16:00"])
    opening_days: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    # The user whose screen gets this site's end-to-end test alarms (a headless desk is fine).
    test_screen: UserId | None = None
    # The floor plan: its size, zones and rooms (rectangles) for the console's alarm board.
    width: float = Field(default=40.0, gt=0, le=10_000)
    height: float = Field(default=20.0, gt=0, le=10_000)
    zones: tuple[ZoneSettings, ...] = ()
    rooms: tuple[RoomSettings, ...] = ()

    @model_validator(mode="after")
    def _plan_fits(self) -> SiteSettings:
        _refuse_repeats("zone id", [z.id for z in self.zones])
        _refuse_repeats("room id", [r.id for r in self.rooms])
        _refuse_repeats("room device", [d for r in self.rooms for d in r.devices])
        zones = {z.id for z in self.zones}
        for area in (*self.zones, *self.rooms):
            if area.x + area.w > self.width or area.y + area.h > self.height:
                raise ValueError(
                    f"{area.id} does not fit on the plan ({self.width} x {self.height})"
                )
        for room in self.rooms:
            if room.zone is not None and room.zone not in zones:
                raise ValueError(f"room {room.id} names unknown zone {room.zone!r}")
        return self

    def room_of(self, device: str, room_name: str) -> RoomSettings | None:
        """The room an alarm comes from: by its device, else by the room's name."""
        for room in self.rooms:
            if device in room.devices:
                return room
        return next((r for r in self.rooms if r.name == room_name), None)

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            OpeningHours.parse(value, ZoneInfo("UTC"))  # ValueError says what is wrong
        return value

    def hours(self) -> OpeningHours | None:
        if self.opening_hours is None:
            return None
        days = [WEEKDAYS.index(d) for d in self.opening_days]
        return OpeningHours.parse(self.opening_hours, ZoneInfo(self.zone), days)


class UserSettings(_Section):
    id: UserId
    name: Name
    token: str = Field(min_length=MIN_TOKEN_LENGTH, repr=False)
    sites: tuple[str, ...] = Field(min_length=1)
    roles: tuple[Role, ...] = (Role.RESPONDER,)

    @field_validator("token")
    @classmethod
    def _real_token(cls, value: str) -> str:
        return _refuse_placeholder(value, "token")

    def person(self) -> Person:
        return Person(
            user_id=self.id,
            name=self.name,
            token=self.token,
            sites=frozenset(self.sites),
            roles=frozenset(self.roles),
        )


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRYGG_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mqtt: MqttSettings
    http: HttpSettings = HttpSettings()
    web: WebSettings = WebSettings()
    store: StoreSettings = StoreSettings()
    routines: RoutineSettings = RoutineSettings()
    sites: tuple[SiteSettings, ...] = Field(min_length=1)
    users: tuple[UserSettings, ...] = ()

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: tuple[SiteSettings, ...]) -> tuple[SiteSettings, ...]:
        _refuse_repeats("site id", [s.id for s in sites])
        return sites

    @field_validator("users")
    @classmethod
    def _consistent_users(
        cls, users: tuple[UserSettings, ...], info: ValidationInfo
    ) -> tuple[UserSettings, ...]:
        _refuse_repeats("user id", [u.id for u in users])
        tokens = Counter(u.token for u in users)
        shared = sorted(u.id for u in users if tokens[u.token] > 1)
        if shared:
            raise ValueError(f"users {', '.join(shared)} share a token; each needs their own")
        sites = info.data.get("sites")
        if sites is not None:  # else the sites already failed and were reported
            known = {s.id for s in sites}
            for user in users:
                unknown = sorted(s for s in user.sites if s != ALL_SITES and s not in known)
                if unknown:
                    raise ValueError(f"user {user.id} names unknown site(s): {', '.join(unknown)}")
            by_id = {u.id: u for u in users}
            for site in sites:
                if site.test_screen is None:
                    continue
                screen = by_id.get(site.test_screen)
                if screen is None:
                    raise ValueError(
                        f"site {site.id}: test_screen {site.test_screen!r} is not a user"
                    )
                if ALL_SITES not in screen.sites and site.id not in screen.sites:
                    raise ValueError(
                        f"site {site.id}: test_screen {screen.id!r} is not a user of that site"
                    )
        return users

    def people(self) -> list[Person]:
        return [u.person() for u in self.users]

    def site(self, site_id: str) -> SiteSettings | None:
        return next((s for s in self.sites if s.id == site_id), None)
