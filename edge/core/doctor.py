"""``trygg-edge doctor``'s judgements, without I/O: measured facts in, one verdict per line out.

The doctor is read by a person installing a Raspberry Pi, usually once, with a screwdriver in
the other hand. So every verdict says what was found in plain words and, when something is
wrong, what to do about it; the same verdicts go out as JSON for machines. The shell
(``edge.doctor``) measures — claims pins, opens the serial port, dials the broker, reads the
kernel's clock state — and hands plain facts here; this module decides ok / warn / fail / skip
and words it. Keeping the wording here lets every branch (a refused login, a certificate from
another CA, a full disk, a clock in 1970) be tested exactly, without a Pi.

Only ``fail`` makes the doctor exit non-zero: ``warn`` is worth reading but does not stop an
install (a board that sent no frame yet), ``skip`` says what was not checked and why.
"""

from __future__ import annotations

import errno as errnos
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

#: A clock before this year is certainly wrong: no Trygg release is older. (Bump it with the
#: release year; a Pi without a battery-backed clock boots in 1970 or at its last shutdown.)
RELEASE_YEAR = 2026
#: Pins a Pi's own UART (``/dev/serial0``) runs on: a sensor board there needs them free.
UART_PINS = frozenset({"GPIO14", "GPIO15"})
UART_PORTS = frozenset({"/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0", "/dev/ttyAMA10"})
SIMULATED_FACTORIES = frozenset({"mock", "trygg-sim"})
CERT_RENEW_DAYS = 30  # a broker certificate closer than this to its end is worth a warning
MB = 1024 * 1024
SERVICE = "trygg-edge"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


MARKS = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "–"}
ASCII_MARKS = {Status.OK: "OK  ", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One line of the doctor's answer. ``check`` is a stable id (for ``--json``); ``subject``
    says which pin or host when a check has several; ``todo`` is empty when nothing is to do."""

    check: str
    status: Status
    says: str
    todo: str = ""
    subject: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)


TITLES = {
    "config": "config",
    "pin-factory": "pin factory",
    "pin": "pin",
    "serial": "serial port",
    "broker-dns": "broker name",
    "broker-tcp": "broker port",
    "broker-tls": "broker TLS",
    "broker-login": "broker login",
    "clock": "clock",
    "clock-peer": "clock vs peer",
    "outbox": "outbox",
}


# -- config ----------------------------------------------------------------------------------


def config_ok(path: str, site: str, device: str, inputs: int) -> Verdict:
    return Verdict(
        "config",
        Status.OK,
        f"{path} is valid (site {site}, device {device}, {inputs} inputs)",
        facts={"path": path, "site": site, "device": device},
    )


def config_refused(path: str, problems: Sequence[str]) -> list[Verdict]:
    """One line per problem, each already ``file:line: [where] reason`` (configfile)."""
    todo = f"fix {path} and run the doctor again (`{SERVICE} validate-config {path}`)"
    return [
        Verdict("config", Status.FAIL, problem, todo, facts={"path": path}) for problem in problems
    ]


# -- pins ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactoryFacts:
    """Which pin factory gpiozero gave, and why. ``name`` None: none could be loaded."""

    name: str | None
    chosen_by: str  # "GPIOZERO_PIN_FACTORY=lgpio", "gpiozero's default order", "the caller"
    fallbacks: tuple[str, ...] = ()  # gpiozero's "Falling back from lgpio: ..." reasons
    error: str | None = None
    board_model: str | None = None  # /proc/device-tree/model; None: not a Raspberry Pi
    expected: str | None = None  # what the operator asked for (``--expect-pins``)
    chip: int | None = None  # lgpio: the /dev/gpiochipN it opened (4 on an early Pi 5 kernel)


def expected_factory(board_model: str | None, asked: str | None) -> str | None:
    """The factory this device must use: the operator's word, else lgpio on any Raspberry Pi
    (the only one of gpiozero's that drives a Pi 5's GPIO, and fine on a Pi 4)."""
    if asked:
        return asked
    if board_model and "raspberry pi" in board_model.lower():
        return "lgpio"
    return None


def _is_pi5(model: str | None) -> bool:
    return bool(model) and "raspberry pi 5" in (model or "").lower()


def pin_factory(facts: FactoryFacts) -> Verdict:
    expected = expected_factory(facts.board_model, facts.expected)
    where = facts.board_model or "this machine (not a Raspberry Pi: no device-tree model)"
    data = {
        "factory": facts.name,
        "chosen_by": facts.chosen_by,
        "fallbacks": list(facts.fallbacks),
        "board": facts.board_model,
        "expected": expected,
        "chip": facts.chip,
    }
    if facts.name is None:
        tried = "; ".join(facts.fallbacks)
        says = f"gpiozero could not load a pin factory ({facts.chosen_by}): {facts.error}"
        if tried:
            says += f" [tried: {tried}]"
        return Verdict("pin-factory", Status.FAIL, says, _factory_todo(facts), facts=data)
    chip = f", /dev/gpiochip{facts.chip}" if facts.chip is not None else ""
    says = f"gpiozero uses {facts.name} ({facts.chosen_by}{chip}) on {where}"
    if facts.fallbacks:
        says += f"; fell back past: {'; '.join(facts.fallbacks)}"
    if expected is not None and facts.name != expected:
        todo = (
            f"this device needs {expected}: set GPIOZERO_PIN_FACTORY={expected} "
            "(deploy/pi/install.sh puts it in the service's environment)"
        )
        if facts.name == "rpigpio" and _is_pi5(facts.board_model):
            todo = "RPi.GPIO cannot drive a Pi 5's GPIO (the RP1 chip); " + todo
        if expected == "lgpio":
            todo += (
                "; is lgpio installed in /opt/trygg (`/opt/trygg/bin/python -c 'import lgpio'`)?"
            )
        return Verdict("pin-factory", Status.FAIL, says, todo, facts=data)
    if expected is None and facts.name in SIMULATED_FACTORIES:
        return Verdict(
            "pin-factory",
            Status.WARN,
            says + ": the pins are simulated, nothing wired is read",
            "fine for a trial run; a room needs a Raspberry Pi (or --expect-pins "
            f"{facts.name} to say this is meant)",
            facts=data,
        )
    return Verdict("pin-factory", Status.OK, says, facts=data)


def _factory_todo(facts: FactoryFacts) -> str:
    error = facts.error or ""
    if "lgd-nfy" in error or "Can't set permissions" in error:
        return (
            "lgpio makes its notification pipes (.lgd-nfy*) in the working directory, which "
            "must be writable: run from /var/lib/trygg (the service's WorkingDirectory)"
        )
    if "gpiochip" in error or "ermission" in error:
        return (
            "the GPIO chips (/dev/gpiochip*) belong to group gpio: the agent's user must be in "
            "it (`sudo usermod -aG gpio trygg`, deploy/pi/install.sh does)"
        )
    if facts.board_model is None:
        return (
            "this is not a Raspberry Pi: for a trial run set GPIOZERO_PIN_FACTORY=mock "
            "(or trygg-sim)"
        )
    return (
        "install lgpio into /opt/trygg (deploy/pi/install.sh does) and set "
        "GPIOZERO_PIN_FACTORY=lgpio"
    )


@dataclass(frozen=True, slots=True)
class PinClaim:
    """One configured pin, claimed through gpiozero and released again."""

    owner: str  # "desk button", "desk LED", "announce buzzer"
    spec: str  # as written in the config: "17", "GPIO17", "BOARD11"
    role: str  # "input" | "output"
    gpio: str | None = None  # gpiozero's name for it once resolved ("GPIO17")
    error: str | None = None
    clash_with: str | None = None  # another configured owner of the same GPIO
    closed: bool | None = None  # inputs: the contact reads closed right now
    user: str = ""
    in_gpio_group: bool | None = None


def pin(claim: PinClaim) -> Verdict:
    gpio = claim.gpio or claim.spec
    named = claim.spec.isdigit() or claim.spec == gpio
    owner = claim.owner if named else f"{claim.owner} ({claim.spec})"
    data = {"spec": claim.spec, "gpio": claim.gpio, "owner": claim.owner, "role": claim.role}

    def verdict(status: Status, says: str, todo: str = "") -> Verdict:
        return Verdict("pin", status, says, todo, gpio, data)

    if claim.clash_with is not None:
        return verdict(
            Status.FAIL,
            f"{owner} is the same GPIO as {claim.clash_with}",
            "give each button, LED and buzzer its own GPIO in the config (BCM numbers, "
            "docs/pi.md has the header)",
        )
    if claim.error is not None:
        return verdict(Status.FAIL, f"{owner}: {claim.error}", _pin_todo(claim))
    if claim.role == "input" and claim.closed:
        return verdict(
            Status.FAIL,
            f"{owner} reads pressed right now",
            "if nobody is pressing it: the contact is normally-closed, shorted, or its "
            "pull_up setting does not match the wiring (pull_up = true: contact to ground)",
        )
    if claim.role == "input":
        return verdict(Status.OK, f"{owner}: free, contact open")
    return verdict(Status.OK, f"{owner}: free, left off")


def _pin_todo(claim: PinClaim) -> str:
    text = (claim.error or "").lower()
    if "in use" in text or "busy" in text:
        return (
            f"another program holds it: stop the agent first (`sudo systemctl stop {SERVICE}`), "
            "or free it from a HAT/overlay in /boot/firmware/config.txt"
        )
    if "not a gpio" in text or "not a valid pin" in text or "invalid" in text:
        return "use a GPIO by its BCM number (docs/pi.md has the header's GPIOs)"
    if "permission" in text or "errno 13" in text:
        group = "" if claim.in_gpio_group is not False else f" ({claim.user} is not in it)"
        return (
            f"the GPIO chip belongs to group gpio{group}: `sudo usermod -aG gpio "
            f"{claim.user or 'trygg'}`, then log in again or restart the service"
        )
    return "check the wiring and the pin number against docs/pi.md"


def uart_clash(port: str | None, gpios: Sequence[str]) -> Verdict | None:
    """A sensor board on the Pi's own UART while GPIO14/15 are used as buttons or LEDs."""
    if port is None or port not in UART_PORTS:
        return None
    used = sorted(UART_PINS.intersection(gpios))
    if not used:
        return None
    return Verdict(
        "pin",
        Status.FAIL,
        f"the sensor board is on {port}, the UART on GPIO14/15, but {', '.join(used)} is "
        "configured as a button, LED or buzzer",
        "move that input or output to another GPIO, or the board to a USB serial adapter",
        ", ".join(used),
    )


def pins_busy(pids: Sequence[str]) -> Verdict:
    return Verdict(
        "pin",
        Status.SKIP,
        f"not claimed: the agent is running ({', '.join(pids)}) and holds them",
        f"for the full check stop it (`sudo systemctl stop {SERVICE}`) and run the doctor again",
    )


# -- serial port ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SerialFacts:
    port: str | None  # None: no [sensor_board] in the config
    baudrate: int = 115200
    is_url: bool = False  # a pyserial URL (socket://, rfc2217://): no device node to look at
    exists: bool = True
    candidates: tuple[str, ...] = ()  # /dev/serial/by-id/* seen, for "did you mean"
    holders: tuple[str, ...] = ()  # "1234 trygg-edge --config ..." holding it open
    open_error: str | None = None
    open_errno: int | None = None
    device_group: str | None = None
    user: str = ""
    in_device_group: bool | None = None
    listened_s: float = 0.0
    bytes_read: int = 0
    frames: tuple[str, ...] = ()  # frame types seen, in order ("HB", "DOOR", ...)
    firmware: str | None = None  # from a heartbeat
    drops: Mapping[str, int] = field(default_factory=dict)


def serial(facts: SerialFacts) -> Verdict:
    if facts.port is None:
        return Verdict("serial", Status.SKIP, "no [sensor_board] in the config; nothing to check")
    port = facts.port
    data: dict[str, Any] = {"port": port, "baudrate": facts.baudrate}
    if not facts.exists:
        seen = ", ".join(facts.candidates) if facts.candidates else "none"
        return Verdict(
            "serial",
            Status.FAIL,
            f"{port} does not exist (serial adapters present: {seen})",
            "plug the sensor board in, or set [sensor_board] port to its stable name under "
            "/dev/serial/by-id/",
            port,
            data,
        )
    if facts.holders:
        return Verdict(
            "serial",
            Status.SKIP,
            f"{port} is open in {'; '.join(facts.holders)}: not opened, so as not to take its "
            "frames or reset the board",
            f"for the full check stop the agent (`sudo systemctl stop {SERVICE}`) first",
            port,
            data,
        )
    if facts.open_error is not None:
        return Verdict("serial", Status.FAIL, _open_refused(facts), _open_todo(facts), port, data)
    setting = f"{port} opens at {facts.baudrate} 8N1"
    data |= {"frames": list(facts.frames), "bytes": facts.bytes_read, "drops": dict(facts.drops)}
    if facts.frames:
        kinds = ", ".join(dict.fromkeys(facts.frames))
        firmware = f", firmware {facts.firmware}" if facts.firmware else ""
        return Verdict(
            "serial", Status.OK, f"{setting}; the board talks ({kinds}{firmware})", "", port, data
        )
    if facts.bytes_read:
        drops = ", ".join(f"{n} {reason}" for reason, n in sorted(facts.drops.items()))
        return Verdict(
            "serial",
            Status.WARN,
            f"{setting}; {facts.bytes_read} bytes in {facts.listened_s:g} s but no valid frame"
            + (f" ({drops})" if drops else ""),
            "a board at another baud rate or another protocol: check [sensor_board] baudrate "
            "and docs/serial-protocol.md",
            port,
            data,
        )
    return Verdict(
        "serial",
        Status.WARN,
        f"{setting}; no frame in {facts.listened_s:g} s (a board sends a heartbeat every second)",
        "is the board powered and its cable a data cable? The agent reports it silent until "
        "frames come",
        port,
        data,
    )


def _open_refused(facts: SerialFacts) -> str:
    if facts.open_errno == errnos.EACCES:
        group = f" (group {facts.device_group})" if facts.device_group else ""
        return f"{facts.port}{group} refuses {facts.user or 'this user'}: {facts.open_error}"
    return f"cannot open {facts.port} at {facts.baudrate} 8N1: {facts.open_error}"


def _open_todo(facts: SerialFacts) -> str:
    if facts.open_errno == errnos.EACCES:
        group = facts.device_group or "dialout"
        who = facts.user or "trygg"
        member = "" if facts.in_device_group else f"{who} is not in group {group}: "
        return (
            f"{member}`sudo usermod -aG {group} {who}`, then log in again or restart the "
            "service (serial devices belong to group dialout on Raspberry Pi OS)"
        )
    if facts.open_errno == errnos.EBUSY:
        return (
            "another program has it open exclusively "
            "(ModemManager? `sudo systemctl disable --now ModemManager`)"
        )
    return "check the cable, the adapter and [sensor_board] port/baudrate"


# -- broker ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokerFacts:
    """The four stages, each measured only if the one before passed (None: not reached)."""

    host: str
    port: int
    username: str
    tls: bool  # tls_ca set
    client_cert: bool
    loopback: bool
    # DNS
    literal: bool = False
    addresses: tuple[str, ...] = ()
    dns_error: str | None = None
    # TCP: kind is refused | timeout | unreachable | other
    tcp_reached: bool | None = None
    tcp_error_kind: str | None = None
    tcp_error: str | None = None
    # TLS: kind is untrusted | hostname | expired | not-yet-valid | refused | other
    tls_done: bool | None = None
    tls_error_kind: str | None = None
    tls_error: str | None = None
    tls_version: str | None = None
    cert_not_after: datetime | None = None
    # MQTT CONNECT: kind is credentials | not-authorized | certificate | timeout | closed | other
    login_done: bool | None = None
    login_error_kind: str | None = None
    login_error: str | None = None
    reason_code: int | None = None
    agent_running: tuple[str, ...] = ()


def broker(facts: BrokerFacts, now: datetime) -> list[Verdict]:
    at = f"{facts.host}:{facts.port}"
    stages: tuple[tuple[str, Callable[[], Verdict]], ...] = (
        ("DNS", lambda: _dns(facts)),
        ("TCP", lambda: _tcp(facts, at)),
        ("TLS", lambda: _tls(facts, at, now)),
        ("MQTT", lambda: _login(facts, at)),
    )
    out: list[Verdict] = []
    for index, (stage, judge) in enumerate(stages):
        out.append(judge())
        if out[-1].status is Status.FAIL:
            later = ("broker-dns", "broker-tcp", "broker-tls", "broker-login")[index + 1 :]
            return [*out, *_not_reached(later, stage, at)]
    return out


def _not_reached(checks: Sequence[str], stage: str, at: str) -> list[Verdict]:
    return [Verdict(c, Status.SKIP, f"not tried: {stage} failed", subject=at) for c in checks]


def _dns(facts: BrokerFacts) -> Verdict:
    data = {"host": facts.host, "addresses": list(facts.addresses)}
    if facts.literal:
        return Verdict(
            "broker-dns",
            Status.OK,
            f"{facts.host} is an address; no name to look up",
            subject=facts.host,
            facts=data,
        )
    if facts.dns_error is not None:
        return Verdict(
            "broker-dns",
            Status.FAIL,
            f"cannot look up {facts.host}: {facts.dns_error}",
            "check [mqtt] host, the Pi's DNS (/etc/resolv.conf) or add the server to /etc/hosts",
            facts.host,
            data,
        )
    return Verdict(
        "broker-dns",
        Status.OK,
        f"{facts.host} is {', '.join(facts.addresses)}",
        subject=facts.host,
        facts=data,
    )


def _tcp(facts: BrokerFacts, at: str) -> Verdict:
    if facts.tcp_reached:
        return Verdict("broker-tcp", Status.OK, f"{at} accepts connections", subject=at)
    kind, error = facts.tcp_error_kind, facts.tcp_error
    if kind == "refused":
        says = f"{at} refuses connections: nothing listens there ({error})"
        todo = (
            "is Mosquitto running on the server, and is [mqtt] port right (8883 for TLS, "
            "1883 plain)?"
        )
    elif kind == "timeout":
        says = f"{at} does not answer ({error})"
        todo = "a firewall drops it, or the address is wrong: check [mqtt] host and the network"
    elif kind == "unreachable":
        says = f"{at} is unreachable ({error})"
        todo = "the Pi has no route there: check its network cable/Wi-Fi and address"
    else:
        says = f"cannot connect to {at}: {error}"
        todo = "check [mqtt] host and port, and the network"
    return Verdict("broker-tcp", Status.FAIL, says, todo, at, {"error": error, "kind": kind})


def _tls(facts: BrokerFacts, at: str, now: datetime) -> Verdict:
    if not facts.tls:
        if facts.loopback:
            return Verdict(
                "broker-tls",
                Status.SKIP,
                "plain MQTT on this machine (loopback); no TLS needed",
                subject=at,
            )
        return Verdict(
            "broker-tls",
            Status.WARN,
            "plain MQTT over the network: the device's password and alarms travel unencrypted",
            "use the broker's TLS listener: [mqtt] port = 8883 and tls_ca (deploy/README.md, TLS)",
            at,
        )
    data: dict[str, Any] = {"version": facts.tls_version, "error": facts.tls_error}
    if facts.tls_done:
        says = f"{at} shows a certificate the office CA signed, for {facts.host}"
        if facts.tls_version:
            says += f" ({facts.tls_version})"
        if facts.cert_not_after is not None:
            days = (facts.cert_not_after - now).days
            data["not_after"] = facts.cert_not_after.isoformat()
            says += f"; valid {days} more days"
            if days < CERT_RENEW_DAYS:
                return Verdict(
                    "broker-tls",
                    Status.WARN,
                    says,
                    "renew the broker's certificate before it ends (deploy/README.md, TLS)",
                    at,
                    data,
                )
        return Verdict("broker-tls", Status.OK, says, subject=at, facts=data)
    kind, error = facts.tls_error_kind, facts.tls_error
    todo_ca = (
        "tls_ca must be the office CA that signed the broker's certificate (deploy/README.md, TLS)"
    )
    table = {
        "untrusted": (f"{at}'s certificate is not signed by the CA in tls_ca ({error})", todo_ca),
        "hostname": (
            f"{at}'s certificate is not for the name {facts.host} ({error})",
            "set [mqtt] host to a name the broker's certificate carries (its subjectAltName)",
        ),
        "expired": (
            f"{at}'s certificate has expired, by this Pi's clock ({error})",
            "renew the broker's certificate, or fix this Pi's clock if it is wrong",
        ),
        "not-yet-valid": (
            f"{at}'s certificate is not valid yet, by this Pi's clock ({error})",
            "this Pi's clock is probably behind: see the clock line",
        ),
        "refused": (
            f"{at} ended the TLS handshake ({error})",
            "check that [mqtt] port is the broker's TLS listener (8883) and its log",
        ),
        "not-tls": (
            f"{at} does not speak TLS ({error})",
            "this is a plain MQTT port: use the TLS listener (8883), or drop tls_ca on loopback",
        ),
        "client-refused": (
            f"{at} refused this device's certificate ({error})",
            "tls_cert must be signed by the office CA the broker trusts, with CN = the device's "
            "username, and not revoked (deploy/README.md, TLS)",
        ),
    }
    says, todo = table.get(
        kind or "",
        (f"TLS with {at} failed: {error}", "check tls_ca, tls_cert, tls_key and [mqtt] port"),
    )
    return Verdict("broker-tls", Status.FAIL, says, todo, at, data | {"kind": kind})


def _login(facts: BrokerFacts, at: str) -> Verdict:
    who = f"user {facts.username}" if not facts.client_cert else f"certificate for {facts.username}"
    data = {
        "username": facts.username,
        "reason_code": facts.reason_code,
        "kind": facts.login_error_kind,
    }
    if facts.agent_running:
        return Verdict(
            "broker-login",
            Status.SKIP,
            f"not tried: the agent is running ({', '.join(facts.agent_running)}) with this "
            "account, and a second login would throw it off the broker",
            f"its log says whether it is connected (`journalctl -u {SERVICE}`); for this check "
            f"stop it (`sudo systemctl stop {SERVICE}`)",
            at,
            data,
        )
    if facts.login_done:
        return Verdict(
            "broker-login", Status.OK, f"MQTT 5 CONNECT as {who} accepted", subject=at, facts=data
        )
    kind, error = facts.login_error_kind, facts.login_error
    table = {
        "credentials": (
            f"the broker refused the password of {who} ({error})",
            "[mqtt] password (or TRYGG_EDGE_MQTT__PASSWORD) must be this device's password "
            "from central's registry (`trygg-central broker-config`)",
        ),
        "not-authorized": (
            f"the broker refused the login of {who} ({error}): a wrong password, or an account "
            "it does not know",
            "[mqtt] password (or TRYGG_EDGE_MQTT__PASSWORD) must be this device's password in "
            "central's registry, and the broker's files made from it (`trygg-central "
            "broker-config`, then reload Mosquitto)",
        ),
        "certificate": (
            f"the broker refused this device's certificate ({error})",
            "tls_cert must be signed by the office CA the broker trusts, with CN = the device's "
            "username",
        ),
        "timeout": (
            f"no CONNACK from {at} ({error})",
            "something answers TLS/TCP there but not MQTT: check [mqtt] port",
        ),
        "closed": (
            f"{at} closed the connection during CONNECT ({error})",
            "the broker refused the login without a reason: check its log "
            "(journalctl -u mosquitto)",
        ),
    }
    says, todo = table.get(
        kind or "",
        (f"MQTT CONNECT failed: {error}", "check the broker's log (journalctl -u mosquitto)"),
    )
    return Verdict("broker-login", Status.FAIL, says, todo, at, data)


# -- clock -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockFacts:
    now: datetime
    source: str  # "adjtimex" (what timedatectl's NTPSynchronized reads too)
    synced: bool | None  # None: could not be asked
    max_error_s: float | None = None
    error: str | None = None
    peer: str | None = None  # the NTP peer asked ("host:123"); None: none asked
    peer_offset_s: float | None = None  # peer's time minus ours
    peer_error: str | None = None
    max_offset_s: float = 2.0


def clock(facts: ClockFacts) -> list[Verdict]:
    return [_clock_sync(facts), _clock_peer(facts)]


def _peer_agrees(facts: ClockFacts) -> bool:
    return facts.peer_offset_s is not None and abs(facts.peer_offset_s) <= facts.max_offset_s


def _clock_sync(facts: ClockFacts) -> Verdict:
    now = facts.now.astimezone(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    data = {
        "now": now.isoformat(),
        "source": facts.source,
        "synced": facts.synced,
        "max_error_s": facts.max_error_s,
    }
    if now.year < RELEASE_YEAR:
        return Verdict(
            "clock",
            Status.FAIL,
            f"the clock says {stamp}, before this software was made ({RELEASE_YEAR})",
            "the Pi has no network time yet: check `timedatectl timesync-status` and that UDP "
            "123 (NTP) reaches a time server; alarms would carry this wrong time",
            facts=data,
        )
    if facts.synced:
        error = f", max error {facts.max_error_s:.3f} s" if facts.max_error_s is not None else ""
        return Verdict(
            "clock", Status.OK, f"{stamp}, synchronised ({facts.source}{error})", facts=data
        )
    why = (
        "not synchronised" if facts.synced is False else f"synchronisation unknown ({facts.error})"
    )
    todo = (
        "enable a time daemon (`sudo timedatectl set-ntp true`; chrony or systemd-timesyncd) "
        "and let it reach an NTP server"
    )
    if _peer_agrees(facts):
        return Verdict(
            "clock",
            Status.WARN,
            f"{stamp}, {why} ({facts.source}); it agrees with {facts.peer} for now",
            todo + ": without it the clock drifts",
            facts=data,
        )
    return Verdict("clock", Status.FAIL, f"{stamp}, {why} ({facts.source})", todo, facts=data)


def _clock_peer(facts: ClockFacts) -> Verdict:
    if facts.peer is None:
        return Verdict("clock-peer", Status.SKIP, "no time peer to compare with (--time-peer HOST)")
    data = {"peer": facts.peer, "offset_s": facts.peer_offset_s, "limit_s": facts.max_offset_s}
    if facts.peer_offset_s is None:
        return Verdict(
            "clock-peer",
            Status.SKIP,
            f"{facts.peer} gave no time ({facts.peer_error}); compared with nothing",
            subject=facts.peer,
            facts=data,
        )
    offset = facts.peer_offset_s
    if abs(offset) > facts.max_offset_s:
        direction = "behind" if offset > 0 else "ahead of"
        return Verdict(
            "clock-peer",
            Status.FAIL,
            f"this Pi is {abs(offset):.3f} s {direction} {facts.peer} "
            f"(limit {facts.max_offset_s:g} s, [selftest] max_clock_offset_s)",
            "let the time daemon synchronise (`timedatectl timesync-status`); central's "
            "self-test fails the same way",
            facts.peer,
            data,
        )
    return Verdict(
        "clock-peer",
        Status.OK,
        f"within {abs(offset):.3f} s of {facts.peer}",
        subject=facts.peer,
        facts=data,
    )


# -- outbox ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxFacts:
    path: str
    directory: str
    directory_exists: bool
    creatable: bool = False  # missing, but its nearest existing parent is writable
    write_error: str | None = None  # a file could not be made and removed in the directory
    file_exists: bool = False
    file_writable: bool = True
    free_bytes: int | None = None
    min_free_bytes: int = 50 * MB
    user: str = ""


def outbox(facts: OutboxFacts) -> Verdict:
    data = {
        "path": facts.path,
        "free_bytes": facts.free_bytes,
        "min_free_bytes": facts.min_free_bytes,
    }
    who = facts.user or "this user"
    if not facts.directory_exists and not facts.creatable:
        return Verdict(
            "outbox",
            Status.FAIL,
            f"{facts.directory} does not exist and {who} cannot create it",
            f"`sudo install -d -o {facts.user or 'trygg'} -m 0750 {facts.directory}` "
            "(deploy/pi/install.sh does)",
            facts.path,
            data,
        )
    if facts.free_bytes is None:
        return Verdict(
            "outbox",
            Status.FAIL,
            f"free space on {facts.directory} unknown",
            "check the disk (`df -h`)",
            facts.path,
            data,
        )
    if facts.free_bytes < facts.min_free_bytes:
        return Verdict(
            "outbox",
            Status.FAIL,
            f"{facts.directory}'s disk has {facts.free_bytes / MB:.1f} MB free, below "
            f"{facts.min_free_bytes // MB} MB ([selftest] min_free_mb)",
            "free space (old logs: `sudo journalctl --vacuum-size=50M`) or use a larger SD card",
            facts.path,
            data,
        )
    if facts.write_error is not None:
        return Verdict(
            "outbox",
            Status.FAIL,
            f"{who} cannot write in {facts.directory}: {facts.write_error}",
            "alarms are kept there until central confirms them: make it writable by the "
            "agent's user (a read-only SD card needs replacing)",
            facts.path,
            data,
        )
    if facts.file_exists and not facts.file_writable:
        return Verdict(
            "outbox",
            Status.FAIL,
            f"{facts.path} exists but {who} cannot write it",
            f"`sudo chown {facts.user or 'trygg'} {facts.path}`",
            facts.path,
            data,
        )
    free_mb = facts.free_bytes / MB
    state = "writable" if facts.directory_exists else "will be created"
    return Verdict(
        "outbox",
        Status.OK,
        f"{facts.path}: {state}, {free_mb:.0f} MB free",
        subject=facts.path,
        facts=data,
    )


# -- the answer --------------------------------------------------------------------------------


def failed(verdicts: Sequence[Verdict]) -> bool:
    return any(v.status is Status.FAIL for v in verdicts)


def line(verdict: Verdict, *, ascii_only: bool = False) -> str:
    mark = (ASCII_MARKS if ascii_only else MARKS)[verdict.status]
    title = TITLES.get(verdict.check, verdict.check)
    if verdict.check == "pin":
        title = f"pin {verdict.subject}" if verdict.subject else "pins"
    text = f"{mark} {title}: {verdict.says}"
    if verdict.todo and verdict.status is not Status.OK:
        text += f" {'--' if ascii_only else '—'} do: {verdict.todo}"
    return text


def summary(verdicts: Sequence[Verdict], *, ascii_only: bool = False) -> str:
    counts = {s: sum(1 for v in verdicts if v.status is s) for s in Status}
    if counts[Status.FAIL]:
        mark = ASCII_MARKS[Status.FAIL] if ascii_only else MARKS[Status.FAIL]
        return (
            f"{mark} {counts[Status.FAIL]} of {len(verdicts)} checks failed: fix the lines "
            f"marked {mark.strip()} and run the doctor again before the first alarm"
        )
    mark = ASCII_MARKS[Status.OK] if ascii_only else MARKS[Status.OK]
    text = f"{mark} ready: {counts[Status.OK]} checks passed"
    if counts[Status.WARN]:
        text += f", {counts[Status.WARN]} warnings to read"
    if counts[Status.SKIP]:
        text += f", {counts[Status.SKIP]} not checked"
    return text


def as_json(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    return {
        "ok": not failed(verdicts),
        "checks": [
            {
                "check": v.check,
                "status": v.status.value,
                "subject": v.subject,
                "says": v.says,
                "todo": v.todo,
                "facts": dict(v.facts),
            }
            for v in verdicts
        ],
    }
