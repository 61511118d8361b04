"""The exactly-once checker (cpp/check/exactly_once.cpp) in the common result shape: each kind
of anomaly (lost, duplicated, unexpected, order, state) with its count and example ops."""

from __future__ import annotations

from pathlib import Path

from flink_jepsen import _core

KINDS = ("lost", "duplicated", "unexpected", "order", "state")


class ExactlyOnceChecker:
    name = "exactly-once"

    def __init__(self, examples: int = 5) -> None:
        self.examples = examples

    def check(self, history: Path) -> dict:
        eo = _core.check_exactly_once(str(history), self.examples)
        anomalies = []
        for kind in KINDS:
            found = eo.get(kind) or {}
            if found.get("count"):
                anomalies.append({"type": kind, "count": found["count"],
                                  "ops": found.get("examples", [])})
        return {**eo, "valid?": eo.get("valid", "unknown"), "anomalies": anomalies}
