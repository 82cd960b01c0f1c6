"""One exception tree for the edge agent: every error it raises on purpose is an EdgeError."""

from __future__ import annotations


class EdgeError(Exception):
    """Something the edge agent cannot do, with a message that says why."""


class UnknownInput(EdgeError, KeyError):
    """An event names an input that is not in the configuration."""

    def __init__(self, input_name: str) -> None:
        super().__init__(f"input {input_name!r} is not configured")
        self.input_name = input_name

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class OutboxError(EdgeError):
    """The durable outbox cannot be opened or written."""


class HardwareError(EdgeError):
    """A GPIO pin or output cannot be set up (wrong pin, pin in use, no pin factory)."""
