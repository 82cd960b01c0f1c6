"""The edge agent, in three parts: ``wiring`` (composition root and lifecycle), ``alarm_path``
(raise, re-press, LED, restore, ack, adopt) and ``health`` (faults by kind, rejects, the status
and heartbeat payloads); ``watchdog`` runs it under systemd (ready, the watchdog fed while
its parts live, stopping). Above ``edge.link``, ``edge.hw`` and ``edge.outbox``, which are above
the pure ``edge.core`` (import-linter's layers contract in ``pyproject.toml`` keeps it so)."""

from edge.agent.wiring import EdgeAgent

__all__ = ["EdgeAgent"]
