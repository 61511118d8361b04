"""The finished-once checker of bounded jobs (cpp/check/finished_once.cpp) in the common result
shape: every job reaches FINISHED, and none is seen scheduled or running after it ended, nor
logged as finished twice by the JobManagers (an application cluster closes its REST endpoint as
soon as the job ends, so a poll can miss an end; the logs collected into the run's store do
not)."""

from __future__ import annotations

import re
from pathlib import Path

from flink_jepsen import _core

LOG_NAME = re.compile(r"\.log(\.\d+)?$")


def logged_ends(run_dir: Path, jobs: list[str]) -> dict[str, list[dict]]:
    """Per job, every 'Job <name> (<id>) switched from state <S> to FINISHED.' line in the
    node logs of the store (nodes/<node>/...), as {where: 'n1/log/...:<line>', line}."""
    ends: dict[str, list[dict]] = {j: [] for j in jobs}
    nodes = Path(run_dir) / "nodes"
    if not jobs or not nodes.is_dir():
        return ends
    wanted = {f"({j}) switched from state": j for j in jobs}
    for log in sorted(p for p in nodes.rglob("*") if LOG_NAME.search(p.name) and p.is_file()):
        with log.open(errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if "to FINISHED" not in line or "switched from state" not in line:
                    continue
                for key, job in wanted.items():
                    if key in line:
                        ends[job].append({"where": f"{log.relative_to(nodes).as_posix()}:"
                                                   f"{number}", "line": line.strip()[:400]})
    for found in ends.values():
        found.sort(key=lambda e: e["line"][:23])  # log4j lines start with their time stamp
    return ends


class FinishedOnceChecker:
    name = "finished-once"

    def __init__(self, jobs: list[str], examples: int = 5) -> None:
        self.jobs = list(jobs)
        self.examples = examples

    def check(self, history: Path) -> dict:
        ends = logged_ends(Path(history).parent, self.jobs)
        r = _core.check_finished_once(str(history), self.jobs, self.examples,
                                      ends if any(ends.values()) else None)
        return {**r, "valid?": r.get("valid", "unknown")}
