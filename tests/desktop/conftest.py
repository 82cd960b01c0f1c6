"""Qt runs offscreen in these tests: set before anything imports Qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from collections.abc import Iterator

import pytest

from tests.desktop.fake_central import FakeCentral
from tests.desktop.qt_support import TOKEN, CentralThread


@pytest.fixture
def central() -> Iterator[CentralThread]:
    """The fake central, for "kari" (TOKEN), on a loop thread of its own."""
    thread = CentralThread(FakeCentral({TOKEN: "kari"}))
    thread.run(thread.central.start())
    yield thread
    thread.close()
