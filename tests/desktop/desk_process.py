"""The real ``trygg-desk`` console script as a subprocess, with its output collected as it comes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tests.desktop.fake_central import eventually

TRYGG_DESK = Path(sys.prefix) / "bin" / "trygg-desk"


def write_config(path: Path, server: str, token: str) -> Path:
    path.write_text(f'server = "{server}"\ntoken = "{token}"\n', encoding="utf-8")
    return path


class DeskProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []  # every stdout line, parsed (each must be JSON)
        self.not_json: list[bytes] = []  # stdout is for JSON lines only: should stay empty
        self.stderr: list[str] = []
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(cls, config: Path, *args: str) -> DeskProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRYGG_DESK_")}
        proc = await asyncio.create_subprocess_exec(
            str(TRYGG_DESK),
            "--config",
            str(config),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(proc)

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.not_json.append(line)

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr.append(line.decode())

    def events(self, event: str, alarm_id: object = None) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines
            if line["event"] == event and (alarm_id is None or line["alarm_id"] == str(alarm_id))
        ]

    async def wait_event(self, event: str, alarm_id: object, **fields: object) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for line in self.events(event, alarm_id):
                if all(line.get(k) == v for k, v in fields.items()):
                    return line
            return None

        await eventually(found, f"a {event!r} line for {alarm_id} with {fields}; got {self.lines}")
        line = found()
        assert line is not None
        return line

    async def wait_stderr(self, text: str) -> None:
        await eventually(
            lambda: any(text in line for line in self.stderr),
            f"{text!r} on stderr; got {self.stderr}",
        )

    async def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self) -> int:
        """SIGTERM, then the exit status (killing it if it does not stop in bounded time)."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise
        finally:
            await asyncio.gather(*self._readers, return_exceptions=True)
        return code
