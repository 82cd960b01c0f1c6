"""Config errors name file, line and reason; environment variables can carry the secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from configfile import ConfigError, load_settings, locate, validate_file


class Button(BaseModel):
    pin: int
    level: str


class Mqtt(BaseModel):
    host: str
    password: str = Field(min_length=1)


class Sample(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRYGG_SAMPLE_", env_nested_delimiter="__", extra="forbid"
    )
    site: str
    mqtt: Mqtt
    buttons: list[Button] = []


GOOD = """\
site = "oslo"  # comment

[mqtt]
host = "127.0.0.1"
password = "s3cret-enough"

[[buttons]]
pin = 17
level = "acute"

[[buttons]]
pin = 22
level = "assist"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sample.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    settings = load_settings(Sample, write(tmp_path, GOOD))
    assert settings.site == "oslo"
    assert [b.pin for b in settings.buttons] == [17, 22]
    assert validate_file(Sample, write(tmp_path, GOOD)) == []


def test_each_problem_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('password = "s3cret-enough"', 'password = ""').replace(
        "pin = 22", 'pin = "twenty-two"'
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(Sample, path)
    found = {(p.where, p.line) for p in info.value.problems}
    assert ("mqtt.password", 5) in found
    assert ("buttons.1.pin", 12) in found
    assert all(p.file == path for p in info.value.problems)
    assert f"{path}:5: [mqtt.password]" in str(info.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    problems = validate_file(Sample, write(tmp_path, "surprise = 1\n" + GOOD))
    assert [(p.where, p.line) for p in problems] == [("surprise", 1)]


def test_missing_value_points_at_its_table(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('host = "127.0.0.1"\n', ""))
    problems = validate_file(Sample, path)
    assert [(p.where, p.line, p.reason) for p in problems] == [
        ("mqtt.host", 3, "required value is missing")
    ]


def test_toml_syntax_error_has_line(tmp_path: Path) -> None:
    problems = validate_file(Sample, write(tmp_path, GOOD + "broken = [\n"))
    assert len(problems) == 1
    assert problems[0].line == 14
    assert "not valid TOML" in problems[0].reason


def test_unreadable_file(tmp_path: Path) -> None:
    problems = validate_file(Sample, tmp_path / "absent.toml")
    assert problems[0].line is None
    assert "cannot read" in problems[0].reason


def test_environment_supplies_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYGG_SAMPLE_MQTT__PASSWORD", "from-the-environment")
    path = write(tmp_path, GOOD.replace('password = "s3cret-enough"', 'password = ""'))
    assert load_settings(Sample, path).mqtt.password == "from-the-environment"


def test_locate_handles_dotted_and_quoted_keys() -> None:
    text = 'a.b = 1\n"c" = 2\n[t]\n  x = 3\n'
    assert locate(text, ("a", "b")) == 1
    assert locate(text, ("c",)) == 2
    assert locate(text, ("t", "x")) == 4
    assert locate(text, ("t", "y")) == 3
    assert locate(text, ("nowhere",)) is None
