"""The shipped systemd units (deploy/systemd/) as systemd reads them.

PID 1 here is not systemd, so the units are not started: ``systemd-analyze verify`` parses
them (any warning fails: an unknown or misspelt setting is ignored by systemd, silently
weakening the unit) with their programs pointed at this venv's console scripts (verify checks
that they exist), ``systemd-analyze security --offline`` scores their exposure, and the
settings the units promise (notify, watchdog, umask, state directory, hardening) are checked
by name. Central's process under the notify protocol and the watchdog: test_watchdog.py; the
edge agent's: test_edge_watchdog.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.stack import BIN

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
NAMES = ("trygg-central.service", "trygg-edge.service")
MAX_EXPOSURE = 2.0  # systemd-analyze security's score, 0 (locked down) .. 10 (exposed)


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is not installed: `apt-get install systemd` to check units")
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The units as deploy/README.md installs them, /opt/trygg/bin being this venv's bin."""
    where = tmp_path_factory.mktemp("units")
    for name in NAMES:
        text = (UNITS / name).read_text().replace("/opt/trygg/bin/", f"{BIN}/")
        (where / name).write_text(text)
    return where


def settings(name: str, section: str = "[Service]") -> dict[str, list[str]]:
    """``section``'s key → every value given (repeated keys add up, as in systemd)."""
    found: dict[str, list[str]] = {}
    current = ""
    for raw in (UNITS / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line
        elif current == section:
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_systemd_analyze_verify_accepts_the_units_without_a_warning(installed: Path) -> None:
    result = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", *(str(installed / n) for n in NAMES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_a_misspelt_setting_is_caught(installed: Path) -> None:
    """The check above would see a typo: systemd only warns, and this test makes it fail."""
    broken = installed / "typo.service"
    broken.write_text(
        (installed / "trygg-central.service")
        .read_text()
        .replace("LockPersonality=", "LockPersonalty=")
    )
    result = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Unknown key 'LockPersonalty'" in result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_exposure_is_low(installed: Path, name: str) -> None:
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=yes", "--no-pager", str(installed / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


HARDENING = {
    "UMask": "0027",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "CapabilityBoundingSet": "",
    "StateDirectory": "trygg",
    "ReadWritePaths": "%S/trygg",
    "Restart": "always",
}


@pytest.mark.parametrize("name", NAMES)
def test_both_units_are_hardened(name: str) -> None:
    unit = settings(name)
    for key, value in HARDENING.items():
        assert value in unit.get(key, []), f"{name}: {key}={value} missing ({unit.get(key)})"
    assert "@system-service" in unit["SystemCallFilter"]


@pytest.mark.parametrize("name", NAMES)
def test_both_units_keep_restarting_without_a_start_limit(name: str) -> None:
    """systemd's default start limit (5 starts in 10 s) would leave an alarm service failed for
    good after a short crash loop; with no limit it keeps trying, every RestartSec."""
    assert settings(name, "[Unit]")["StartLimitIntervalSec"] == ["0"]
    assert "StartLimitIntervalSec" not in settings(name)  # [Service] would not be read
    assert "StartLimitBurst" not in settings(name, "[Unit]")
    assert settings(name)["Restart"] == ["always"]
    assert settings(name)["RestartSec"] == ["2"]


def test_central_is_a_notify_service_with_a_watchdog_and_no_devices() -> None:
    unit = settings("trygg-central.service")
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]  # only central's own process may say READY/WATCHDOG
    assert unit["WatchdogSec"] == ["30s"]
    assert unit["PrivateDevices"] == ["yes"]


def test_the_edge_is_a_notify_service_with_a_watchdog_in_its_state_directory() -> None:
    unit = settings("trygg-edge.service")
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]  # only the agent's own process may say READY
    assert unit["WatchdogSec"] == ["30s"]
    assert unit["WorkingDirectory"] == ["%S/trygg"]  # lgpio makes its pipes in the cwd


def test_the_edge_reaches_gpio_and_serial_ports_and_nothing_else() -> None:
    unit = settings("trygg-edge.service")
    assert "PrivateDevices" not in unit  # it would hide /dev/gpiochip* and the serial port
    assert unit["DevicePolicy"] == ["closed"]
    assert "char-gpiochip rw" in unit["DeviceAllow"]
    assert "char-ttyAMA rw" in unit["DeviceAllow"]
    assert unit["SupplementaryGroups"] == ["gpio dialout"]
