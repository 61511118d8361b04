#!/usr/bin/env python3
"""Benchmark: `true` on 5 local nodes through the pooled libssh fan-out, against the OpenSSH
client started once per node per command (the way a shell loop or a naive harness does it).

Prints the median wall time per round of each, and the ratio. Needs root (it brings up local
nodes with sshd under a private prefix and removes them afterwards).

    .venv/bin/python bin/bench-fanout.py [--rounds 50]   (after bin/install.sh)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--nodes", type=int, default=5)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="fj-bench-")
    os.environ.update({"FLINK_JEPSEN_HOME": home, "FLINK_JEPSEN_PREFIX": "fjb"})
    from flink_jepsen import _core
    from flink_jepsen import log as fjlog
    from flink_jepsen.nodes.local import LocalNodes

    fjlog.setup("warn")
    local = LocalNodes()
    nodes = local.up(args.nodes, "10.213.12.0/24", sshd=True)
    try:
        ssh = local.remotes("ssh")
        remotes = [ssh[n.name] for n in nodes]
        _core.fan_out_check(remotes, "true")  # connect the pool (not timed)
        pooled = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            _core.fan_out_check(remotes, "true")
            pooled.append(time.perf_counter() - t)

        key = str(local.ssh_dir / "id_ed25519")
        base = ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]

        def one(n) -> None:
            subprocess.run([*base, f"root@{n.address}", "true"], check=True)

        parallel, serial = [], []
        with ThreadPoolExecutor(len(nodes)) as pool:
            for _ in range(max(5, args.rounds // 5)):
                t = time.perf_counter()
                list(pool.map(one, nodes))
                parallel.append(time.perf_counter() - t)
        for _ in range(max(3, args.rounds // 10)):
            t = time.perf_counter()
            for n in nodes:
                one(n)
            serial.append(time.perf_counter() - t)
    finally:
        local.down()
    mp, mc, ms = (statistics.median(x) for x in (pooled, parallel, serial))
    print(f"nodes={len(nodes)} rounds={args.rounds}")
    print(f"pooled libssh fan-out      median {mp * 1000:8.2f} ms/round")
    print(f"ssh client, parallel       median {mc * 1000:8.2f} ms/round  ({mc / mp:6.1f}x slower)")
    print(f"ssh client, one after other median {ms * 1000:8.2f} ms/round  ({ms / mp:6.1f}x slower)")


if __name__ == "__main__":
    main()
