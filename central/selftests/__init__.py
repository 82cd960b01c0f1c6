"""Self-tests (standard 3.5): schedules, device self-tests, end-to-end test alarms, rounds."""

from central.selftests.service import SelfTesting, UnknownSchedule

__all__ = ["SelfTesting", "UnknownSchedule"]
