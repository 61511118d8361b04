"""Measures the analysis of a large run: a synthetic history of 1 M ops (three jobs polled as the
poller records them, an invoke and an ok or fail each, with TaskManager kills and partitions
from the nemesis) is written with the C++ recorder, then load_run's history data frame and the
timeline PNG are timed. Goal: under 3 s together on a 2-core machine.

    .venv/bin/python benchmarks/bench_analysis.py [--ops 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.analysis.events import cancels_from_history, polls_from_history
from flink_jepsen.analysis.load import load_run, read_history_frame
from flink_jepsen.analysis.plots import plot_timeline

JOBS = 3


def write_history(path: Path, ops: int, seed: int = 1) -> int:
    """Polls of three jobs in turn; every 1500 polls a fault (kill-task-managers, or a 300-poll
    partition), after which each job is down for a random while and some polls fail."""
    rng = random.Random(seed)
    jobs = [f"{rng.getrandbits(128):032x}" for _ in range(JOBS)]
    down_until = [0] * JOBS
    unreachable_until = 0
    written = 0
    with _core.HistoryRecorder(str(path)) as rec:
        i = 0
        while written < ops:
            if i % 1500 == 750:
                if (i // 1500) % 3 == 2:
                    rec.record("nemesis", "invoke", "start-partition-random-halves", None)
                    rec.record("nemesis", "info", "start-partition-random-halves",
                               {"grudge": {"n1": ["n3"], "n3": ["n1"]},
                                "shape": "halves [['n3'], ['n1', 'n2']]"})
                    unreachable_until = i + 300
                else:
                    rec.record("nemesis", "invoke", "kill-task-managers",
                               {"nodes": ["n3", "n4", "n5"]})
                    rec.record("nemesis", "info", "kill-task-managers",
                               {"nodes": ["n3", "n4", "n5"], "killed": {"n3": [101]}})
                written += 2
                down_until = [i + rng.randint(30, 400) for _ in range(JOBS)]
            if i == unreachable_until and i:
                rec.record("nemesis", "invoke", "stop-partition-random-halves", None)
                rec.record("nemesis", "info", "stop-partition-random-halves", None)
                written += 2
            p = i % JOBS
            rec.record(p, "invoke", "job-running?", jobs[p])
            if i < unreachable_until and rng.random() < 0.5:
                rec.record(p, "fail", "job-running?",
                           {"endpoint": "10.213.7.12:8081", "job": jobs[p]},
                           {"error": "connect: connection refused"})
            else:
                up = i >= down_until[p]
                rec.record(p, "ok", "job-running?", {
                    "endpoint": "10.213.7.12:8081", "job": jobs[p], "parallelism_total": 4,
                    "running": up, "state": "RUNNING", "tasks_running": 4 if up else 0,
                    "vertices": 2, "vertices_running": 2 if up else 0})
            written += 2
            i += 1
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--keep", help="write the run here and keep it (default: a temporary dir)")
    args = ap.parse_args()
    run_dir = Path(args.keep or tempfile.mkdtemp(prefix="fj-bench-analysis-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        (run_dir / "test.json").write_text(json.dumps({"options": {"workload": "availability"}}))
        t = time.perf_counter()
        n = write_history(run_dir / "history.jsonl", args.ops)
        size = (run_dir / "history.jsonl").stat().st_size
        print(f"history: {n} ops, {size / 1e6:.0f} MB, written in {time.perf_counter() - t:.2f} s")

        def timed(what, *args):
            w, c = time.perf_counter(), time.process_time()
            out = what(*args)
            return out, time.perf_counter() - w, time.process_time() - c

        (frame, _), t_frame, c_frame = timed(read_history_frame, run_dir / "history.jsonl")
        (faults, polls, _), t_events, c_events = timed(
            lambda f: (_core.check_availability(str(run_dir / "history.jsonl"))["faults"],
                       polls_from_history(f), cancels_from_history(f)), frame)
        run, t_load, c_load = timed(load_run, run_dir)
        _, t_png, c_png = timed(plot_timeline, run, run_dir / "timeline.png")
        print("                                          wall     CPU (all threads)")
        print(f"history data frame (C++ reader + pandas): {t_frame:5.2f} s  {c_frame:5.2f} s")
        print(f"checker's faults, polls from the frame:   {t_events:5.2f} s  {c_events:5.2f} s"
              f"   ({len(faults)} faults, {len(polls)} polls)")
        print(f"load_run in all:                          {t_load:5.2f} s  {c_load:5.2f} s")
        print(f"timeline PNG:                             {t_png:5.2f} s  {c_png:5.2f} s")
        total = t_load + t_png
        print(f"load_run + timeline PNG:                  {total:5.2f} s  {c_load + c_png:5.2f} s"
              f"   (goal < 3 s wall: {'met' if total < 3 else 'missed'}; load average "
              f"{os.getloadavg()[0]:.1f})")
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
