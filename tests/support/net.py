"""Loopback helpers for tests and benchmarks (the simulator's, so there is one of each)."""

from firmware_sim.broker import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
