#!/usr/bin/env python3
"""Benchmark: the default scenario (`flink-jepsen test --time-limit 60`) from start to verdict,
with warm caches, and the cluster's peak total RSS (every process in the local nodes' network
namespaces, sampled once a second).

    .venv/bin/python bin/bench-test.py [extra `flink-jepsen test` arguments]
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path


def node_pids() -> list[int]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    pids: list[int] = []
    for line in out.splitlines():
        ns = line.split()[0]
        if ns.startswith("fj-n"):
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


def main() -> int:
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            peak[0] = max(peak[0], sum(rss_kib(p) for p in node_pids()))

    threading.Thread(target=sample, daemon=True).start()
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "flink_jepsen", "test", "--time-limit", "60",
                           *sys.argv[1:]], capture_output=True, text=True)
    took = time.monotonic() - start
    done.set()
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "(no verdict)"
    print(f"verdict: {last} (exit {proc.returncode})")
    print(f"start to verdict: {took:.1f} s")
    print(f"peak total RSS of the cluster: {peak[0] / 1024 / 1024:.2f} GiB")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
