"""The finished-once checker of bounded jobs (cpp/check/finished_once.cpp) in the common result
shape: every job reaches FINISHED, and none is seen scheduled or running after it ended."""

from __future__ import annotations

from pathlib import Path

from flink_jepsen import _core


class FinishedOnceChecker:
    name = "finished-once"

    def __init__(self, jobs: list[str], examples: int = 5) -> None:
        self.jobs = list(jobs)
        self.examples = examples

    def check(self, history: Path) -> dict:
        r = _core.check_finished_once(str(history), self.jobs, self.examples)
        return {**r, "valid?": r.get("valid", "unknown")}
