#!/usr/bin/env python3
"""Benchmark: the default test (`flink-jepsen test --time-limit 60`) from start to verdict, its
overhead, and what it costs as the cluster grows.

The overhead is everything but the time limit and the healthy window the stop rule waits for
after the heal (job-running-healthy-threshold x 5 s): node setup, system setup, submission, the
job's recovery after the last fault, teardown and analysis. Each run's phases are read from its
jepsen.log. The peer, measured in the same sitting, is the same test with cold JVMs
(`--no-cds`); the first run of a release records the class-data archives, so run the benchmark
once before reading the figures (it says when a run recorded). When the last fault lands
matters: a TaskManager killed while Flink deploys to it costs the job Flink's 10 s RPC timeout,
so one run's recovery varies by that much; `--repeat N` runs each case N times and the table
gives the median.

Peak RSS is the total of every process in the local nodes' network namespaces (sampled twice a
second) and, separately, the harness process itself.

    .venv/bin/python benchmarks/bench_verdict.py [--nodes 5 9 15] [--repeat 3] [--no-peer]
        [more `test` arguments]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

HEALTHY_POLL_S = 5.0  # the original's poll period behind job-running-healthy-threshold


def prefix() -> str:
    return os.environ.get("FLINK_JEPSEN_PREFIX", "fj")


def node_pids() -> list[int]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    pids: list[int] = []
    for line in out.splitlines():
        ns = line.split()[0]
        if ns.startswith(f"{prefix()}-n"):
            got = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            pids += [int(p) for p in got.stdout.split()]
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


PHASE = re.compile(r"^(\S+ \S+) info\s+\[flink_jepsen\.run\.runner\] phase (\w+)")
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def phases(log: Path) -> dict[str, float]:
    """Seconds spent in each phase, from the run's own log."""
    marks: list[tuple[str, datetime]] = []
    last = None
    for line in log.read_text(errors="replace").splitlines():
        m = PHASE.match(line)
        if m:
            marks.append((m.group(2), datetime.strptime(m.group(1), STAMP)))
        if line[:4].isdigit():
            last = line[:23]
    if last:
        marks.append(("end", datetime.strptime(last, STAMP)))
    return {a: (tb - ta).total_seconds() for (a, ta), (_b, tb) in zip(marks, marks[1:])}


def one_run(args: argparse.Namespace, nodes: int, extra: list[str]) -> dict:
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], sum(rss_kib(p) for p in node_pids()))

    threading.Thread(target=sample, daemon=True).start()
    store = Path(args.store)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "flink_jepsen", "test", "--time-limit",
                           str(args.time_limit), "--node-count", str(nodes), "--store",
                           str(store), *extra], capture_output=True, text=True)
    took = time.monotonic() - start
    done.set()
    harness_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    run_dir = (store / "latest").resolve()
    test = json.loads((run_dir / "test.json").read_text())
    healthy = float(test.get("options", test).get("job_running_healthy_threshold", 5)) \
        * HEALTHY_POLL_S
    log_text = (run_dir / "jepsen.log").read_text(errors="replace")
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "(no verdict)"
    return {"nodes": nodes, "verdict": last, "exit": proc.returncode, "took_s": took,
            "overhead_s": took - args.time_limit - healthy, "phases": phases(
                run_dir / "jepsen.log"), "cluster_gib": peak[0] / 1024 / 1024,
            "harness_mib": harness_kib / 1024, "recorded": "class-data archive for" in log_text,
            "store": str(run_dir)}


def show(label: str, r: dict) -> None:
    ph = ", ".join(f"{k} {v:.1f}" for k, v in r["phases"].items())
    rec = "  (recorded class-data archives)" if r["recorded"] else ""
    print(f"{label}: {r['verdict']} (exit {r['exit']}), start to verdict {r['took_s']:.1f} s, "
          f"overhead {r['overhead_s']:.1f} s{rec}\n    phases: {ph}\n"
          f"    peak RSS: cluster {r['cluster_gib']:.2f} GiB, harness {r['harness_mib']:.0f} MiB"
          f"\n    {r['store']}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[5], help="node counts to run")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--no-peer", action="store_true", help="skip the cold-JVM peer runs")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case; the table gives medians")
    ap.add_argument("--store", default="store/bench-test")
    ap.add_argument("--seed", type=int, default=1,
                    help="the fault schedule's seed, the same for every run so they compare")
    args, extra = ap.parse_known_args()  # the rest goes to `flink-jepsen test`
    args.extra = [a for a in extra if a != "--"] + ["--seed", str(args.seed)]
    worst = 0
    rows = []

    def runs(n: int, label: str, extra: list[str]) -> list[dict]:
        nonlocal worst
        out = []
        for i in range(args.repeat):
            r = one_run(args, n, extra)
            show(f"{label} ({i + 1}/{args.repeat})" if args.repeat > 1 else label, r)
            worst = max(worst, r["exit"])
            out.append(r)
        return out

    def median(rs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rs)

    for n in args.nodes:
        warm = runs(n, f"{n} nodes", args.extra)
        row = [n, median(warm, "took_s"), median(warm, "overhead_s"),
               max(r["cluster_gib"] for r in warm), max(r["harness_mib"] for r in warm)]
        if not args.no_peer:
            cold = runs(n, f"{n} nodes, cold JVMs (peer)", [*args.extra, "--no-cds"])
            row += [median(cold, "overhead_s"),
                    median(cold, "overhead_s") / max(row[2], 0.1)]
        rows.append(row)
    print("\nnodes  to-verdict-s  overhead-s  cluster-GiB  harness-MiB"
          + ("  cold-overhead-s  cold/warm" if not args.no_peer else ""))
    for row in rows:
        print(f"{row[0]:>5}  {row[1]:>12.1f}  {row[2]:>10.1f}  {row[3]:>11.2f}  {row[4]:>11.0f}"
              + (f"  {row[5]:>15.1f}  {row[6]:>9.2f}x" if len(row) > 5 else ""))
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
