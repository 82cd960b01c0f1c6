"""One exception tree for central. Bad input from devices or screens is never an exception
that escapes: it is logged with a reason and counted. These are for the shells' own failures."""

from __future__ import annotations


class CentralError(Exception):
    """Base of every error raised by central's own code."""


class StoreError(CentralError):
    """The store could not do what was asked (disk full, corrupt file, closed)."""


class StoreClosed(StoreError):
    """A write was submitted after the store was closed; it was not recorded."""


class LinkError(CentralError):
    """The MQTT link could not publish (not connected); the edge will resend and be re-acked."""
