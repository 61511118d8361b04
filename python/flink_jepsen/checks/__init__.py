"""Checkers over a history, one result shape, composed into a verdict (as Jepsen's checker.clj
composes checkers).

Every checker returns a dict with `valid?` (True, False or "unknown"), `anomalies` (each a dict
with its `type` and the ops that show it) and whatever details it has. `compose` runs several
and gives the run's results: the worst verdict, every anomaly tagged with its checker, and each
checker's own result under `checks`."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from flink_jepsen.checks.verdict import merge


class Checker(Protocol):
    name: str

    def check(self, history: Path) -> dict:
        """The result of this checker over a history file."""


class OpsChecker:
    """A base for a checker of your own, written in Python over the ops as dicts (Jepsen's
    model: index, time, process, type, f, value...):

        class NoLongPause(OpsChecker):
            name = "no-long-pause"
            def check_ops(self, ops):
                bad = [o for o in ops if o["f"] == "start-pause-leader-jm" and ...]
                return {"valid?": not bad, "anomalies": [{"type": "long-pause", "ops": [...]}]}
    """
    name = "ops"

    def check(self, history: Path) -> dict:
        from flink_jepsen import _core

        ops, errors = _core.read_history(str(history))
        result = dict(self.check_ops(ops))
        if errors:
            result["valid?"] = merge(result.get("valid?", "unknown"), "unknown")
            result["error"] = f"{len(errors)} unreadable line(s) in the history"
        return result

    def check_ops(self, ops: list[dict]) -> dict:
        raise NotImplementedError


def compose(checkers: list[Checker], history: Path) -> dict:
    results: dict = {"valid?": True, "anomalies": [], "checks": {}}
    if not checkers:
        results["valid?"] = "unknown"
        results["error"] = "no checker ran"
    for c in checkers:
        r = c.check(history)
        results["checks"][c.name] = r
        results["valid?"] = merge(results["valid?"], r.get("valid?", "unknown"))
        results["anomalies"] += [{**a, "checker": c.name} for a in r.get("anomalies") or []]
        if r.get("error") and "error" not in results:
            results["error"] = f"{c.name}: {r['error']}"
    return results


def section(results: dict, name: str) -> dict:
    """One checker's result from a run's results.json. Runs stored before checkers were
    composed kept availability at the top level and exactly-once under its name."""
    checks = results.get("checks")
    if isinstance(checks, dict):
        return checks.get(name) or {}
    if name == "availability":
        return results
    return results.get(name) or {}
