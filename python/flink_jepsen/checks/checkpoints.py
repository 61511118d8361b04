"""The checkpoint-continuity checker (cpp/check/checkpoints.cpp) in the common result shape: a
job's completed checkpoint ids never go back, i.e. its checkpoints outlived every change of
leader (an id that starts again from 1 means the HA store was wiped and the job went on from an
empty state)."""

from __future__ import annotations

from pathlib import Path

from flink_jepsen import _core


class CheckpointChecker:
    name = "checkpoints"

    def __init__(self, jobs: list[str], examples: int = 5) -> None:
        self.jobs = list(jobs)
        self.examples = examples

    def check(self, history: Path) -> dict:
        r = _core.check_checkpoints(str(history), self.jobs, self.examples)
        return {**r, "valid?": r.get("valid", "unknown")}
