"""The alarm response routine is data: validated with file, line and reason, sent to screens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from central.routines import SHIPPED, load_alarm_response
from configfile import ConfigError
from protocol import AlarmLevel
from tests.support.stack import script


def test_shipped_routine_has_both_levels_in_both_languages() -> None:
    routines = load_alarm_response(SHIPPED).for_screens()
    assert set(routines) == {AlarmLevel.ASSIST, AlarmLevel.ACUTE}
    for routine in routines.values():
        assert set(routine.title) == {"nb", "en"}
        assert len(routine.steps["nb"]) == len(routine.steps["en"]) >= 3
    assert any("112" in step for step in routines[AlarmLevel.ACUTE].steps["nb"])


def test_broken_routine_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "alarm-response.toml"
    text = SHIPPED.read_text().replace('title.en = "Acute', 'title.fr = "Acute')
    broken.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_alarm_response(broken)
    lines = text.splitlines()
    problems = {(p.where, p.line) for p in info.value.problems}
    fr_line = next(i for i, line in enumerate(lines, 1) if line.startswith("title.fr"))
    assert ("acute.title.fr", fr_line) in problems
    assert any(p.where == "acute.title.en" for p in info.value.problems)


def test_validate_config_checks_the_routine_it_names(tmp_path: Path) -> None:
    routine = tmp_path / "routine.toml"
    routine.write_text('[assist]\ntitle.nb = "x"\n')
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n'
        '[[sites]]\nid = "oslo"\nname = "Oslo"\n'
        f'[routines]\nalarm_response = "{routine}"\n'
    )
    result = subprocess.run(
        [script("trygg-central"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{routine}:2: [assist.title.en]" in result.stderr
    assert "[acute]" in result.stderr
