"""Central's configuration (TOML, env prefix ``TRYGG_CENTRAL_``), validated before anything runs.

Secrets may come from the environment instead of the file, e.g.
``TRYGG_CENTRAL_MQTT__PASSWORD``. Anything that would make central unsafe to start (an empty
password, a guessable or shared token, a user of a site that does not exist) is refused here.
"""

from __future__ import annotations

import os
import string
from collections import Counter
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
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
from central.core.reports import (
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
)
from central.core.signon import GroupRule, SignOnRules
from central.core.supervision import OpeningHours
from configfile.secrets import placeholder_kind, secret_problem
from configfile.types import TimeZoneName
from protocol.topics import ID_PATTERN

INPUT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"  # protocol.messages.InputName

MIN_TOKEN_LENGTH = 24

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
# An e-mail address as people write one (the SMTP server has the last word on it).
EmailAddress = Annotated[
    str, StringConstraints(pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$", max_length=254)
]


def _refuse_repeats(what: str, values: list[str]) -> None:
    repeated = sorted(v for v, n in Counter(values).items() if n > 1)
    if repeated:
        raise ValueError(f"{what}s must be unique; repeated: {', '.join(repeated)}")


def _refuse_placeholder(value: str, what: str) -> str:
    """A placeholder, repetitive or low-entropy secret is refused (configfile.secrets)."""
    problem = secret_problem(value, what)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_tls(ca: Path | None, cert: Path | None, key: Path | None, insecure: bool) -> None:
    """The MQTT TLS settings make sense together and name files that exist (ValueError)."""
    if insecure:
        raise ValueError(
            "tls_insecure is refused: a broker whose certificate is not checked can be anyone"
        )
    if (cert is None) != (key is None):
        raise ValueError("tls_cert and tls_key go together")
    if cert is not None and ca is None:
        raise ValueError("a client certificate needs tls_ca (the office CA) too")
    for name, path in (("tls_ca", ca), ("tls_cert", cert), ("tls_key", key)):
        if path is not None and not path.is_file():
            raise ValueError(f"{name} {str(path)!r} is not a readable file")


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
    # TLS (docs/security.md, "MQTT: brokers, devices and certificates"): the office CA that
    # signed the broker's certificate, and central's own client certificate and key if the
    # listener requires one. Certificates are always checked: ``tls_insecure`` is refused.
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_insecure: bool = False

    @field_validator("password")
    @classmethod
    def _real_password(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("password is empty")
        return _refuse_placeholder(value, "password")

    @model_validator(mode="after")
    def _tls(self) -> MqttSettings:
        check_tls(self.tls_ca, self.tls_cert, self.tls_key, self.tls_insecure)
        return self


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # HTTPS served by central itself (uvicorn's TLS): a PEM certificate chain and its key.
    # Without them, put a TLS proxy in front (deploy/README.md) and set web.secure_cookies.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # The CA that signed tls_cert, for trygg-central's own commands (round, run-schedule) to
    # check central's certificate with; without it they trust tls_cert's certificate itself.
    tls_ca: Path | None = None
    # Strict-Transport-Security max-age when the site is served over HTTPS (a year).
    hsts_max_age_s: int = Field(default=365 * 24 * 3600, ge=0)

    @model_validator(mode="after")
    def _tls_pair(self) -> HttpSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both, or neither")
        for path in (self.tls_cert, self.tls_key, self.tls_ca):
            if path is not None and not path.is_file():
                raise ValueError(f"TLS file {path} does not exist")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


MIN_SECRET_LENGTH = 32


class WebSettings(_Section):
    """The console. ``secret`` signs CSRF tokens; without one, central makes a random secret
    and keeps it in its database (so sessions and open forms survive a restart)."""

    secret: str | None = Field(default=None, min_length=MIN_SECRET_LENGTH, repr=False)
    # Served over HTTPS (as in production): cookies are Secure and __Host- prefixed, answers
    # carry HSTS. On by itself when [http] has tls_cert; set it behind a TLS proxy.
    secure_cookies: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    language: Literal["nb", "en"] = "nb"
    # Desk tokens made by `trygg-central user token` die after this many days.
    token_days: float = Field(default=180.0, gt=0, le=3 * 365)
    # A phone's credential (POST /api/mobile/credential) dies after this many days: long, so
    # the alarm works the day it is needed, and revocable on the console's accounts page.
    phone_token_days: float = Field(default=365.0, ge=1, le=2 * 365)
    # Failed logins allowed per account and per client address within the window.
    login_failures_per_account: int = Field(default=10, ge=1, le=1000)
    login_failures_per_address: int = Field(default=20, ge=1, le=10_000)
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Desk pairing (central.auth.pairing), counted per client address (IPv6: per /64). An
    # office behind one NAT address shares these, so they are not tight: raise them there.
    pairing_starts_per_address: int = Field(default=20, ge=1, le=10_000)  # per 10 minutes
    pairing_polls_per_address: int = Field(default=300, ge=30, le=100_000)  # per minute
    pairing_open_max: int = Field(default=500, ge=1, le=100_000)  # open pairings, all desks
    pairing_wrong_codes_per_account: int = Field(default=10, ge=1, le=1000)  # per 15 minutes
    pairing_wrong_codes_per_address: int = Field(default=30, ge=1, le=10_000)  # per 15 minutes

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


class TestRoundSettings(_Section):
    """Manual test rounds ([test_rounds]): while one is open, a button's first press is a test
    shown only to the tester, so a round closes by itself after ``max_duration_s``."""

    __test__ = False  # not a pytest class, despite the name
    max_duration_s: float = Field(default=2 * 3600, gt=0, le=24 * 3600)


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
    # Who else is told when nobody answers (central.escalation).
    escalation: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "routines" / "escalation.toml"
    )
    # Evacuation and lockdown (central.core.announcements), shown full screen on every desk.
    evacuation: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "routines" / "evacuation.toml"
    )
    # The drill plan (central.drillplan): how often each site drills, and which scenarios.
    drills: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "routines" / "drills.toml"
    )


#: The keys shown in docs/arc.md and sample-central.toml: refused as a real site's ARC key.
ARC_SAMPLE_KEYS = frozenset(
    {"0123456789ABCDEF", "0123456789ABCDEF0123456789ABCDEF", "DEADBEEFDEADBEEFDEADBEEFDEADBEEF"}
)
ARC_KEY_LENGTHS = {"hex": (32, 48, 64), "text": (16, 24, 32)}


class ArcSettings(_Section):
    """A site's alarm receiving centre (SIA DC-09, central.arc; docs/arc.md)."""

    account: str = Field(pattern=r"^[0-9A-Fa-f]{3,16}$")  # given by the ARC
    receivers: tuple[str, ...] = Field(min_length=1, max_length=4)  # "host:port", primary first
    format: Literal["adm-cid", "sia-dcs"] = "adm-cid"
    receiver_number: str | None = Field(default=None, pattern=r"^[0-9A-Fa-f]{1,6}$")  # "R..."
    line: str = Field(default="0", pattern=r"^[0-9A-Fa-f]{1,6}$")  # the line prefix "L..."
    area: int = Field(default=1, ge=0, le=99)  # partition / area number in each event
    # The AES key is never in the file: the name of the environment variable that holds it.
    key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
    # "hex": 32/48/64 hex digits are the key's bytes (DC-09); "text": 16/24/32 hex characters
    # are used as the key's bytes themselves (pysiaalarm, Home Assistant and many panels).
    key_encoding: Literal["hex", "text"] = "hex"
    timeout_s: float = Field(default=10.0, gt=0, le=120)  # connect + answer, per attempt
    attempts: int = Field(default=3, ge=1, le=20)  # per receiver, before the fallback
    retry_delay_s: float = Field(default=2.0, ge=0, le=600)
    pause_s: float = Field(default=30.0, gt=0, le=3600)  # after every receiver failed
    link_test_s: float = Field(default=60.0, ge=1, le=24 * 3600)  # NULL message when idle

    @field_validator("receivers")
    @classmethod
    def _addresses(cls, receivers: tuple[str, ...]) -> tuple[str, ...]:
        for address in receivers:
            host, sep, port = address.rpartition(":")
            if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"receiver {address!r} is not host:port")
        return receivers

    @model_validator(mode="after")
    def _key_set(self) -> ArcSettings:
        self.key()  # a missing or bad key is refused at start, not at the first alarm
        return self

    def key(self) -> bytes | None:
        """The AES key from the environment (None: the account is not encrypted)."""
        if self.key_env is None:
            return None
        value = os.environ.get(self.key_env, "").strip()
        if not value:
            raise ValueError(f"environment variable {self.key_env} (the ARC key) is not set")
        lengths = ARC_KEY_LENGTHS[self.key_encoding]
        if len(value) not in lengths or not all(c in string.hexdigits for c in value):
            raise ValueError(
                f"{self.key_env}: a {self.key_encoding} ARC key is {'/'.join(map(str, lengths))}"
                " hex digits"
            )
        if value.upper() in ARC_SAMPLE_KEYS or len(set(value.upper())) < 6:
            raise ValueError(f"{self.key_env}: the sample key or a guessable one; use the ARC's")
        return bytes.fromhex(value) if self.key_encoding == "hex" else value.encode("ascii")


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
    # The alarm receiving centre (SIA DC-09), if this site has one (docs/arc.md).
    arc: ArcSettings | None = None
    # The sites whose screens an alarm of this one reaches when the escalation routine says
    # "neighbours" (routines/escalation.toml): the nearest colleagues of another office.
    neighbours: tuple[Id, ...] = ()
    # How many days this site's incident reports are kept before they are anonymised
    # (docs/reports.md); None: [reports] retention_days.
    report_retention_days: int | None = Field(
        default=None, ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS
    )

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
    # Where a leader or safety representative is told of a new incident report (docs/reports.md).
    email: EmailAddress | None = None

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


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
ClaimName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_:.-]{0,63}$")]


def _web_url(value: str, what: str) -> str:
    """An https URL, or http on this machine only (a test provider): never a token in clear."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute https:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{what} must not hold a user, a query or a fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"{what} must use https://; plain http:// is only accepted on this machine"
            " (localhost, 127.0.0.1, ::1: a test provider)"
        )
    return value


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class SsoGroupSettings(_Section):
    """One ``[[sso.groups]]``: members of ``group`` (Entra ID: the group's object id) get these
    roles and sites. A group may give roles only or sites only; a person gets the union of
    all their groups (docs/sso.md)."""

    group: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    roles: tuple[Role, ...] = ()
    sites: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _gives_something(self) -> SsoGroupSettings:
        if not self.roles and not self.sites:
            raise ValueError(f"group {self.group!r} gives neither roles nor sites")
        return self

    def rule(self) -> GroupRule:
        return GroupRule(self.group, frozenset(self.roles), frozenset(self.sites))


class SsoSettings(_Section):
    """``[sso]``: sign-in through the organisation's OpenID Connect provider (docs/sso.md).

    The client secret is never in the file: ``client_secret_env`` names the environment
    variable that holds it. The user id comes from ``user_claim`` — ``preferred_username`` by
    default, because it is what people and the audit trail read (Entra ID: the UPN,
    kari.nordmann@nav.no) — and the account is bound to the provider's ``sub`` at its first
    sign-in, so a reassigned name cannot take over the account (central.core.signon)."""

    issuer: str = Field(max_length=500)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret_env: EnvName
    client_secret: str | None = Field(default=None, repr=False)  # refused: see the validator
    user_claim: ClaimName = "preferred_username"
    groups_claim: ClaimName = "groups"
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # Where the provider sends the browser back: this central's public /sso/callback, as
    # registered at the provider. Required: taken from a request's Host header, a forged Host
    # would choose where the provider sends the code.
    redirect_uri: str = Field(max_length=500)
    timeout_s: float = Field(default=10.0, gt=0, le=60)  # each call to the provider
    # An SSO account whose person has not signed in for this many days is stripped (roles,
    # sessions, desk tokens): removal at the provider may never reach central's callback.
    max_idle_days: int = Field(default=10, ge=1, le=90)
    # Requests to /sso/login and /sso/callback one client address (IPv6: one /64) may make per
    # 10 minutes: each may make central call the provider. Generous for an office behind NAT.
    requests_per_address: int = Field(default=200, ge=10, le=100_000)
    groups: tuple[SsoGroupSettings, ...] = Field(min_length=1)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return _web_url(value, "issuer")

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, value: str) -> str:
        return _web_url(value, "redirect_uri")

    @field_validator("client_id")
    @classmethod
    def _real_client(cls, value: str) -> str:
        if placeholder_kind(value) is not None:
            raise ValueError("client_id is a placeholder: the application's id at the provider")
        return value

    @field_validator("client_secret")
    @classmethod
    def _no_secret_here(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "the client secret is never written in the configuration: put it in an"
                " environment variable and name that variable in client_secret_env"
            )
        return value

    @field_validator("client_secret_env")
    @classmethod
    def _secret_set(cls, value: str) -> str:
        sso_secret(value)  # missing, empty or a placeholder: refused at start
        return value

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value or any(not s or " " in s for s in value):
            raise ValueError("scopes must include 'openid' (and be single words)")
        return value

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, groups: tuple[SsoGroupSettings, ...]) -> tuple[SsoGroupSettings, ...]:
        _refuse_repeats("sso group", [g.group for g in groups])
        return groups

    def client_secret_value(self) -> str:
        return sso_secret(self.client_secret_env)

    def rules(self) -> SignOnRules:
        return SignOnRules(self.user_claim, self.groups_claim, tuple(g.rule() for g in self.groups))


def sso_secret(env: str) -> str:
    """The client secret from environment variable ``env``; ValueError when unusable."""
    value = os.environ.get(env, "").strip()
    if not value:
        raise ValueError(f"environment variable {env} (the SSO client secret) is not set")
    problem = secret_problem(value, f"the client secret in {env}")
    if problem is not None:
        raise ValueError(problem)
    return value


class DeviceSettings(_Section):
    """One device of the registry. Its room and floor are where its alarms come from (a
    payload cannot move a device), and its broker account and ACL are generated from it
    (``trygg-central broker-config``), so the broker and central can never disagree."""

    site: Id
    id: Id
    room: Name
    floor: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    inputs: tuple[Annotated[str, StringConstraints(pattern=INPUT_PATTERN)], ...] = ()
    # The broker account; the device id unless two sites share a device id.
    username: UserId | None = None
    # "certificate": the device logs in with a client certificate (identity as username) and
    # gets no password line.
    auth: Literal["password", "certificate"] = "password"
    # What an input of this device may announce (evacuate, lockdown, all_clear), e.g. a
    # reception button; empty: nothing. Its broker ACL gets ``announce/request`` only if set.
    announces: tuple[Literal["evacuate", "lockdown", "all_clear"], ...] = ()
    # The number the site's alarm receiving centre knows this device by (the zone of its
    # events; 901/902 are evacuation/lockdown). Required at a site with [sites.arc], unique
    # there: an explicit number, so adding or reordering devices never moves a room at the ARC.
    arc_zone: int | None = Field(default=None, ge=1, le=899)

    @property
    def mqtt_username(self) -> str:
        return self.username or self.id


def _arc_zones(site: str, devices: list[DeviceSettings]) -> None:
    """At a site with an ARC every device has its own ``arc_zone`` (docs/arc.md)."""
    missing = [d.id for d in devices if d.arc_zone is None]
    if missing:
        raise ValueError(
            f"site {site} has an alarm receiving centre ([sites.arc]): give each of its devices"
            f" the zone number the ARC knows it by (arc_zone = 1-899); missing for"
            f" {', '.join(missing)}"
        )
    _refuse_repeats(f"arc_zone at site {site}", [str(d.arc_zone) for d in devices])


class RegistrySettings(_Section):
    """``[registry]``. Central refuses to start without ``[[devices]]`` (secure by default: a
    device the broker admits cannot then raise alarms anywhere, or name its own room).
    ``open = true`` is the explicit opt-out for a trial: every device the broker lets in is
    trusted and rooms come from payloads; central warns at start and the console says so."""

    open: bool = False


class MapSettings(_Section):
    """``[map]``: the tiles under a phone alarm's position on the console (Leaflet). Without
    ``tile_url`` there is no map: the position shows as coordinates ± accuracy. The tile
    server's host is allowed in the console's Content-Security-Policy (img-src)."""

    # e.g. "https://tile.openstreetmap.org/{z}/{x}/{y}.png" (mind the tile server's policy)
    # The host goes into the pages' Content-Security-Policy: letters, digits, . - : and {s}.
    tile_url: str | None = Field(
        default=None, pattern=r"^https?://[A-Za-z0-9.:{}-]+/\S*$", max_length=500
    )
    attribution: str = Field(default="", max_length=300)


class VisitSettings(_Section):
    """``[visits]``: the lone-work visit timer (central.visiting, docs/mobile.md). Not checked
    out by the visit's end plus its grace, central asks the phone (Web Push) and a colleague's
    desk; ``answer_within_min`` later it raises an assist alarm by itself. ``push_contact``:
    the VAPID ``sub`` claim push services may use to reach the operator (mailto: or https:).
    ``push_allow_private``: also post pushes to loopback/private addresses and over ``http``
    (tests, closed networks; central.push_endpoints says why not by default)."""

    answer_within_min: float = Field(default=5.0, gt=0, le=60)
    push_contact: str = Field(
        default="mailto:trygg@localhost", pattern=r"^(mailto:|https://)\S+$", max_length=200
    )
    push_allow_private: bool = False


class EmailSettings(_Section):
    """``[email]``: the SMTP server that tells leaders and safety representatives of a new
    incident report (central.reports, docs/reports.md). ``security``: ``starttls`` (port 587,
    the default), ``tls`` (implicit TLS, port 465), or ``none`` — only to a server on this
    machine (a local relay), since the login and the notice would cross the network in
    clear. The password is never in the file: ``password_env`` names the environment
    variable holding it. ``console_url``: the console's address as people open it, for the
    link in the e-mail. ``ca_file``: a CA to check the server's certificate with (else the
    system's)."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    from_address: EmailAddress
    console_url: str = Field(max_length=500)
    username: str | None = Field(default=None, min_length=1, max_length=254)
    password_env: EnvName | None = None
    password: str | None = Field(default=None, repr=False)  # refused: see the validator
    ca_file: Path | None = None
    timeout_s: float = Field(default=20.0, gt=0, le=120)
    # Failed sends are tried again: after 5 s, doubling, at most this far apart.
    retry_max_s: float = Field(default=600.0, ge=1, le=24 * 3600)

    @field_validator("password")
    @classmethod
    def _no_password_here(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "the SMTP password is never written in the configuration: put it in an"
                " environment variable and name that variable in password_env"
            )
        return value

    @field_validator("console_url")
    @classmethod
    def _console(cls, value: str) -> str:
        return _web_url(value, "console_url").rstrip("/")

    @model_validator(mode="after")
    def _safe(self) -> EmailSettings:
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError(
                "security = 'none' is only allowed to an SMTP server on this machine (a local"
                " relay): use starttls or tls"
            )
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together: set both, or neither")
        if self.password_env is not None:
            self.password_value()  # unset or a placeholder: refused at start
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {str(self.ca_file)!r} is not a readable file")
        return self

    def password_value(self) -> str | None:
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env, "")
        if not value.strip():
            raise ValueError(
                f"environment variable {self.password_env} (the SMTP password) is not set"
            )
        return _refuse_placeholder(value, f"the SMTP password in {self.password_env}")


class ReportSettings(_Section):
    """``[reports]``: incident reports (docs/reports.md). ``retention_days``: how long a report
    is kept before it is anonymised, unless its site sets ``report_retention_days``; the job
    runs at every start of central and then every ``retention_every_h`` hours."""

    retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS, ge=MIN_RETENTION_DAYS, le=MAX_RETENTION_DAYS
    )
    retention_every_h: float = Field(default=24.0, ge=0.01, le=24 * 7)


OPEN_REGISTRY_NOTICE = (
    "the device registry is open ([registry] open = true): every device the broker admits is"
    " trusted and rooms come from payloads; for trials only (docs/security.md)"
)


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRYGG_CENTRAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    mqtt: MqttSettings
    http: HttpSettings = HttpSettings()
    web: WebSettings = WebSettings()
    store: StoreSettings = StoreSettings()
    test_rounds: TestRoundSettings = TestRoundSettings()
    routines: RoutineSettings = RoutineSettings()
    map: MapSettings = MapSettings()
    visits: VisitSettings = VisitSettings()
    # Incident reports (docs/reports.md): retention, and the SMTP server that tells of them.
    reports: ReportSettings = ReportSettings()
    email: EmailSettings | None = None
    # ``open = true``: run without [[devices]] (trials only). Declared before ``sites`` so
    # that a missing registry is reported at the config's [[sites]] line.
    registry: RegistrySettings = RegistrySettings()
    # The device registry: required unless [registry] open = true (then it must be empty).
    devices: tuple[DeviceSettings, ...] = ()
    sites: tuple[SiteSettings, ...] = Field(min_length=1)
    users: tuple[UserSettings, ...] = ()
    # Single sign-on through the organisation's OpenID Connect provider (docs/sso.md).
    sso: SsoSettings | None = None

    @field_validator("devices")
    @classmethod
    def _consistent_devices(
        cls, devices: tuple[DeviceSettings, ...], info: ValidationInfo
    ) -> tuple[DeviceSettings, ...]:
        _refuse_repeats("device", [f"{d.site}/{d.id}" for d in devices])
        _refuse_repeats("device username", [d.mqtt_username for d in devices])
        mqtt = info.data.get("mqtt")
        if mqtt is not None and any(d.mqtt_username == mqtt.username for d in devices):
            raise ValueError(f"a device may not use central's MQTT username {mqtt.username!r}")
        registry = info.data.get("registry")
        if devices and registry is not None and registry.open:
            raise ValueError(
                "[registry] open = true and [[devices]] contradict each other: with devices"
                " declared, remove open = true"
            )
        return devices

    @model_validator(mode="before")
    @classmethod
    def _secure_cookies_with_tls(cls, data: object) -> object:
        """With central's own TLS, secure cookies are the default (an explicit false stays)."""
        if isinstance(data, dict):
            http, web = data.get("http"), data.get("web")
            web = {} if web is None else web
            tls = isinstance(http, dict) and bool(http.get("tls_cert"))
            if tls and isinstance(web, dict) and "secure_cookies" not in web:
                return {**data, "web": {**web, "secure_cookies": True}}
        return data

    @field_validator("sites")
    @classmethod
    def _unique_sites(
        cls, sites: tuple[SiteSettings, ...], info: ValidationInfo
    ) -> tuple[SiteSettings, ...]:
        _refuse_repeats("site id", [s.id for s in sites])
        known_sites = {s.id for s in sites}
        for site in sites:
            unknown = sorted(n for n in site.neighbours if n not in known_sites or n == site.id)
            if unknown:
                raise ValueError(
                    f"site {site.id}: neighbours names unknown site(s) (or itself):"
                    f" {', '.join(unknown)}"
                )
        if "devices" not in info.data:  # the devices already failed and were reported
            return sites
        devices: tuple[DeviceSettings, ...] = info.data["devices"]
        known = {s.id for s in sites}
        for device in devices:
            if device.site not in known:
                raise ValueError(f"device {device.id} names unknown site {device.site!r}")
        for site in sites:
            if site.arc is not None:
                _arc_zones(site.id, [d for d in devices if d.site == site.id])
        registry = info.data.get("registry")
        if not devices and registry is not None and not registry.open:
            raise ValueError(
                "no device registry: declare each device in a [[devices]] table (site, id,"
                " room), so that only known devices raise alarms, each in its own room;"
                " for a trial only, [registry] open = true trusts every device the broker"
                " admits (docs/security.md)"
            )
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

    @field_validator("sso")
    @classmethod
    def _sso_sites(cls, sso: SsoSettings | None, info: ValidationInfo) -> SsoSettings | None:
        sites = info.data.get("sites")
        if sso is None or sites is None:  # no SSO, or the sites already failed
            return sso
        web = info.data.get("web")
        issuer_host = urlsplit(sso.issuer).hostname or ""
        if web is not None and not web.secure_cookies and not is_loopback(issuer_host):
            raise ValueError(
                "[sso] needs web.secure_cookies = true (the console served over HTTPS): a"
                " session cookie of the organisation's sign-in must never travel in clear"
                " (only a provider on this machine, a test, is accepted without)"
            )
        known = {s.id for s in sites} | {ALL_SITES}
        for number, group in enumerate(sso.groups, start=1):
            unknown = sorted(s for s in group.sites if s not in known)
            if unknown:
                raise ValueError(
                    f"[[sso.groups]] #{number} ({group.group}) names unknown site(s):"
                    f" {', '.join(unknown)}"
                )
        return sso

    def people(self) -> list[Person]:
        return [u.person() for u in self.users]

    def site(self, site_id: str) -> SiteSettings | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def zone(self, site_id: str | None) -> ZoneInfo:
        """The time zone of ``site_id`` (its days and clock times); for none, or a site not
        in the file, the first site's (an office's sites share a country)."""
        site = self.site(site_id) if site_id else None
        chosen = site or (self.sites[0] if self.sites else None)
        return ZoneInfo(chosen.zone if chosen is not None else "Europe/Oslo")

    def report_retention_days(self, site_id: str) -> int:
        """How long ``site_id``'s incident reports are kept (docs/reports.md)."""
        site = self.site(site_id)
        if site is not None and site.report_retention_days is not None:
            return site.report_retention_days
        return self.reports.retention_days
