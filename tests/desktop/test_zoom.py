"""Readable at 200 % zoom: at QT_SCALE_FACTOR=2 on a full-HD screen nothing in the alarm window
is clipped, it stays on the screen, and what does not fit can be scrolled to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FULL_HD = {
    "name": "desk",
    "x": 0,
    "y": 0,
    "width": 1920,
    "height": 1080,
    "logicalDpi": 96,
    "logicalBaseDpi": 96,
    "dpr": 1,
}


@pytest.mark.parametrize("scale", ["1", "2"])
def test_the_alarm_window_fits_its_text_at_100_and_200_percent(tmp_path: Path, scale: str) -> None:
    screens = tmp_path / "screens.json"
    screens.write_text(json.dumps({"screens": [FULL_HD]}), encoding="utf-8")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={screens}",
        "QT_SCALE_FACTOR": scale,
    }
    probe = subprocess.run(
        [sys.executable, "-m", "tests.desktop.zoom_probe"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert report["ratio"] == float(scale)
    assert report["screen"] == [1920 // int(scale), 1080 // int(scale)]
    assert report["problems"] == []
