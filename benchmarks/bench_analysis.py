"""Measures the analysis of a large run: a synthetic history of 1 M ops (three jobs polled as the
poller records them, an invoke and an ok or fail each, with TaskManager kills and partitions
from the nemesis) is written with the C++ recorder, with its results.json as the run would have
written it (the availability checker's result), then load_run's data frames (history, polls,
cancels, faults, outages) and the timeline PNG are timed. Goal: under 1 s together on a 2-core
machine. The peer, measured in the same run: pandas reading the same JSONL
(``pd.read_json(lines=True)``) into the same history frame; its frame is checked equal to ours.

    python benchmarks/bench_analysis.py [--ops 1000000] [--repeat 3] [--no-peer] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from flink_jepsen import _core
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


def pandas_history_frame(path: Path) -> pd.DataFrame:
    """The peer: the history frame read_history_frame makes (same columns, dtypes and texts),
    with pandas reading the JSON Lines and Python writing each value back as JSON text."""
    raw = pd.read_json(path, lines=True, dtype=False)
    values = raw["value"] if "value" in raw else pd.Series(None, index=raw.index, dtype=object)
    errors = raw["error"] if "error" in raw else pd.Series(None, index=raw.index, dtype=object)
    frame = pd.DataFrame({
        "index": raw["index"].to_numpy(dtype=np.int64),
        "time": raw["time"].to_numpy(dtype=np.int64),
        "time_s": raw["time"].to_numpy(dtype=np.int64) / 1e9,
        "process": pd.Categorical(raw["process"].astype(str)),
        "type": pd.Categorical(raw["type"]),
        "f": pd.Categorical(raw["f"]),
        "value": pd.Series([json.dumps(None if isinstance(v, float) and v != v else v,
                                       sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                            for v in values], dtype=object),
        "error": pd.Series([None if e is None or (isinstance(e, float) and e != e) else
                            e if isinstance(e, str) else json.dumps(e, sort_keys=True)
                            for e in errors], dtype=object),
    })
    return frame.sort_values("index", kind="stable", ignore_index=True)


def same_frame(ours: pd.DataFrame, peer: pd.DataFrame) -> str:
    """"" when the two history frames hold the same rows, else what differs."""
    if list(ours.columns) != list(peer.columns) or len(ours) != len(peer):
        return f"shape: {list(ours.columns)} x {len(ours)} vs {list(peer.columns)} x {len(peer)}"
    for c in ours.columns:
        if ours[c].dtype != peer[c].dtype and not isinstance(ours[c].dtype, pd.CategoricalDtype):
            return f"column {c}: dtype {ours[c].dtype} vs {peer[c].dtype}"
        a, b = ours[c].to_numpy(dtype=object), peer[c].to_numpy(dtype=object)
        if c == "time_s":
            same = np.allclose(a.astype(float), b.astype(float))
        else:
            same = bool((a == b).all())
        if not same:
            return f"column {c}"
    return ""


def timed(what, *args):
    """(what(*args), wall seconds, CPU seconds of this process, every thread)."""
    w, c = time.perf_counter(), time.process_time()
    out = what(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def analyse(run_dir: Path) -> tuple[dict[str, tuple[float, float]], object]:
    """One pass of what the report needs: load_run (every data frame) and the timeline PNG."""
    (frame, _), t_frame, c_frame = timed(read_history_frame, run_dir / "history.jsonl")
    run, t_load, c_load = timed(load_run, run_dir)
    _, t_png, c_png = timed(plot_timeline, run, run_dir / "timeline.png")
    return {"history frame alone": (t_frame, c_frame), "load_run (all frames)": (t_load, c_load),
            "timeline PNG": (t_png, c_png),
            "load_run + timeline PNG": (t_load + t_png, c_load + c_png)}, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="passes of ours (best and median shown)")
    ap.add_argument("--no-peer", action="store_true", help="leave out pandas.read_json (slow)")
    ap.add_argument("--keep", help="write the run here and keep it (default: a temporary dir)")
    args = ap.parse_args()
    run_dir = Path(args.keep or tempfile.mkdtemp(prefix="fj-bench-analysis-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    history = run_dir / "history.jsonl"
    try:
        (run_dir / "test.json").write_text(json.dumps({"options": {"workload": "availability"}}))
        t = time.perf_counter()
        n = write_history(history, args.ops)
        print(f"history: {n} ops, {history.stat().st_size / 1e6:.0f} MB, written in "
              f"{time.perf_counter() - t:.2f} s")
        # The run stored the checker's result; load_run takes faults and outages from it.
        checked, t_check, c_check = timed(_core.check_availability, str(history))
        (run_dir / "results.json").write_text(json.dumps(
            {"valid?": checked["valid?"], "checks": {"availability": checked}}))
        print(f"the availability checker (as the run ran it, not timed below): {t_check:.2f} s "
              f"wall, {c_check:.2f} s CPU; {len(checked['faults'])} faults")

        passes = []
        for _ in range(args.repeat):
            figures, run = analyse(run_dir)
            passes.append(figures)
        print(f"ours, {args.repeat} passes               best wall  median wall  median CPU")
        for what in passes[0]:
            walls = [p[what][0] for p in passes]
            cpus = [p[what][1] for p in passes]
            print(f"  {what:<30} {min(walls):8.3f} s {statistics.median(walls):10.3f} s "
                  f"{statistics.median(cpus):9.3f} s")
        print(f"  ({len(run.history)} ops, {len(run.polls)} polls, {len(run.faults)} faults, "
              f"{len(run.outages)} outages)")
        # A run stored before its results (or analysed again): the checker re-runs in load_run.
        (run_dir / "results.json").rename(run_dir / "results.json.kept")
        _, t_again, c_again = timed(load_run, run_dir)
        (run_dir / "results.json.kept").rename(run_dir / "results.json")
        print(f"  {'load_run without results.json':<30} {t_again:8.3f} s (one pass; the "
              f"checker re-runs over the history; {c_again:.3f} s CPU)")
        best = min(p["load_run + timeline PNG"][0] for p in passes)
        print(f"goal: load_run + timeline PNG < 1 s wall: {'met' if best < 1 else 'missed'} "
              f"(best {best:.3f} s; load average {os.getloadavg()[0]:.1f})")

        if args.no_peer:
            return
        peer, t_peer, c_peer = timed(pandas_history_frame, history)
        ours = min(p["history frame alone"][0] for p in passes)
        ours_cpu = statistics.median(p["history frame alone"][1] for p in passes)
        differs = same_frame(read_history_frame(history)[0], peer)
        print(f"peer: pandas.read_json(lines=True) into the same frame: {t_peer:.2f} s wall, "
              f"{c_peer:.2f} s CPU ({'the same frame' if not differs else 'DIFFERS: ' + differs})")
        print(f"ratio, history frame: pandas / ours = {t_peer / ours:.1f}x wall (best of ours), "
              f"{c_peer / ours_cpu:.1f}x CPU")
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
