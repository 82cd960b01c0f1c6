from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.broker import Broker


def _running_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A running Mosquitto of this test's own."""
    yield from _running_broker(tmp_path_factory)


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One running Mosquitto for every test of a module (a test that stops it starts it
    again before it ends: the next test finds it running)."""
    yield from _running_broker(tmp_path_factory)
