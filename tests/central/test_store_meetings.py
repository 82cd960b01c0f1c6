"""Meetings with standby on disk (central.store.meetings): every change written whole, read
back as it was (central restores its standby book from it), never deleted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from central.core.standby import Answer, Colleague
from central.store import Store
from central.store import meetings as stored
from tests.central.test_core_standby import M2, at, meeting


async def test_meetings_are_kept_and_read_back_as_they_were(tmp_path: Path) -> None:
    store = Store(tmp_path / "central.db")
    await store.open()
    try:
        first = meeting()
        await store.submit(stored.saved(first))
        confirmed = (Colleague("kari", "Kari Nordmann", Answer.CONFIRMED, at(5)),)
        changed = replace(first, colleagues=confirmed, reminded=True, ended_at=at(70))
        await store.submit(stored.saved(changed))
        outside = meeting(
            meeting_id=M2, room=None, address="Storgata 1", cancelled_at=at(3), cancel_reason="x"
        )
        await store.submit(stored.saved(outside))
        found = await store.read(stored.meetings)
        assert sorted(found, key=lambda m: str(m.meeting_id)) == [changed, outside]
    finally:
        await store.close()
