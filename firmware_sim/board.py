"""A room's sensor board, simulated: firmware behaviour on a pseudo-terminal.

The board speaks docs/serial-protocol.md on a pty (``os.openpty``) whose slave is reachable at a
stable symlink, ``<workdir>/<device>.tty``, so the edge opens it with pyserial exactly as it
would open ``/dev/ttyUSB0``. Like a USB board it is powered by the port: *unplug* closes the
pty and removes the symlink (the board is off), *replug* boots it on a new pty (uptime and
``seq`` start again from 0) and puts the symlink back.

What it sends: ``HB`` and ``SND`` every second; ``DOOR``, ``PIR`` and ``TAMP`` on change, at
boot and with every 10th heartbeat; ``PEND`` for pendant presses and battery reports; ``PONG``
for every valid ``PING``. Whenever the host opens the port (seen as the pty's slave side being
opened, the pty's version of DTR) the board reports door, presence and tamper again, so a
reopened edge knows the state without waiting for a change.

All state lives in one thread per board; other threads (the control socket) hand it commands
through a queue and wait for the result, so a pty is never closed under a running ``select``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import queue
import select
import threading
import time
import tty
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from firmware_sim import frames
from firmware_sim.errors import SimError

log = logging.getLogger(__name__)

FIRMWARE = "1.0.3"
BOOT_BANNER = f"\r\ntrygg-sensor boot fw {FIRMWARE}\r\n".encode()
HOST_POLL_S = 0.2  # how often an absent host (nobody has the port open) is looked for again
STATE_REPEAT_EVERY = 10  # heartbeats: DOOR, PIR and TAMP are repeated this often


class Board:
    """One simulated board. ``start()`` plugs it in; ``stop()`` unplugs it and ends its thread."""

    def __init__(self, device: str, workdir: Path, tick_s: float = 1.0) -> None:
        self.device = device
        self.link = workdir / f"{device}.tty"
        self.tick_s = tick_s
        # Sensor state: what the room is like; it survives unplugging (the room does not change).
        self.door_open = False
        self.presence = False
        self.tamper = False
        self.sound_db = 35
        self.batteries: dict[str, int] = {}
        # Board state: lost when it loses power.
        self._master: int | None = None
        self._pty: str | None = None
        self._seq = 0
        self._booted_at = 0.0
        self._heartbeats = 0
        self._host_open = False
        self._host_retry_at = 0.0
        self._silent = False
        self._reader = frames.PingReader()
        self.generation = 0  # how many times it has been plugged in
        self.sent: Counter[str] = Counter()
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any]]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"board-{device}", daemon=True)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self.call(self._plug)

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(SimError):
                self.call(self._unplug)
            self._stopping.set()
            os.write(self._wake_w, b"x")
            self._thread.join(5)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def call(self, action: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run ``action`` in the board's thread and return its result (or raise its error)."""
        if not self._thread.is_alive():
            raise SimError(f"board {self.device} is not running")
        future: Future[Any] = Future()
        self._queue.put((action, future))
        os.write(self._wake_w, b"x")
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise SimError(f"board {self.device} did not answer") from None

    # -- the firmware loop ----------------------------------------------------------------------
    def _run(self) -> None:
        next_tick = time.monotonic() + self.tick_s
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_tick:
                self._tick()
                # Late by more than a tick (a stalled machine): skip, do not burst to catch up.
                next_tick = max(next_tick + self.tick_s, now + self.tick_s / 2)
                continue
            watch = [self._wake_r]
            wait = next_tick - now
            if self._master is not None:
                if self._host_open or now >= self._host_retry_at:
                    watch.append(self._master)
                else:
                    wait = min(wait, self._host_retry_at - now)
            ready, _, _ = select.select(watch, [], [], max(0.0, wait))
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)
                self._run_commands()
            elif self._master is not None and self._master in ready:
                self._read_host()
            elif self._master is not None and not self._host_open and now >= self._host_retry_at:
                self._read_host()  # nothing to read and no EIO: somebody opened the port

    def _run_commands(self) -> None:
        while True:
            try:
                action, future = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(action())
            except Exception as exc:  # handed back to the caller, never kills the board
                future.set_exception(exc)

    def _read_host(self) -> None:
        if self._master is None:
            raise RuntimeError("the board's pty is not open")
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            data = b""
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            # EIO: no process has the slave side open. Look again a little later.
            if self._host_open:
                log.info("board %s: host closed the port", self.device)
            self._host_open = False
            self._host_retry_at = time.monotonic() + HOST_POLL_S
            return
        if not self._host_open:
            self._host_open = True
            log.info("board %s: host opened the port", self.device)
            self._report_state()
        for ping in self._reader.feed(data):
            self._send("PONG", ping.token)

    def _tick(self) -> None:
        if self._master is None:
            return
        self._heartbeats += 1
        self._send("HB", str(int(time.monotonic() - self._booted_at)), FIRMWARE)
        self._send("SND", str(self.sound_db))
        if self._heartbeats % STATE_REPEAT_EVERY == 0:
            self._report_state()

    def _report_state(self) -> None:
        self._send("DOOR", _flag(self.door_open))
        self._send("PIR", _flag(self.presence))
        self._send("TAMP", _flag(self.tamper))

    # -- writing --------------------------------------------------------------------------------
    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) % frames.SEQ_MODULO
        return seq

    def _send(self, kind: str, *fields: str) -> None:
        if self._master is None or self._silent:
            return  # unpowered or hung: nothing is generated, no sequence number is used
        self._write(frames.encode_frame(self._next_seq(), kind, fields))
        self.sent[kind] += 1

    def _write(self, data: bytes) -> None:
        if self._master is None:
            return
        try:
            os.write(self._master, data)
        except BlockingIOError:
            self.sent["lost"] += 1  # nobody reads and the pty buffer is full: like a UART, lost
        except OSError as exc:
            log.warning("board %s: write failed: %s", self.device, exc)

    def _require_line(self, what: str) -> None:
        if self._master is None:
            raise SimError(f"board {self.device} is unplugged; cannot send {what}")
        if self._silent:
            raise SimError(f"board {self.device} is silent; cannot send {what}")

    # -- plugging -------------------------------------------------------------------------------
    def _plug(self) -> dict[str, Any]:
        if self._master is not None:
            raise SimError(f"board {self.device} is already plugged in")
        master, slave = os.openpty()
        # Raw: the line discipline must neither echo nor translate (\n -> \r\n) anything.
        tty.setraw(slave)
        self._pty = os.ttyname(slave)
        os.close(slave)  # only the host holds the slave: its absence shows as EIO on the master
        fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._master = master
        temporary = self.link.with_name(self.link.name + ".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self._pty)
        temporary.replace(self.link)  # atomic: the path never points at a half-made port
        self._seq = 0
        self._heartbeats = 0
        self._booted_at = time.monotonic()
        self._host_open = False
        self._host_retry_at = 0.0
        self._silent = False
        self._reader = frames.PingReader()
        self.generation += 1
        self._write(BOOT_BANNER)
        log.info("board %s: plugged in at %s -> %s", self.device, self.link, self._pty)
        return self.describe()

    def _unplug(self) -> dict[str, Any]:
        if self._master is None:
            raise SimError(f"board {self.device} is already unplugged")
        self.link.unlink(missing_ok=True)
        os.close(self._master)
        self._master = None
        self._pty = None
        self._host_open = False
        log.info("board %s: unplugged", self.device)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "port": str(self.link),
            "pty": self._pty,
            "plugged": self._master is not None,
            "host_open": self._host_open,
            "silent": self._silent,
            "generation": self.generation,
            "seq": self._seq,
            "ticks": self._heartbeats,
            "door": "open" if self.door_open else "closed",
            "pir": self.presence,
            "tamper": self.tamper,
            "sound_db": self.sound_db,
            "pendants": dict(self.batteries),
            "sent": dict(self.sent),
        }

    # -- what the room and the tester do (run in the board's thread through ``call``) -------------
    def status(self) -> dict[str, Any]:
        return dict(self.call(self.describe))

    def do_door(self, is_open: bool) -> None:
        if is_open != self.door_open:
            self.door_open = is_open
            self._send("DOOR", _flag(is_open))

    def do_pir(self, presence: bool) -> None:
        if presence != self.presence:
            self.presence = presence
            self._send("PIR", _flag(presence))

    def do_tamper(self, is_open: bool) -> None:
        if is_open != self.tamper:
            self.tamper = is_open
            self._send("TAMP", _flag(is_open))

    def do_sound(self, db: int) -> None:
        self.sound_db = db  # reported with the next second's SND, as a sampling board would

    def do_pendant(self, pendant: str, battery: int | None, event: str) -> None:
        level = battery if battery is not None else self.batteries.get(pendant, 100)
        self.batteries[pendant] = level
        self._require_line(f"PEND {event}")
        self._send("PEND", pendant, str(level), event)

    def do_noise(self, count: int) -> bytes:
        """``count`` random bytes, never ``$``: pure line noise that must cost no frame."""
        self._require_line("noise")
        noise = bytes(b for b in os.urandom(count * 2) if b != 0x24)[:count]
        while len(noise) < count:
            noise += b"\x00"
        self._write(noise)
        return noise

    def do_fault_frame(self, fault: str) -> bytes:
        """A broken frame: ``badcrc``, ``truncate`` or ``oversize``. Each uses a sequence number,
        so the next good frame also shows a gap, as after a real corrupted frame."""
        self._require_line(fault)
        seq = self._next_seq()
        state = [_flag(self.door_open)]
        if fault == "badcrc":
            data = frames.bad_checksum_frame(seq, "DOOR", state)
        elif fault == "truncate":
            data = frames.truncated_frame(seq, "DOOR", state)
        else:
            data = frames.oversized_frame(seq)
        self._write(data)
        self.sent[fault] += 1
        return data

    def do_silence(self, silent: bool) -> None:
        if self._master is None:
            raise SimError(f"board {self.device} is unplugged")
        was = self._silent
        self._silent = silent
        if was and not silent:
            self._report_state()  # back from a hang (a watchdog reset): say how things are

    def do_unplug(self) -> dict[str, Any]:
        return self._unplug()

    def do_replug(self) -> dict[str, Any]:
        return self._plug()


def _flag(value: bool) -> str:
    return "1" if value else "0"
