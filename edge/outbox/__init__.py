"""The outbox, gathered: every alarm on disk until central has stored it, and sent until then.

``store`` is the durable part (SQLite on its own thread), ``sender`` applies the pure policy
(``edge/core/outbox_policy.py``) to the link and the store. The policy stays in ``edge.core``
with the other decisions, because the cores are one package that imports no I/O (import-linter
checks it); this package is its I/O half, and nothing else of the edge lives here.
"""

from edge.outbox.sender import AlarmSender, Publish, Restored
from edge.outbox.store import AsyncOutbox, Outbox, OutboxRecord

__all__ = ["AlarmSender", "AsyncOutbox", "Outbox", "OutboxRecord", "Publish", "Restored"]
