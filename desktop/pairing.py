"""``trygg-desk connect URL``: pair this desk with central, without copying a token by hand.

Why it is shaped so. The person at the desk should not have to ask an administrator for a
token, nor paste one into a file. So the desk asks central for a pairing (protocol.pairing,
RFC 8628), shows a short code and where to enter it, and polls; the person opens
``<central>/connect`` in the browser, signs in as they always do (their organisation account
or a local one), types the code, sees what they approve and approves. The desk then receives a
desk token of that person — revocable on the console like any other — and keeps it in a
credential file only its user can read (desktop.credential). If there is no desk config yet,
one is written next to it naming ``server`` and ``credential_file``, so the next command is
simply ``trygg-desk --config <that file>``.

The desk prints the ``/connect`` address under the URL the person gave it (known to work from
this PC, whatever central thinks its own address is behind a proxy). Plain ``http``/``ws`` is
refused except on this machine, as for the desk's socket: the code and the token would cross
the network in clear.
"""

from __future__ import annotations

import asyncio
import json
import platform
import ssl
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import ValidationError

from desktop.config import Language, _loopback
from desktop.credential import CONFIG_NAME, CREDENTIAL_NAME, config_dir, write_private
from desktop.i18n import load_translations
from protocol.pairing import (
    PAIRINGS_PATH,
    TOKEN_PATH,
    DeskCredential,
    PairingError,
    PairingRequest,
    PairingStarted,
    TokenRequest,
)

SLOW_DOWN_S = 5  # RFC 8628 §3.5: a desk told to slow down waits this much longer
TIMEOUT_S = 15.0


class PairingFailed(Exception):
    """Pairing ended without a credential; the message is for the person at the desk."""


def base_url(url: str) -> str:
    """Central's https base from what the person typed: ``wss://host/ws``, ``https://host``
    or ``host`` alone (https assumed). ValueError when it names no host or is plain http
    on another machine."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not central's address (https://central.example)")
    if scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"plain http:// is only for this machine; use https://{parts.netloc}")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/ws")
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def socket_url(base: str) -> str:
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


Show = Callable[[str, str, int], None]  # (the /connect page, the code, minutes it lives)
Sleep = Callable[[float], Awaitable[None]]


async def pair(
    client: httpx.AsyncClient, base: str, label: str, show: Show, sleep: Sleep = asyncio.sleep
) -> DeskCredential:
    """Run the pairing against central at ``base``; the credential, or PairingFailed."""
    request = PairingRequest(label=label[:60])
    answer = await client.post(base + PAIRINGS_PATH, json=request.model_dump())
    if answer.status_code != 201:
        raise PairingFailed(f"central refused to start a pairing (HTTP {answer.status_code})")
    started = PairingStarted.model_validate(answer.json())
    show(f"{base}/connect", started.user_code, max(1, started.expires_in // 60))
    interval = float(started.interval)
    poll = TokenRequest(device_code=started.device_code).model_dump()
    while True:
        await sleep(interval)
        try:
            reply = await client.post(base + TOKEN_PATH, json=poll)
        except httpx.TransportError:
            continue  # central restarting or the network away: the pairing waits in central
        if reply.status_code == 200:
            return DeskCredential.model_validate(reply.json())
        try:
            error = PairingError.model_validate(reply.json()).error
        except (ValueError, ValidationError):
            raise PairingFailed(f"central answered HTTP {reply.status_code}") from None
        if error == "slow_down":
            interval += SLOW_DOWN_S
        elif error != "authorization_pending":
            raise PairingFailed(error)


def _verify(ca: str | None) -> ssl.SSLContext:
    """The system's trust store (as the desk's socket uses), or the office CA given."""
    context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    return context


def _config_text(server: str, credential: Path, language: Language, now: datetime) -> str:
    return (
        f"# Made by trygg-desk connect on {now:%Y-%m-%d %H:%M}. Check: trygg-desk"
        " validate-config FILE\n"
        f"server = {json.dumps(server)}\n"
        "# The token is in this file (readable by you only), never in this config.\n"
        f"credential_file = {json.dumps(str(credential))}\n"
        f'language = "{language.value}"\n'
    )


def connect(
    url: str,
    *,
    credential: Path | None = None,
    config: Path | None = None,
    label: str | None = None,
    language: Language = Language.NB,
    ca: str | None = None,
) -> int:
    """The ``connect`` command: 0 when the desk has its credential, 1 when not, 2 on usage."""
    _ = load_translations(language).gettext
    try:
        base = base_url(url)
    except ValueError as exc:
        print(f"trygg-desk connect: {exc}", file=sys.stderr)
        return 2
    credential = credential or config_dir() / CREDENTIAL_NAME
    config = config or config_dir() / CONFIG_NAME

    def show(page: str, code: str, minutes: int) -> None:
        print(_("Open {url} in your browser, sign in and enter the code:").format(url=page))
        print(f"\n    {code}\n")
        print(
            _("The code is valid for {minutes} minutes. Waiting for approval…").format(
                minutes=minutes
            ),
            flush=True,
        )

    async def run() -> DeskCredential:
        async with httpx.AsyncClient(verify=_verify(ca), timeout=TIMEOUT_S) as client:
            return await pair(client, base, label or platform.node() or "desk", show)

    try:
        got = asyncio.run(run())
    except PairingFailed as exc:
        print(_failure(_, str(exc)), file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(_("Cannot reach central: {reason}").format(reason=exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    write_private(credential, got.token + "\n")
    print(
        _("Connected as {user}. The credential is in {path}, readable by you only.").format(
            user=got.user, path=credential
        )
    )
    if config.exists():
        print(
            _('{config} exists: set credential_file = "{path}" in it, without a token.').format(
                config=config, path=credential
            )
        )
    else:
        write_private(config, _config_text(socket_url(base), credential, language, datetime.now()))
        print(
            _("Wrote {config}. Start the desk with: trygg-desk --config {config}").format(
                config=config
            )
        )
    return 0


def _failure(_: Callable[[str], str], error: str) -> str:
    if error == "access_denied":
        return _("The desk was refused at the console.")
    if error == "expired_token":
        return _("The code expired or was used. Run trygg-desk connect again.")
    return _("The pairing failed: {reason}").format(reason=error)
