"""Real processes for end-to-end tests: central and headless desks, started by their console
scripts exactly as an operator would, plus an in-process edge agent on gpiozero mock pins.
A console page needs a session (a token is no login): the people who open pages get accounts
with a password by the admin's own commands and sign in through the login form.

Everything waits by bounded polling; nothing here measures time.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.broker import CENTRAL_PASSWORD, CENTRAL_USER, Broker
from tests.support.net import free_port

BIN = Path(sys.executable).parent
SITE = "oslo-sentrum"
# The polls of central's health and record (every 50 ms while waiting): one client for all.
# ``httpx.get`` makes a client per call, and each builds a TLS context (~18 ms of CPU) even
# for http://, taking a third of a core from the central being waited for. No keep-alive:
# every call is a fresh connection, as before, so a central killed and started again on the
# same port is never asked on a dead socket. (httpx's pool is safe to share across threads.)
HTTP = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
PASSWORD = "Rett-hest-batteri-stift-42"  # every account's of Central.add_logins


def kill_process(proc: subprocess.Popen[Any] | None) -> None:
    """SIGKILL, if it still runs: nothing of its shutdown runs (a power cut)."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def stop_process(proc: subprocess.Popen[Any] | None, grace: float = 10) -> None:
    """SIGTERM, if it still runs, then SIGKILL after ``grace`` seconds."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def script(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: install the project with `make venv`")
    return str(path)


class Central:
    """``trygg-central`` as a subprocess; may be killed and started again on the same files."""

    def __init__(
        self,
        broker: Broker,
        workdir: Path,
        users: dict[str, str],
        sites: tuple[str, ...] = (SITE,),
        *,
        devices: tuple[tuple[str, str, str], ...] = (),
        user_sites: dict[str, tuple[str, ...]] | None = None,
        roles: dict[str, tuple[str, ...]] | None = None,
        mqtt_port: int | None = None,
        mqtt_extra: tuple[str, ...] = (),
        site_extra: dict[str, tuple[str, ...]] | None = None,
        device_extra: dict[tuple[str, str], tuple[str, ...]] | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        """``devices``: the registry, (site, device, room) each; empty = an open registry
        (``[registry] open = true``: rooms from payloads). ``user_sites``/``roles``: per user
        (default: every site, responder). ``mqtt_port``/``mqtt_extra``: another listener,
        e.g. TLS with its ``tls_*`` lines. ``site_extra``: more lines of a site's table (e.g.
        ``neighbours = [...]``); ``device_extra``: more lines of a device's table, by (site,
        device) (e.g. ``arc_zone = 2``); ``extra``: more tables at the end (e.g. ``[routines]``)."""
        self.dir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.tokens = {user: f"{user}-{secrets.token_hex(16)}" for user in users}
        lines = [
            "[mqtt]",
            f'host = "{broker.host}"',
            f"port = {mqtt_port or broker.port}",
            f'username = "{CENTRAL_USER}"',
            f'password = "{CENTRAL_PASSWORD}"',
            f'client_id = "central-{secrets.token_hex(4)}"',
            *mqtt_extra,
            "[http]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            "[store]",
            f'path = "{workdir / "central.db"}"',
        ]
        for site in sites:
            lines += ["[[sites]]", f'id = "{site}"', f'name = "Site {site}"']
            lines += (site_extra or {}).get(site, ())
        for user, name in users.items():
            lines += [
                "[[users]]",
                f'id = "{user}"',
                f'name = "{name}"',
                f'token = "{self.tokens[user]}"',
                f"sites = {json.dumps(list((user_sites or {}).get(user, sites)))}",
            ]
            if roles and user in roles:
                lines.append(f"roles = {json.dumps(list(roles[user]))}")
        for site, device, room in devices:
            lines += [
                "[[devices]]",
                f'site = "{site}"',
                f'id = "{device}"',
                f"room = {json.dumps(room, ensure_ascii=False)}",
                *(device_extra or {}).get((site, device), ()),
            ]
        if not devices:  # the explicit opt-in central requires to run without a registry
            lines += ["[registry]", "open = true"]
        lines += extra
        self.config = workdir / "central.toml"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = workdir / "central.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [script("trygg-central"), "--config", str(self.config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"central exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                health = HTTP.get(f"{self.url}/healthz", timeout=1).json()
                if health.get("mqtt") == "connected":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"central not ready after {timeout} s:\n{self.logs()}")

    async def wait_screens(self, count: int, timeout: float = 15) -> None:
        """Until ``count`` screens are connected (so that none misses a live alarm)."""
        for _ in range(int(timeout / 0.05)):
            if self.health()["screens"] >= count:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{count} screens not connected: {self.health()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut of the server."""
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def health(self) -> dict[str, Any]:
        """Health with its details (screens, rejected): those need a signed-in user's token."""
        token = next(iter(self.tokens.values()), "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return dict(HTTP.get(f"{self.url}/healthz", headers=headers, timeout=5).json())

    def alarms(self, user: str) -> list[dict[str, Any]]:
        reply = HTTP.get(
            f"{self.url}/api/alarms",
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
            timeout=5,
        )
        reply.raise_for_status()
        return list(reply.json()["alarms"])

    def add_logins(self, *logins: Login) -> None:
        """Make each a local account with ``PASSWORD``, by the admin's commands (``trygg-central
        user add --password-stdin``; ``user token`` for a ``desk_token``, kept in ``tokens``).
        Config users have no password, and a token is no login: whoever opens a console page
        needs one of these (then :meth:`log_in`). The first is made alone (it may make the
        database), the rest at once (each waits out the others' lock)."""
        for batch in (logins[:1], logins[1:]):
            self.admin(
                [
                    [
                        *("user", "add", login.user, "--name", login.name),
                        *("--roles", ",".join(login.roles)),
                        *("--sites", ",".join(login.sites) or "*", "--password-stdin"),
                    ]
                    for login in batch
                ],
                PASSWORD + "\n",
            )
        desks = [login.user for login in logins if login.desk_token]
        made = self.admin([["user", "token", user, "--label", "desk"] for user in desks], "")
        for user, out in zip(desks, made, strict=True):
            self.tokens[user] = out.strip().splitlines()[-1]

    def admin(self, commands: list[list[str]], stdin: str = "") -> list[str]:
        """Run ``trygg-central`` admin commands (``["user", "token", "kari"]``; the config is
        added) side by side, each given ``stdin``; their outputs, or why not."""
        running = [
            subprocess.Popen(
                [script("trygg-central"), *argv, "--config", str(self.config)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for argv in commands
        ]
        outputs = []
        for argv, proc in zip(commands, running, strict=True):
            try:
                out, err = proc.communicate(stdin, timeout=60)
            except subprocess.TimeoutExpired:
                for each in running:
                    kill_process(each)
                raise
            if proc.returncode != 0:
                raise RuntimeError(f"trygg-central {' '.join(argv)} failed: {err.strip()}")
            outputs.append(out)
        return outputs

    def log_in(self, user: str, password: str = PASSWORD) -> Session:
        """``user`` signed in through the login form, as a browser does (an account of
        :meth:`add_logins`)."""
        with httpx.Client(base_url=self.url, timeout=10) as browser:
            form = browser.get("/login")
            answer = browser.post(
                "/login", data={"user": user, "password": password, "csrf": _csrf_in(form.text)}
            )
            if answer.status_code != 303:
                raise AssertionError(f"{user} could not log in: {answer.status_code}")
            page = browser.get("/", follow_redirects=True)  # their start page, with its form
            return Session(self.url, dict(browser.cookies.items()), _csrf_in(page.text))


@dataclass(frozen=True)
class Login:
    """An account to make with a password (:meth:`Central.add_logins`); ``sites`` empty: every
    site; ``desk_token``: and a desk token, for a desk of theirs."""

    user: str
    name: str
    roles: tuple[str, ...]
    sites: tuple[str, ...] = ()
    desk_token: bool = False


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its cookies and its session's CSRF token, sent on every request
    as the console's own scripts send it (``X-CSRF-Token``), so a form post needs no page
    first. Make as many clients of it as needed."""

    url: str
    cookies: dict[str, str]
    csrf: str

    @property
    def cookie_header(self) -> dict[str, str]:
        """For a socket the browser opens (``/board/feed``): its cookies."""
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def client(self) -> httpx.Client:
        return httpx.Client(**self._options())

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._options())

    def _options(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "cookies": self.cookies,
            "headers": {"X-CSRF-Token": self.csrf},
            "timeout": 10,
        }


def _csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    if not found:
        raise AssertionError(f"no CSRF token in the page: {html[:300]}")
    return found.group(1)


class Desk:
    """``trygg-desk --headless`` as a subprocess; its JSON lines are read as they come."""

    def __init__(self, central: Central, user: str, workdir: Path, ack_all: bool = False):
        self.user = user
        self.config = workdir / f"desk-{user}.toml"
        self.config.write_text(f'server = "{central.ws_url}"\ntoken = "{central.tokens[user]}"\n')
        self.ack_all = ack_all
        self.log = workdir / f"desk-{user}.log"
        self.lines: list[dict[str, Any]] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        argv = [script("trygg-desk"), "--config", str(self.config), "--headless"]
        if self.ack_all:
            argv.append("--ack-all")
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc
        assert self.proc.stdout
        async for raw in self.proc.stdout:
            self.lines.append(json.loads(raw))
            self._changed.set()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 15
    ) -> dict[str, Any]:
        """The first line (seen so far or to come) for which ``match`` is true."""

        async def scan() -> dict[str, Any]:
            index = 0
            while True:
                while index < len(self.lines):
                    line = self.lines[index]
                    index += 1
                    if match(line):
                        return line
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"desk {self.user}: no matching line in {timeout} s; got {self.lines}\n"
                f"{self.log.read_text(errors='replace')[-2000:]}"
            ) from None

    async def send(self, command: str) -> None:
        assert self.proc
        assert self.proc.stdin
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader:
            self._reader.cancel()


@asynccontextmanager
async def running_desks(
    central: Central, users: Iterable[str], workdir: Path
) -> AsyncIterator[dict[str, Desk]]:
    """A headless desk per user, all connected before the body runs; stopped after it."""
    started = {user: Desk(central, user, workdir) for user in users}
    try:
        for desk in started.values():
            await desk.start()
        await central.wait_screens(len(started))  # on a timeout too, the desks are stopped
        yield started
    finally:
        for desk in started.values():
            await desk.stop()


def edge_config(workdir: Path, broker: Broker, device: str = "rom-101", site: str = SITE) -> Path:
    """An edge config with two buttons (LEDs on both), its broker account created."""
    password = f"{device}-{secrets.token_hex(8)}"
    broker.add_user(device, password)
    path = workdir / f"{device}.toml"
    path.write_text(
        f'site = "{site}"\ndevice = "{device}"\nroom = "Møterom 101"\n'
        "heartbeat_interval_s = 1.0\nresend_interval_s = 1.0\n"
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\npassword = "{password}"\n'
        "keepalive_s = 5\n"
        f'[outbox]\npath = "{workdir / (device + "-outbox.db")}"\n'
        '[[buttons]]\ninput = "desk"\npin = 17\nlevel = "acute"\nled_pin = 27\n'
        '[[buttons]]\ninput = "wall"\npin = 22\nlevel = "assist"\nled_pin = 23\n'
    )
    return path


def env_without_pin_factory() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
