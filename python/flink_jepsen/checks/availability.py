"""The availability checker (cpp/check/availability.cpp): did every job stay or become
available within the grace period after each fault, the original's rules."""

from __future__ import annotations

from pathlib import Path

from flink_jepsen import _core


class AvailabilityChecker:
    name = "availability"

    def __init__(self, parameters: dict) -> None:
        """parameters: TestOptions.checker_parameters(jobs), the same as the live stop rule's."""
        self.parameters = parameters

    def check(self, history: Path) -> dict:
        return _core.check_availability(str(history), **self.parameters)
