from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.broker import Broker


@pytest.fixture
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A running Mosquitto of this test's own."""
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    try:
        yield b
    finally:
        b.stop()
