"""The escalation routine is data: validated with file, line and reason like the other routines."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from central.config import CentralSettings
from central.core.escalation import ARC, NEIGHBOURS, Plan, Stage
from central.escalation import (
    SHIPPED_ESCALATION,
    Reach,
    check_escalation,
    load_escalation,
    reach,
)
from configfile import ConfigError, load_settings
from protocol import AlarmLevel
from tests.support.stack import script

GOOD = """\
unseen_after_s = 5

[groups.guards]
name.nb = "vektere"
name.en = "guards"
users = ["vakt-1"]

[[acute.stages]]
after_s = 20
notify = ["neighbours", "guards"]

[[acute.stages]]
after_s = 60
notify = ["arc"]

[[assist.stages]]
after_s = 45
notify = ["neighbours"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "escalation.toml"
    path.write_text(text)
    return path


def problems(path: Path) -> set[tuple[int | None, str]]:
    with pytest.raises(ConfigError) as info:
        load_escalation(path)
    return {(p.line, p.where) for p in info.value.problems}


def reasons(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_escalation(path)
    return str(info.value)


def test_the_shipped_routine_escalates_acute_then_to_the_arc_and_assist_later() -> None:
    routine = load_escalation(SHIPPED_ESCALATION)
    assert routine.plan() == Plan(
        {
            AlarmLevel.ACUTE: (
                Stage(timedelta(seconds=20), (NEIGHBOURS, "guards")),
                Stage(timedelta(seconds=60), (ARC,)),
            ),
            AlarmLevel.ASSIST: (Stage(timedelta(seconds=45), (NEIGHBOURS,)),),
        },
        unseen_after=timedelta(seconds=10),
    )
    assert routine.group_names() == {"guards": {"nb": "vektere", "en": "guards"}}
    assert routine.name("guards", "nb") == "vektere"
    assert routine.name("guards", "en") == "guards"
    assert routine.name(NEIGHBOURS, "nb") == NEIGHBOURS


def test_a_stage_reaches_neighbour_sites_group_users_and_the_arc(tmp_path: Path) -> None:
    routine = load_escalation(write(tmp_path, GOOD))
    assert reach(routine, ("bergen",), (NEIGHBOURS, "guards")) == Reach(
        frozenset({"bergen"}), frozenset({"vakt-1"}), arc=False
    )
    assert reach(routine, (), (ARC,)) == Reach(frozenset(), frozenset(), arc=True)


def test_an_unknown_group_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"neighbours", "guards"', '"neighbours", "vakter"'))
    assert problems(path) == {(10, "acute.stages.0.notify")}
    assert "unknown group(s): vakter" in reasons(path)
    assert f"{path}:10:" in reasons(path)


def test_delays_that_do_not_increase_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("after_s = 60", "after_s = 20"))
    assert problems(path) == {(8, "acute.stages")}
    assert "after_s must increase from stage to stage: 20 s follows 20 s" in reasons(path)


def test_an_unknown_level_or_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("[[assist.stages]]", "[[urgent.stages]]"))
    assert problems(path) == {(16, "urgent")}
    path = write(tmp_path, GOOD.replace("after_s = 45", "after_s = 45\nwait = 3"))
    assert problems(path) == {(18, "assist.stages.0.wait")}


def test_a_group_may_not_take_a_built_in_name_and_a_stage_needs_targets(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("[groups.guards]", "[groups.arc]"))
    assert (3, "groups") in problems(path)
    path = write(tmp_path, GOOD.replace('notify = ["arc"]', "notify = []"))
    assert problems(path) == {(14, "acute.stages.1.notify")}


def settings(tmp_path: Path, routine: Path, users: str = "vakt-1") -> CentralSettings:
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n'
        "[registry]\nopen = true\n"
        '[[sites]]\nid = "oslo"\nname = "Oslo"\nneighbours = ["bergen"]\n'
        '[[sites]]\nid = "bergen"\nname = "Bergen"\n'
        f'[[users]]\nid = "{users}"\nname = "Vakt"\ntoken = "tok-9f3a7c1e5b2d8046aa71"\n'
        'sites = ["oslo"]\n'
        f'[routines]\nescalation = "{routine}"\n'
    )
    return load_settings(CentralSettings, config)


def test_group_users_must_be_users_of_central(tmp_path: Path) -> None:
    routine = write(tmp_path, GOOD)
    assert check_escalation(settings(tmp_path, routine)).groups["guards"].users == ("vakt-1",)
    with pytest.raises(ConfigError) as info:
        check_escalation(settings(tmp_path, routine, users="someone"))
    [problem] = info.value.problems
    assert (problem.line, problem.where) == (6, "groups.guards.users")
    assert "group guards names unknown user(s): vakt-1" in problem.reason


@pytest.mark.parametrize("neighbours", ['["trondheim"]', '["oslo"]'])
def test_neighbours_must_name_other_known_sites(tmp_path: Path, neighbours: str) -> None:
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n[registry]\nopen = true\n'
        f'[[sites]]\nid = "oslo"\nname = "Oslo"\nneighbours = {neighbours}\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings(CentralSettings, config)
    assert "neighbours names unknown site(s) (or itself)" in str(info.value)


def test_validate_config_checks_the_escalation_routine(tmp_path: Path) -> None:
    routine = write(tmp_path, GOOD.replace('["arc"]', '["politi"]'))
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n'
        '[[sites]]\nid = "oslo"\nname = "Oslo"\n'
        '[[devices]]\nsite = "oslo"\nid = "rom-101"\nroom = "Møterom 101"\n'
        f'[routines]\nescalation = "{routine}"\n'
    )
    result = subprocess.run(
        [script("trygg-central"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{routine}:14: [acute.stages.1.notify] unknown group(s): politi" in result.stderr
