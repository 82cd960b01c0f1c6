"""deploy/pi/install.sh, the one command that installs an edge on a Raspberry Pi.

There is no Pi here, and the script's real run creates a system user, a venv in /opt and a
systemd unit. So these tests run it as a real process in ``--dry-run`` mode, which prints every
step and every command it would run, and check the plan: the user in gpio and dialout, the
hash-locked installs, lgpio by machine, the config, the unit and its drop-in, and the doctor
*before* the service is enabled. The part that writes edge.toml runs for real (the script's own
embedded renderer, taken from the file) and its output must pass ``validate-config``. Bad flags
are refused before any step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from configfile import validate_file
from edge.config import EdgeSettings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "pi" / "install.sh"
PASSWORD = "rom-101-install-password-x7"
STEPS = [
    "Check this machine",
    "OS packages",
    "User trygg in groups gpio and dialout",
    "Directories /etc/trygg and /var/lib/trygg",
    "Python environment in /opt/trygg",
    "Configuration /etc/trygg/edge.toml",
    "systemd unit trygg-edge (deploy/systemd/trygg-edge.service) and the Pi's drop-in",
    "Stop a running agent while the doctor checks",
    "trygg-edge doctor (as trygg, as the service will run)",
    "Enable and start trygg-edge",
]
PIP = "/opt/trygg/bin/pip install --quiet --disable-pip-version-check"


def install(
    *args: str,
    machine: str | None = None,
    password_file: Path | None = None,
    pretend: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """A dry run; ``pretend``: the dry run's TRYGG_INSTALL_* stand-ins (an agent running, a
    doctor that fails, an environment file), which the script honours only in a dry run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYGG_INSTALL_")}
    env |= pretend or {}
    if machine:
        env["TRYGG_INSTALL_MACHINE"] = machine
    flags = ["--password-file", str(password_file)] if password_file else []
    return subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", *flags, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: nothing may be asked
        timeout=60,
    )


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


BASIC = ("--central-host", "trygg.office.lan", "--site", "oslo-sentrum", "--device", "rom-101")


def steps(stdout: str) -> list[str]:
    return re.findall(r"^==> \d+\. (.*)$", stdout, re.M)


def commands(stdout: str) -> list[str]:
    return [line.strip()[2:] for line in stdout.splitlines() if line.strip().startswith("+ ")]


def test_the_script_parses() -> None:
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.access(SCRIPT, os.X_OK), "deploy/pi/install.sh must be executable"


def test_a_dry_run_prints_every_step_in_order_and_changes_nothing(password_file: Path) -> None:
    before = {p: p.exists() for p in map(Path, ("/etc/trygg", "/opt/trygg", "/var/lib/trygg"))}
    result = install(*BASIC, "--room", "Møterom 101", password_file=password_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert steps(result.stdout) == STEPS
    done = commands(result.stdout)
    assert "usermod --append --groups gpio,dialout trygg" in done
    assert "install -d -m 0750 -o root -g trygg /etc/trygg" in done
    # trygg:trygg, as the unit's StateDirectory= makes it at every start anyway
    assert "install -d -m 0750 -o trygg -g trygg /var/lib/trygg" in done
    assert f"{PIP} --require-hashes -r {REPO}/requirements/deploy-edge.lock" in done
    assert f"{PIP} --no-deps --no-build-isolation {REPO}" in done
    assert "write /etc/trygg/edge.toml (0640 root:trygg) from edge/sample-edge.toml" in done
    assert "runuser -u trygg -- /opt/trygg/bin/trygg-edge validate-config /etc/trygg/edge.toml" in (
        done
    )
    unit = f"install -m 0644 {REPO}/deploy/systemd/trygg-edge.service "
    assert unit + "/etc/systemd/system/trygg-edge.service" in done
    assert "Environment=GPIOZERO_PIN_FACTORY=lgpio" in result.stdout
    assert "WorkingDirectory=/var/lib/trygg" in result.stdout
    doctor = (
        "runuser -u trygg -- env GPIOZERO_PIN_FACTORY=lgpio /opt/trygg/bin/trygg-edge doctor "
        "--config /etc/trygg/edge.toml --expect-pins lgpio"
    )
    assert done.index(doctor) < done.index("systemctl enable --now trygg-edge")
    assert "broker trygg.office.lan:1883 (TLS: no)" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr  # the secret never shows
    assert result.stdout.rstrip().endswith("dry run: nothing was changed")
    assert {p: p.exists() for p in before} == before


def test_on_a_64_bit_pi_lgpio_comes_from_the_hash_pinned_wheel(password_file: Path) -> None:
    result = install(*BASIC, machine="aarch64", password_file=password_file)
    python = subprocess.run(
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert result.returncode == 0, result.stdout + result.stderr
    done = commands(result.stdout)
    lock = REPO / "deploy" / "pi" / "lgpio.lock"
    if python == "3.11":
        assert f"{PIP} --require-hashes -r {lock}" in done
        assert re.search(
            r"^lgpio==0\.2\.\d+(\.\d+)? \\\n\s+--hash=sha256:[0-9a-f]{64}$", lock.read_text(), re.M
        )
    else:  # no wheel for this Python: Raspberry Pi OS's own package
        assert "python3-lgpio" in result.stdout
    assert "/opt/trygg/bin/python -c 'import lgpio'" in done


def test_debians_lgpio_gives_the_venv_the_system_packages(password_file: Path) -> None:
    result = install(*BASIC, "--lgpio", "debian", machine="aarch64", password_file=password_file)
    assert result.returncode == 0, result.stdout + result.stderr
    done = commands(result.stdout)
    assert any(
        c.startswith("env DEBIAN_FRONTEND=noninteractive apt-get install") and "python3-lgpio" in c
        for c in done
    )
    assert "python3 -m venv --system-site-packages /opt/trygg" in done
    assert not any("lgpio.lock" in c for c in done)


def test_a_device_with_a_client_certificate_needs_no_password(tmp_path: Path) -> None:
    for name in ("ca.pem", "rom-101.pem", "rom-101.key"):
        (tmp_path / name).write_text("-----BEGIN CERTIFICATE-----\n")
    result = install(
        *BASIC,
        "--tls-ca",
        str(tmp_path / "ca.pem"),
        "--tls-cert",
        str(tmp_path / "rom-101.pem"),
        "--tls-key",
        str(tmp_path / "rom-101.key"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    done = commands(result.stdout)
    assert f"install -m 0640 -o root -g trygg {tmp_path}/rom-101.key /etc/trygg/rom-101.key" in done
    assert "broker trygg.office.lan:8883 (TLS: yes), password: none" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--central-host", "x", "--site", "oslo-sentrum", "--device", "Rom 101"), "device id"),
        (("--site", "oslo-sentrum", "--device", "rom-101"), "is missing: give it as a flag"),
        ((*BASIC, "--tls-cert", "/etc/hostname"), "--tls-cert needs --tls-key"),
        ((*BASIC, "--lgpio", "pigpio"), "--lgpio is wheel, debian or none"),
        ((*BASIC, "--port", "99999"), "is not a port number"),
        ((*BASIC, "--bogus"), "unknown argument '--bogus'"),
    ],
)
def test_bad_flags_are_refused_before_any_step(args: tuple[str, ...], says: str) -> None:
    result = install(*args)
    assert result.returncode == 2
    assert says in result.stderr
    assert steps(result.stdout) == []


def test_the_wheel_is_refused_where_it_cannot_install(password_file: Path) -> None:
    result = install(*BASIC, "--lgpio", "wheel", machine="x86_64", password_file=password_file)
    assert result.returncode == 2
    assert "--lgpio wheel needs aarch64 and Python 3.11" in result.stderr


# -- the config the script writes ----------------------------------------------------------


def renderer() -> str:
    """The script's own embedded renderer (the heredoc fed to python3)."""
    text = SCRIPT.read_text(encoding="utf-8")
    found = re.search(r"<<'PY'\n(.*?)\nPY\n", text, re.S)
    assert found, "install.sh has no embedded renderer (<<'PY' ... PY)"
    return found.group(1)


def render(tmp_path: Path, **values: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYGG_")}
    env |= {
        "T_SITE": "oslo-sentrum",
        "T_DEVICE": "rom-101",
        "T_ROOM": 'Møterom "101" \\ 2. etg',
        "T_HOST": "trygg.office.lan",
        "T_PORT": "1883",
        "T_PASSWORD": PASSWORD,
        "T_OUTBOX": str(tmp_path / "edge-outbox.db"),
    } | values
    result = subprocess.run(
        [sys.executable, "-", str(REPO / "edge" / "sample-edge.toml")],
        input=renderer(),
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    path = tmp_path / "edge.toml"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def test_the_written_config_validates_with_a_password(tmp_path: Path) -> None:
    config = render(tmp_path)
    assert validate_file(EdgeSettings, config) == []
    text = config.read_text(encoding="utf-8")
    assert f'password = "{PASSWORD}"' in text
    assert 'room = "Møterom \\"101\\" \\\\ 2. etg"' in text  # quoted as TOML needs
    assert "CHANGE-ME" not in text


def test_the_written_config_validates_with_a_client_certificate(tmp_path: Path) -> None:
    for name in ("ca.pem", "rom-101.pem", "rom-101.key"):
        (tmp_path / name).write_text("pem\n")
    config = render(
        tmp_path,
        T_PORT="8883",
        T_PASSWORD="",
        T_CA=str(tmp_path / "ca.pem"),
        T_CERT=str(tmp_path / "rom-101.pem"),
        T_KEY=str(tmp_path / "rom-101.key"),
    )
    assert validate_file(EdgeSettings, config) == []
    text = config.read_text(encoding="utf-8")
    assert "\npassword" not in text
    assert f'tls_cert = "{tmp_path}/rom-101.pem"' in text


# -- a running agent: stopped for the doctor, and running again however the script ends -------


DOCTOR = "runuser -u trygg -- env GPIOZERO_PIN_FACTORY=lgpio /opt/trygg/bin/trygg-edge doctor"


def test_an_agent_that_was_not_running_is_neither_stopped_nor_started(
    password_file: Path,
) -> None:
    result = install(*BASIC, password_file=password_file, pretend={"TRYGG_INSTALL_AGENT": "no"})
    assert result.returncode == 0, result.stdout + result.stderr
    done = commands(result.stdout)
    assert "trygg-edge is not running" in result.stdout
    assert not any(c.startswith(("systemctl stop", "systemctl start")) for c in done)


def test_a_running_agent_is_started_again_when_the_doctor_fails(password_file: Path) -> None:
    """A brief broker outage while the doctor checks: nothing is enabled, and the agent that
    was working is running again, so the room keeps its button."""
    result = install(
        *BASIC,
        password_file=password_file,
        pretend={"TRYGG_INSTALL_AGENT": "active", "TRYGG_INSTALL_DOCTOR": "fail"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "The doctor found problems" in result.stderr
    done = commands(result.stdout)
    stop = done.index("systemctl stop trygg-edge")
    doctor = next(i for i, c in enumerate(done) if c.startswith(DOCTOR))
    assert stop < doctor
    assert done[-1] == "systemctl start trygg-edge"  # the last thing it does
    assert "trygg-edge was running before this script: starting it again" in result.stdout
    assert not any(c.startswith("systemctl enable") for c in done)


def test_a_running_agent_is_started_by_the_enable_or_again_with_no_start(
    password_file: Path,
) -> None:
    running = {"TRYGG_INSTALL_AGENT": "active"}
    started = install(*BASIC, password_file=password_file, pretend=running)
    assert started.returncode == 0, started.stdout + started.stderr
    done = commands(started.stdout)
    assert done.index("systemctl stop trygg-edge") < done.index("systemctl enable --now trygg-edge")
    assert "systemctl start trygg-edge" not in done  # enable --now started it: once is enough

    kept = install(*BASIC, "--no-start", password_file=password_file, pretend=running)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    done = commands(kept.stdout)
    # --no-start leaves a new agent stopped, but not one that was working before the script.
    assert done[-2:] == ["systemctl enable trygg-edge", "systemctl start trygg-edge"]


# -- the service's environment file: read as systemd reads it, never sourced by the shell ------


def test_the_environment_file_goes_on_stdin_to_trygg_edge_never_through_the_shell(
    password_file: Path, tmp_path: Path
) -> None:
    env_file = tmp_path / "edge.env"
    env_file.write_text("TRYGG_EDGE_MQTT__PASSWORD=pa$word-from-the-env-file\n")
    result = install(
        *BASIC, password_file=password_file, pretend={"TRYGG_INSTALL_ENV_FILE": str(env_file)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    done = commands(result.stdout)
    validate = (
        "runuser -u trygg -- /opt/trygg/bin/trygg-edge validate-config --env-file - "
        "/etc/trygg/edge.toml"
    )
    assert validate in done
    doctor = next(c for c in done if c.startswith(DOCTOR))
    assert doctor.endswith("--expect-pins lgpio --env-file -")
    assert result.stdout.count(f"< {env_file}") == 2  # each gets the file on stdin
    assert "pa$word" not in result.stdout + result.stderr  # the secret never shows
    # The shell never reads it: no `set -a; . edge.env` left in the script.
    script = SCRIPT.read_text(encoding="utf-8")
    assert not re.search(r'^\s*(\.|source)\s+"?\$ENV_FILE', script, re.M)
