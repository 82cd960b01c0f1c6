"""The doctor's broker: name, port, TLS and MQTT login, one stage at a time, so that a refused
login, a certificate from another CA and an unreachable port are told apart.

Each stage is its own small connection: DNS (``getaddrinfo``), TCP (``create_connection``), TLS
(``ssl`` with the office CA, the broker's name checked, the device's certificate if it has one)
and an MQTT 5 CONNECT with the device's credentials (aiomqtt, as the agent's link). The login
has no will, subscribes to nothing, publishes nothing and disconnects cleanly. It asks for a
client id of its own (``trygg-doctor-<device>``), but the broker as shipped replaces every
client id with the username (``use_username_as_clientid``, deploy/mosquitto/trygg.conf): the
doctor's login is then the device's client itself, and made while the agent is connected it
would throw the agent off and fire its will ("offline"; tests/edge/test_doctor.py shows it on
a real Mosquitto). So it is not tried while the agent runs (``agent``: found by its open
outbox, edge.doctor.procs); with the agent stopped, the broker, central and the retained status
see nothing change (the agent's session is a clean one: nothing of it is lost).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiomqtt

from edge.config import EdgeSettings
from edge.core.doctor import BrokerFacts

STAGE_TIMEOUT_S = 5.0
LOGIN_TIMEOUT_S = 10.0
ALERT_WAIT_S = 0.3  # TLS 1.3: a refused client certificate shows as an alert after the handshake
# X509 verify codes (OpenSSL) the doctor names on their own.
EXPIRED, NOT_YET_VALID, HOSTNAME_MISMATCH = 10, 9, 62
BAD_CREDENTIALS, NOT_AUTHORIZED = 134, 135  # MQTT 5 CONNACK reason codes
V311_CREDENTIALS, V311_NOT_AUTHORIZED = 4, 5


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def probe_broker(settings: EdgeSettings, agent: tuple[str, ...]) -> BrokerFacts:
    m = settings.mqtt
    facts = BrokerFacts(
        host=m.host,
        port=m.port,
        username=settings.mqtt_username,
        tls=m.tls_ca is not None,
        client_cert=m.tls_cert is not None,
        loopback=_loopback(m.host),
        agent_running=agent,
    )
    facts = await _dns(facts)
    if facts.dns_error is not None:
        return facts
    facts = await asyncio.to_thread(_tcp, facts)
    if not facts.tcp_reached:
        return facts
    if facts.tls:
        facts = await asyncio.to_thread(_tls, facts, settings)
        if not facts.tls_done:
            return facts
    if agent:
        return facts
    return await _login(facts, settings)


def _replace(facts: BrokerFacts, **changes: Any) -> BrokerFacts:
    return replace(facts, **changes)


async def _dns(facts: BrokerFacts) -> BrokerFacts:
    try:
        ipaddress.ip_address(facts.host)
    except ValueError:
        pass
    else:
        return _replace(facts, literal=True, addresses=(facts.host,))
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(STAGE_TIMEOUT_S):
            infos = await loop.getaddrinfo(facts.host, facts.port, type=socket.SOCK_STREAM)
    except TimeoutError:
        return _replace(facts, dns_error=f"no answer in {STAGE_TIMEOUT_S:g} s")
    except OSError as exc:
        return _replace(facts, dns_error=str(exc.strerror or exc))
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    return _replace(facts, addresses=addresses)


def _tcp(facts: BrokerFacts) -> BrokerFacts:
    try:
        with socket.create_connection((facts.host, facts.port), timeout=STAGE_TIMEOUT_S):
            return _replace(facts, tcp_reached=True)
    except ConnectionRefusedError as exc:
        kind, error = "refused", exc.strerror or str(exc)
    except TimeoutError:
        kind, error = "timeout", f"no answer in {STAGE_TIMEOUT_S:g} s"
    except OSError as exc:
        unreachable = exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL)
        kind, error = ("unreachable" if unreachable else "other"), str(exc.strerror or exc)
    return _replace(facts, tcp_reached=False, tcp_error_kind=kind, tcp_error=error)


def _context(settings: EdgeSettings) -> ssl.SSLContext:
    m = settings.mqtt
    context = ssl.create_default_context(cafile=str(m.tls_ca))
    if m.tls_cert is not None:
        context.load_cert_chain(str(m.tls_cert), str(m.tls_key) if m.tls_key else None)
    return context


def _tls(facts: BrokerFacts, settings: EdgeSettings) -> BrokerFacts:
    try:
        context = _context(settings)
    except (ssl.SSLError, OSError) as exc:
        error = f"cannot load tls_ca/tls_cert/tls_key: {exc}"
        return _replace(facts, tls_done=False, tls_error_kind="other", tls_error=error)
    try:
        with (
            socket.create_connection((facts.host, facts.port), timeout=STAGE_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=facts.host) as tls,
        ):
            version, cert = tls.version(), tls.getpeercert()
            if facts.client_cert:
                _await_refusal(tls)
    except ssl.SSLCertVerificationError as exc:
        kinds = {EXPIRED: "expired", NOT_YET_VALID: "not-yet-valid", HOSTNAME_MISMATCH: "hostname"}
        error = str(exc.verify_message or exc)
        kind = kinds.get(exc.verify_code, "untrusted")
        return _replace(facts, tls_done=False, tls_error_kind=kind, tls_error=error)
    except ssl.SSLError as exc:
        text = str(exc)
        if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
            kind = "not-tls"
        elif "ALERT" in text.upper() and facts.client_cert:
            kind = "client-refused"
        else:
            kind = "refused"
        return _replace(facts, tls_done=False, tls_error_kind=kind, tls_error=exc.reason or text)
    except (ConnectionError, TimeoutError, OSError) as exc:
        error = str(exc.strerror or exc) if isinstance(exc, OSError) else str(exc)
        return _replace(facts, tls_done=False, tls_error_kind="refused", tls_error=error)
    not_after = None
    if cert and "notAfter" in cert:
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    return _replace(facts, tls_done=True, tls_version=version, cert_not_after=not_after)


def _await_refusal(tls: ssl.SSLSocket) -> None:
    """With TLS 1.3 the broker judges the client certificate after the client has finished its
    handshake: its refusal (an alert) is read next. Silence for a moment is acceptance (the
    broker waits for CONNECT)."""
    tls.settimeout(ALERT_WAIT_S)
    try:
        tls.recv(1)
    except TimeoutError:
        return


async def _login(facts: BrokerFacts, settings: EdgeSettings) -> BrokerFacts:
    m = settings.mqtt
    client = aiomqtt.Client(
        m.host,
        m.port,
        username=settings.mqtt_username,
        password=m.password.get_secret_value() if m.password else None,
        # Its own id where a broker keeps ids; the shipped broker makes it the username.
        identifier=f"trygg-doctor-{settings.device}",
        protocol=aiomqtt.ProtocolVersion.V5,
        tls_params=(
            aiomqtt.TLSParameters(
                ca_certs=str(m.tls_ca),
                certfile=str(m.tls_cert) if m.tls_cert else None,
                keyfile=str(m.tls_key) if m.tls_key else None,
            )
            if m.tls_ca
            else None
        ),
        keepalive=max(m.keepalive_s, 5),
        timeout=LOGIN_TIMEOUT_S,
    )
    try:
        async with asyncio.timeout(LOGIN_TIMEOUT_S + 2), client:
            pass
    except aiomqtt.MqttCodeError as exc:
        code = _code(exc.rc)
        kind = {
            BAD_CREDENTIALS: "credentials",
            V311_CREDENTIALS: "credentials",
            NOT_AUTHORIZED: "not-authorized",
            V311_NOT_AUTHORIZED: "not-authorized",
        }.get(code if code is not None else -1, "other")
        return _replace(
            facts, login_done=False, login_error_kind=kind, login_error=str(exc), reason_code=code
        )
    except (aiomqtt.MqttError, TimeoutError) as exc:
        text = str(exc) or type(exc).__name__
        if "ALERT" in text.upper() or "CERTIFICATE" in text.upper():
            kind = "certificate"
        elif "timed out" in text or isinstance(exc, TimeoutError):
            kind = "timeout"
        else:
            kind = "closed" if "closed" in text.lower() or "disconnect" in text.lower() else "other"
        return _replace(facts, login_done=False, login_error_kind=kind, login_error=text)
    return _replace(facts, login_done=True)


def _code(rc: object) -> int | None:
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else None
