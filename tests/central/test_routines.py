"""The alarm response routine is data: validated with file, line and reason, sent to screens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from central.core.schedule import Every, SelfTestKind
from central.routines import (
    SHIPPED,
    SHIPPED_EVACUATION,
    SHIPPED_SELF_TESTS,
    load_alarm_response,
    load_evacuation,
    load_self_tests,
)
from configfile import ConfigError
from protocol import AlarmLevel, AnnouncementKind
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
        '[[devices]]\nsite = "oslo"\nid = "rom-101"\nroom = "Møterom 101"\n'
        f'[routines]\nalarm_response = "{routine}"\n'
    )
    result = subprocess.run(
        [script("trygg-central"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{routine}:2: [assist.title.en]" in result.stderr
    assert "[acute]" in result.stderr


# --- self-test schedules -------------------------------------------------------------------


def test_shipped_self_tests_cover_the_three_kinds_in_oslo_time() -> None:
    routines = load_self_tests(SHIPPED_SELF_TESTS)
    schedules = {s.kind: s for s in routines.schedules()}
    assert set(schedules) == set(SelfTestKind)
    assert schedules[SelfTestKind.DEVICE_SELFTEST].every is Every.DAY
    assert schedules[SelfTestKind.E2E_TEST_ALARM].every is Every.WEEK
    assert schedules[SelfTestKind.MANUAL_ROUND].every is Every.MONTH
    assert {str(s.zone) for s in schedules.values()} == {"Europe/Oslo"}
    for routine in routines.schedule:
        assert routine.title.nb
        assert routine.title.en


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (('weekday = "wednesday"\n', ""), "schedule.1", "needs `weekday`"),
        (("day = 1\n", "day = 31\n"), "schedule.2.day", "less than or equal to 28"),
        (('at = "06:30"', 'at = "6.30"'), "schedule.0.at", "should match pattern"),
        (('kind = "device_selftest"', 'kind = "smoke"'), "schedule.0.kind", "Input should be"),
        (('zone = "Europe/Oslo"', 'zone = "Europe/Olso"'), "zone", "unknown time zone"),
        (('id = "weekly-test-alarm"', 'id = "daily-device-selftest"'), "schedule", "unique"),
    ],
)
def test_broken_self_tests_name_file_line_and_reason(
    tmp_path: Path, change: tuple[str, str], where: str, reason: str
) -> None:
    text = SHIPPED_SELF_TESTS.read_text()
    assert change[0] in text
    broken = tmp_path / "self-tests.toml"
    broken.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as info:
        load_self_tests(broken)
    [problem] = info.value.problems
    assert problem.where == where
    assert reason in problem.reason
    assert problem.file == broken
    assert problem.line is not None


def test_validate_config_checks_the_self_tests_and_their_sites(tmp_path: Path) -> None:
    routine = tmp_path / "self-tests.toml"
    routine.write_text(
        SHIPPED_SELF_TESTS.read_text().replace(
            'every = "day"\n', 'every = "day"\nsites = ["bergen"]\n'
        )
    )
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n'
        '[[sites]]\nid = "oslo"\nname = "Oslo"\n'
        '[[devices]]\nsite = "oslo"\nid = "rom-101"\nroom = "Møterom 101"\n'
        f'[routines]\nself_tests = "{routine}"\n'
    )
    result = subprocess.run(
        [script("trygg-central"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    line = next(i for i, ln in enumerate(routine.read_text().splitlines(), 1) if "bergen" in ln)
    assert f"{routine}:{line}: [schedule.0.sites]" in result.stderr
    assert "unknown site(s): bergen" in result.stderr


# --- evacuation and lockdown ---------------------------------------------------------------


def test_shipped_evacuation_has_both_kinds_in_both_languages() -> None:
    routines = load_evacuation(SHIPPED_EVACUATION).for_screens()
    assert set(routines) == {AnnouncementKind.EVACUATE, AnnouncementKind.LOCKDOWN}
    for routine in routines.values():
        assert set(routine.title) == {"nb", "en"}
        assert len(routine.steps["nb"]) == len(routine.steps["en"]) >= 3
    assert any("112" in step for step in routines[AnnouncementKind.LOCKDOWN].steps["nb"])


def test_broken_evacuation_names_file_line_and_reason(tmp_path: Path) -> None:
    broken = tmp_path / "evacuation.toml"
    text = SHIPPED_EVACUATION.read_text().replace("steps.en = [", "steps.de = [", 1)
    broken.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_evacuation(broken)
    de_line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("steps.de"))
    problems = {(p.where, p.line) for p in info.value.problems}
    assert ("evacuate.steps.de", de_line) in problems
    assert any(p.where == "evacuate.steps.en" for p in info.value.problems)


def test_validate_config_checks_the_evacuation_routine_it_names(tmp_path: Path) -> None:
    routine = tmp_path / "evacuation.toml"
    routine.write_text('[evacuate]\ntitle.nb = "Ut"\n')
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n'
        '[[sites]]\nid = "oslo"\nname = "Oslo"\n'
        '[[devices]]\nsite = "oslo"\nid = "rom-101"\nroom = "Møterom 101"\n'
        f'[routines]\nevacuation = "{routine}"\n'
    )
    result = subprocess.run(
        [script("trygg-central"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{routine}:2: [evacuate.title.en]" in result.stderr
    assert "[lockdown]" in result.stderr
