"""The edge agent's systemd shell in process, where a process test cannot reach: an agent
whose pin the driver refuses (lgpio's ``'GPIO busy'``, tests/edge/busy_pins.py) never says
``READY=1``, says why in ``STATUS=`` and fails with the HardwareError the CLI logs. A real
notify socket and a real outbox on disk; no broker, as the agent fails before its link starts.
(The agent process under the watchdog, with a broker outage and a stalled outbox:
tests/deploy/test_edge_watchdog.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.agent import EdgeAgent
from edge.agent.watchdog import Supervised
from edge.config import EdgeSettings
from edge.errors import HardwareError
from tests.edge.busy_pins import busy_factory
from tests.support.systemd import NotifySocket


def settings(outbox: Path) -> EdgeSettings:
    return EdgeSettings.model_validate(
        {
            "site": "oslo-sentrum",
            "device": "rom-101",
            "room": "Møterom 101",
            "mqtt": {"host": "127.0.0.1", "port": 1, "password": "unused-password"},
            "outbox": {"path": str(outbox)},
            "buttons": [
                {"input": "desk", "pin": 17, "level": "acute", "led_pin": 27},
                {"input": "wall", "pin": 22, "level": "assist"},
            ],
        }
    )


async def test_a_pin_held_by_another_process_is_a_clear_failure_and_never_ready(
    tmp_path: Path,
) -> None:
    systemd = NotifySocket()
    pins = busy_factory(22)
    agent = EdgeAgent(settings(tmp_path / "outbox.db"), pin_factory=pins)
    env = {"NOTIFY_SOCKET": systemd.name, "WATCHDOG_USEC": "2000000"}
    try:
        with pytest.raises(HardwareError, match=r"^button 'wall' on pin 22: GPIO busy \("):
            await Supervised(agent, env=env).run()
        at = systemd.wait(lambda fields: any(f.startswith("STATUS=") for f in fields))
        assert systemd.messages(at)[0] == (
            "STATUS=cannot run: button 'wall' on pin 22: GPIO busy "
            "(tests.edge.busy_pins.DriverError from the pin driver)",
        )
        assert not [m for m in systemd.messages() if "READY=1" in m or "WATCHDOG=1" in m]
        assert not agent.link_running  # the link was never started
        assert agent.probe_outbox_writer(lambda: None) is None  # and the outbox is closed
    finally:
        systemd.close()
        pins.reset()
