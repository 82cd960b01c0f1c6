"""The direct fan-out path is in use with the uvicorn we ship, and a fallback is never silent.

``central.push.wire`` leans on uvicorn's internals; a new uvicorn may break them without an
error. These tests pin what holds today: the probe passes with the installed uvicorn, a real
``trygg-central`` server (the in-process uvicorn ``serve`` runs) hands screens the direct
path, uvicorn's plain protocol is caught (once, loudly, and in ``/healthz``), and the
installed uvicorn lies within the bound pyproject.toml declares.
"""

from __future__ import annotations

import logging
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from central.push.hub import DirectOutlet, QueuedOutlet
from central.push.wire import probe
from protocol.screen import Hello
from tests.central.helpers import KARI, OLA, get_json, make_settings, next_frame, screen, serve
from tests.support.broker import Broker

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
FALLBACK = "fan-out falls back"


def _fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "central.push.hub" and r.levelno == logging.WARNING
        if FALLBACK in r.getMessage()
    ]


async def test_the_installed_uvicorn_passes_the_probe() -> None:
    assert await probe() is None


async def test_the_probe_catches_a_protocol_without_the_extension() -> None:
    reason = await probe(WebSocketsSansIOProtocol)
    assert reason == "uvicorn's websocket scope does not carry the trygg.frames extension"


async def test_central_gives_screens_the_direct_path(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(make_settings(broker, tmp_path)) as running:
        assert running.central.hub.fanout == "direct"  # the start-up probe passed
        async with screen(running, KARI) as ws:
            assert isinstance(await next_frame(ws), Hello)
            outlets = [s.outlet for s in running.central.hub.all_screens()]
            assert len(outlets) == 1
            assert isinstance(outlets[0], DirectOutlet)
            health = await get_json(running, "/healthz", OLA)
            assert health["fanout"] == "direct"
    assert _fallback_warnings(caplog) == []


async def test_a_fallback_is_said_once_and_shown_in_healthz(
    broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # uvicorn's own protocol: what central would get if FramesProtocol stopped being used.
    settings = make_settings(broker, tmp_path)
    async with serve(settings, ws=WebSocketsSansIOProtocol) as running:
        assert _fallback_warnings(caplog) == []  # the probe tests FramesProtocol, which works
        async with screen(running, KARI) as first, screen(running, OLA) as second:
            assert isinstance(await next_frame(first), Hello)
            assert isinstance(await next_frame(second), Hello)
            outlets = [s.outlet for s in running.central.hub.all_screens()]
            assert len(outlets) == 2
            assert all(isinstance(o, QueuedOutlet) for o in outlets)
            health = await get_json(running, "/healthz", OLA)
            assert health["fanout"] == "queued"
        public = await get_json(running, "/healthz")
        assert "fanout" not in public  # a detail, for an authorised reader only
    warnings = _fallback_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "without the trygg.frames extension" in warnings[0]


def test_uvicorn_is_bounded_at_a_tested_version() -> None:
    central = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["central"]
    (uvicorn,) = [Requirement(r) for r in central if Requirement(r).name == "uvicorn"]
    uppers = [s for s in uvicorn.specifier if s.operator in ("<", "<=")]
    assert uppers, f"no upper bound on uvicorn: {uvicorn}"
    installed = Version(version("uvicorn"))
    assert installed in uvicorn.specifier, f"uvicorn {installed} is outside {uvicorn}"
