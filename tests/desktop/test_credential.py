"""The desk's credential file (desktop.credential) and ``credential_file`` in its config: only
its user may read it, it holds one real token, and a config names it or a token, not both."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest

from configfile import ConfigError, load_settings
from desktop.config import DeskSettings
from desktop.credential import CredentialError, read_credential, write_private
from desktop.pairing import base_url, socket_url

TOKEN = secrets.token_urlsafe(32)


def credential(tmp_path: Path, text: str = TOKEN + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "private" / "desk-credential"
    write_private(path, text)
    os.chmod(path, mode)
    return path


def desk_toml(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "desk.toml"
    path.write_text("\n".join(['server = "ws://127.0.0.1:8080/ws"', *lines]) + "\n")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load_settings(DeskSettings, path)
    return [str(p) for p in refused.value.problems]


def test_written_for_its_user_only_and_read_back(tmp_path: Path) -> None:
    path = credential(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_credential(path) == TOKEN
    write_private(path, "second\n")  # replaced whole, mode kept
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["desk-credential"]  # no temporary left


def test_a_config_may_name_the_file_instead_of_a_token(tmp_path: Path) -> None:
    path = credential(tmp_path)
    settings = load_settings(DeskSettings, desk_toml(tmp_path, f'credential_file = "{path}"'))
    assert settings.token.get_secret_value() == TOKEN
    assert settings.credential_file == path


@pytest.mark.parametrize(
    ("mode", "text", "reason"),
    [
        (0o644, TOKEN, "can be read by others (mode 0644): run `chmod 600"),
        (0o640, TOKEN, "can be read by others"),
        (0o600, f"{TOKEN}\n{TOKEN}\n", "must hold the token alone, on one line"),
        (0o600, "\n", "must hold the token alone"),
        (
            0o600,
            "changeme-changeme-changeme-changeme",
            "holds no usable token: it is a placeholder",
        ),
        (0o600, "short", "holds no usable token: it must be at least 24 characters"),
    ],
)
def test_an_unusable_file_is_refused_at_its_line(
    tmp_path: Path, mode: int, text: str, reason: str
) -> None:
    path = credential(tmp_path, text, mode)
    config = desk_toml(tmp_path, "# the file", f'credential_file = "{path}"')
    [problem] = problems(config)
    assert problem.startswith(f"{config}:3: [credential_file] {path}")
    assert reason in problem


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    [problem] = problems(desk_toml(tmp_path, f'credential_file = "{missing}"'))
    assert "does not exist: run `trygg-desk connect <central URL>` to make it" in problem
    with pytest.raises(CredentialError):
        read_credential(missing)


def test_token_and_file_together_or_neither_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = credential(tmp_path)
    other = secrets.token_urlsafe(32)
    both = desk_toml(tmp_path, f'credential_file = "{path}"', f'token = "{other}"')
    assert any("not both" in p for p in problems(both))
    monkeypatch.setenv("TRYGG_DESK_TOKEN", other)  # the environment's token counts too
    assert any(
        "not both" in p for p in problems(desk_toml(tmp_path, f'credential_file = "{path}"'))
    )
    monkeypatch.delenv("TRYGG_DESK_TOKEN")
    [neither] = problems(desk_toml(tmp_path))
    assert "required: token, or credential_file" in neither


@pytest.mark.parametrize(
    ("typed", "base", "socket"),
    [
        ("https://trygg.example", "https://trygg.example", "wss://trygg.example/ws"),
        ("wss://trygg.example/ws", "https://trygg.example", "wss://trygg.example/ws"),
        ("trygg.example:8443/", "https://trygg.example:8443", "wss://trygg.example:8443/ws"),
        ("https://nav.example/trygg/", "https://nav.example/trygg", "wss://nav.example/trygg/ws"),
        ("ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080", "ws://127.0.0.1:8080/ws"),
        ("http://localhost:8080", "http://localhost:8080", "ws://localhost:8080/ws"),
    ],
)
def test_connect_reads_centrals_address_however_it_is_typed(
    typed: str, base: str, socket: str
) -> None:
    assert base_url(typed) == base
    assert socket_url(base) == socket


@pytest.mark.parametrize(
    "typed", ["http://trygg.example", "ws://10.0.0.5/ws", "ftp://x", "https://"]
)
def test_connect_refuses_plain_http_elsewhere_and_non_addresses(typed: str) -> None:
    with pytest.raises(ValueError, match=r"only for this machine|not central's address"):
        base_url(typed)


def test_a_symbolic_link_is_refused_not_followed(tmp_path: Path) -> None:
    """Attack: someone who can write the desk's directory puts a link where the credential
    goes (to a file of theirs, or to swap it between a check and a read): refused."""
    real = credential(tmp_path)
    link = tmp_path / "private" / "linked-credential"
    link.symlink_to(real)
    with pytest.raises(CredentialError, match="symbolic link"):
        read_credential(link)
    assert read_credential(real) == TOKEN  # the file itself still reads


def test_the_windows_credential_stays_on_the_pc(monkeypatch: pytest.MonkeyPatch) -> None:
    """%LOCALAPPDATA%, not the roaming %APPDATA% that is copied to servers and other PCs."""
    import desktop.credential as module

    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", "/local")
    monkeypatch.setenv("APPDATA", "/roaming")
    assert module.config_dir() == Path("/local") / "Trygg"
