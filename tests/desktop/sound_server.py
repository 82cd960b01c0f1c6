"""A real sound server for the desk's sound tests: PulseAudio with a null sink (an audio
output that plays into nothing), on a socket of its own, so a test hears nothing on the
machine's speakers and never depends on them. ``pactl`` asks it which streams are playing:
a stream from the desk's process there is sound really leaving the desk.

Missing ``pulseaudio`` fails the test with how to install it (``make test`` does)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

HOW_TO_INSTALL = "`make test` installs it (apt-get install pulseaudio)"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is missing: {HOW_TO_INSTALL}")
    return found


class SoundServer:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.runtime = workdir / "runtime"
        self.socket = self.runtime / "native"
        self.address = f"unix:{self.socket}"
        self.log = workdir / "pulseaudio.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """What a client needs to find this server and no other (Qt's default backend is
        PulseAudio; asked for by name so a PipeWire desktop does not take the sound)."""
        return {"PULSE_SERVER": self.address, "QT_AUDIO_BACKEND": "pulseaudio"}

    def start(self, timeout: float = 15) -> None:
        self.runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PULSE", "DBUS"))},
            "HOME": str(self.dir),
            "XDG_RUNTIME_DIR": str(self.runtime),
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    _tool("pulseaudio"),
                    "-n",  # no default.pa: only the modules below
                    "--daemonize=no",
                    "--exit-idle-time=-1",
                    "--use-pid-file=no",
                    "--system=false",
                    "-L",
                    f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
                    "-L",
                    "module-null-sink sink_name=trygg-test",
                    "--log-target=stderr",
                ],
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {self.log.read_text(errors='replace')}")
            if self.socket.exists() and self._pactl("info").returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError(f"pulseaudio not ready: {self.log.read_text(errors='replace')}")

    def _pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_tool("pactl"), "--server", self.address, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    def streams(self) -> list[dict[str, str]]:
        """The playing streams (sink inputs): each its ``pid``, ``corked`` (paused) and
        ``sink`` (the output's name)."""
        sinks = self._sinks()
        found: list[dict[str, str]] = []
        for line in self._pactl("list", "sink-inputs").stdout.splitlines():
            line = line.strip()
            if line.startswith("Sink Input #"):
                found.append({})
            elif found and line.startswith("Corked:"):
                found[-1]["corked"] = line.split(":", 1)[1].strip()
            elif found and line.startswith("Sink:"):
                index = line.split(":", 1)[1].strip()
                found[-1]["sink"] = sinks.get(index, index)
            elif found and line.startswith("application.process.id ="):
                found[-1]["pid"] = line.split("=", 1)[1].strip().strip('"')
        return found

    def _sinks(self) -> dict[str, str]:
        """Sink index -> name."""
        sinks: dict[str, str] = {}
        for line in self._pactl("list", "short", "sinks").stdout.splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                sinks[fields[0]] = fields[1]
        return sinks

    def playing_from(self, pid: int) -> bool:
        return bool(self.playing_on(pid))

    def playing_on(self, pid: int) -> set[str]:
        """The outputs (sink names) a stream of ``pid`` is playing on now."""
        return {
            s.get("sink", "?")
            for s in self.streams()
            if s.get("pid") == str(pid) and s.get("corked") == "no"
        }

    def plug_in(self, name: str) -> str:
        """Another output (a headset plugged in, a dock connected), made the default as
        desktops do with a new headset; returns its module, for :meth:`unplug`."""
        loaded = self._pactl("load-module", "module-null-sink", f"sink_name={name}")
        if loaded.returncode != 0:
            raise RuntimeError(f"pactl load-module: {loaded.stderr}")
        default = self._pactl("set-default-sink", name)
        if default.returncode != 0:
            raise RuntimeError(f"pactl set-default-sink: {default.stderr}")
        return loaded.stdout.strip()

    def unplug(self, module: str) -> None:
        """The output is gone; the server's default falls back to what is left."""
        unloaded = self._pactl("unload-module", module)
        if unloaded.returncode != 0:
            raise RuntimeError(f"pactl unload-module: {unloaded.stderr}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
