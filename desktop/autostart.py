"""``trygg-desk autostart on|off|status``: start the desk at login, through the platform's own
mechanism (an XDG autostart entry on Linux, the ``HKCU\\...\\Run`` key on Windows, a
LaunchAgent on macOS), so that nothing but the OS is needed to start it and the user's
desktop settings show it like any other startup program.

The texts are made by :mod:`desktop.core.autostart`; this shell only reads, writes and
removes them. Nothing here needs administrator rights: it is the user's own login. The
Windows and macOS places are written for those systems and have not been run on them
(docs/desk.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from desktop.core.autostart import (
    RUN_KEY,
    RUN_VALUE,
    autostart_command,
    desktop_entry,
    desktop_entry_enabled,
    desktop_entry_exec,
    launch_agent_arguments,
    launch_agent_path,
    launch_agent_plist,
    windows_command_line,
    xdg_autostart_path,
)


@dataclass(frozen=True, slots=True)
class Status:
    enabled: bool
    where: str
    command: str | None  # as written there; None when off


class Autostart(Protocol):
    where: str

    def enable(self, argv: list[str]) -> None: ...
    def disable(self) -> bool: ...  # True when something was removed
    def status(self) -> Status: ...


def _write(path: Path, content: bytes) -> None:
    """Replaced in one step: a login in the middle of it reads the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)


class XdgAutostart:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def enable(self, argv: list[str]) -> None:
        _write(self.path, desktop_entry(argv).encode("utf-8"))

    def disable(self) -> bool:
        if not self.path.exists():
            return False
        self.path.unlink()
        return True

    def status(self) -> Status:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Status(False, self.where, None)
        return Status(desktop_entry_enabled(text), self.where, desktop_entry_exec(text))


class LaunchAgent:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def enable(self, argv: list[str]) -> None:
        _write(self.path, launch_agent_plist(argv))

    def disable(self) -> bool:
        if not self.path.exists():
            return False
        self.path.unlink()
        return True

    def status(self) -> Status:
        try:
            arguments = launch_agent_arguments(self.path.read_bytes())
        except FileNotFoundError:
            return Status(False, self.where, None)
        return Status(arguments is not None, self.where, " ".join(arguments or ()) or None)


class WindowsRunKey:
    where = f"HKEY_CURRENT_USER\\{RUN_KEY} ({RUN_VALUE})"

    def enable(self, argv: list[str]) -> None:
        if sys.platform == "win32":
            import winreg

            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, windows_command_line(argv))

    def disable(self) -> bool:
        if sys.platform == "win32":
            import winreg

            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                try:
                    winreg.DeleteValue(key, RUN_VALUE)
                except FileNotFoundError:
                    return False
                return True
        return False

    def status(self) -> Status:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                    value, _kind = winreg.QueryValueEx(key, RUN_VALUE)
            except FileNotFoundError:
                return Status(False, self.where, None)
            return Status(True, self.where, str(value))
        return Status(False, self.where, None)


def autostart_for(
    platform: str = sys.platform,
    environ: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> Autostart:
    """The mechanism of ``platform`` (``sys.platform``'s names)."""
    home = home or Path.home()
    if platform == "win32":
        return WindowsRunKey()
    if platform == "darwin":
        return LaunchAgent(launch_agent_path(home))
    return XdgAutostart(xdg_autostart_path(environ, home))


def this_desk(config: Path) -> list[str]:
    """The argv that starts this very desk (this build, or this Python) with ``config``."""
    return autostart_command(
        frozen=bool(getattr(sys, "frozen", False)),
        executable=sys.executable,
        config=config.resolve(),
        windows=sys.platform == "win32",
    )


def run_autostart(action: str, config: str | None) -> int:
    """The ``autostart`` subcommand: 0 when done (or when telling the status), 2 on a config
    that would not start (nothing is written then)."""
    from configfile import ConfigError, load_settings
    from desktop.config import DeskSettings

    place = autostart_for()
    if action == "status":
        status = place.status()
        state = "on" if status.enabled else "off"
        print(
            f"autostart {state}: {status.where}" + (f"\n{status.command}" if status.command else "")
        )
        return 0
    if action == "off":
        removed = place.disable()
        print(f"autostart off: {'removed' if removed else 'was not set in'} {place.where}")
        return 0
    if config is None:
        print("trygg-desk: autostart on needs --config FILE (the desk to start)", file=sys.stderr)
        return 2
    try:
        load_settings(DeskSettings, config)  # a desk that would not start is not set up to
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    argv = this_desk(Path(config))
    place.enable(argv)
    print(f"autostart on: {place.where}\n{' '.join(argv)}")
    return 0
