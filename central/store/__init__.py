"""The alarm record (SQLite now; PostgreSQL later behind the same interface)."""

from central.store.sqlite import Store

__all__ = ["Store"]
