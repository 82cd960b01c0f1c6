"""What "start the desk at login" writes on each platform, as plain text and bytes.

Each OS has its own mechanism, and each has its own quoting rules for the command: a Linux
desktop reads an XDG autostart ``.desktop`` file (the Desktop Entry spec's ``Exec`` quoting),
Windows runs the command lines under ``HKCU\\...\\Run`` (the C runtime's argv quoting), macOS's
launchd reads a LaunchAgent property list (an argv array: no quoting at all). Getting a path
with a space or a ``%`` wrong means a desk that silently never starts, so the texts are made
here, without touching any file or registry, and checked by unit tests on any machine; the
thin shell in desktop/autostart.py writes them where they belong.
"""

from __future__ import annotations

import ntpath
import plistlib
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath

APP_NAME = "Trygg"
DESKTOP_FILE = "trygg-desk.desktop"
LAUNCH_AGENT_LABEL = "no.trygg.desk"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = APP_NAME
COMMENT = "Trygg: alarms from colleagues, and the silent alarm"

# Desktop Entry spec, "The Exec key": an argument with any of these must be quoted.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def autostart_command(
    *, frozen: bool, executable: str, config: PurePath, windows: bool
) -> list[str]:
    """The argv that starts this desk's window client with ``config`` (an absolute path).

    A built desk (PyInstaller) is its own executable; on Windows the console twin
    ``trygg-desk-cli.exe`` is swapped for the windowed ``trygg-desk.exe`` (no console window
    at login). From a checkout or a pip install it is ``python -m desktop`` (``pythonw`` on
    Windows, for the same reason)."""
    if not config.is_absolute():
        raise ValueError(f"the config path must be absolute, not {config}")
    if frozen:
        program = executable
        if windows and ntpath.basename(program).lower() == "trygg-desk-cli.exe":
            program = ntpath.join(ntpath.dirname(program), "trygg-desk.exe")
        return [program, "--config", str(config)]
    python = executable
    if windows and ntpath.basename(python).lower() == "python.exe":
        python = ntpath.join(ntpath.dirname(python), "pythonw.exe")
    return [python, "-m", "desktop", "--config", str(config)]


# -- Linux and other XDG desktops -------------------------------------------------------------
def xdg_autostart_path(environ: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CONFIG_HOME/autostart/trygg-desk.desktop``; ``~/.config`` when the variable is
    unset, empty or not absolute (the Base Directory spec says to ignore a relative one)."""
    configured = environ.get("XDG_CONFIG_HOME", "")
    base = Path(configured) if configured and Path(configured).is_absolute() else home / ".config"
    return base / "autostart" / DESKTOP_FILE


def exec_argument(argument: str) -> str:
    """One argument of an ``Exec`` line: quoted if it must be, ``%`` doubled, and the string
    escapes (backslash) applied after the quoting, as the spec says."""
    if "\n" in argument or "\r" in argument:
        raise ValueError("an autostart command cannot hold a line break")
    if argument and not (_RESERVED & set(argument)):
        quoted = argument
    else:
        inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in argument)
        quoted = f'"{inner}"'
    return quoted.replace("\\", "\\\\").replace("%", "%%")


def desktop_entry(argv: Sequence[str]) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={APP_NAME}",
            f"Comment={COMMENT}",
            "Exec=" + " ".join(exec_argument(a) for a in argv),
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "",
        ]
    )


def desktop_entry_enabled(text: str) -> bool:
    """Whether a desktop reading this entry starts it (a user may switch it off in the
    desktop's own startup settings, which writes one of these keys into the file)."""
    lines = {line.strip() for line in text.splitlines()}
    return "Hidden=true" not in lines and "X-GNOME-Autostart-enabled=false" not in lines


def desktop_entry_exec(text: str) -> str | None:
    return next(
        (line[len("Exec=") :] for line in text.splitlines() if line.startswith("Exec=")), None
    )


# -- Windows ----------------------------------------------------------------------------------
def windows_command_line(argv: Sequence[str]) -> str:
    """``argv`` as one command line that the C runtime (and CommandLineToArgvW) splits back
    into the same arguments: quoted where there is a space or tab (or nothing), a quote
    escaped, and the backslashes before a quote doubled."""
    parts = []
    for argument in argv:
        quote = not argument or " " in argument or "\t" in argument
        out, backslashes = [], 0
        for ch in argument:
            if ch == "\\":
                backslashes += 1
                continue
            if ch == '"':
                out.append("\\" * (backslashes * 2 + 1) + '"')
            else:
                out.append("\\" * backslashes + ch)
            backslashes = 0
        out.append("\\" * (backslashes * 2 if quote else backslashes))
        parts.append(f'"{"".join(out)}"' if quote else "".join(out))
    return " ".join(parts)


# -- macOS ------------------------------------------------------------------------------------
def launch_agent_path(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"


def launch_agent_plist(argv: Sequence[str]) -> bytes:
    """A per-user LaunchAgent: started at login in the graphical session only, and started
    again if it crashes (a non-zero exit), but not after the user chose "Quit Trygg"."""
    return plistlib.dumps(
        {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": list(argv),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "LimitLoadToSessionType": "Aqua",
            "ProcessType": "Interactive",
        }
    )


def launch_agent_arguments(content: bytes) -> list[str] | None:
    try:
        loaded = plistlib.loads(content)
    except plistlib.InvalidFileException:
        return None
    arguments = loaded.get("ProgramArguments") if isinstance(loaded, dict) else None
    return [str(a) for a in arguments] if isinstance(arguments, list) else None
