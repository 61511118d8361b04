#!/usr/bin/env python3
"""Benchmark: `true` on 5 local nodes through the pooled libssh fan-out (persistent shells),
against the peers measured in the same run: the same pool with a new exec channel per command
(what it did before), OpenSSH with ControlMaster multiplexing (warm masters, parallel: the best a
shell-based harness can do), and the OpenSSH client started once per node per command.

Prints the median wall time per round of each and its ratio to the pooled fan-out; then the
same for uploading 20 small files and one 10 MB file to every node (pooled batch upload against
one upload call per file, and against scp over the warm ControlMaster). Needs root (it brings up
local nodes with sshd under a private prefix and removes them afterwards).

    .venv/bin/python benchmarks/bench_fanout.py [--rounds 200]   (after bin/install.sh)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def timed(rounds: int, one_round: Callable[[], None]) -> list[float]:
    """Wall seconds of each round."""
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        one_round()
        out.append(time.perf_counter() - t)
    return out


def run_all(argvs: list[list[str]]) -> None:
    """Starts every client at once and waits for all: a parallel round of a shell harness."""
    procs = [subprocess.Popen(a, stdin=subprocess.DEVNULL) for a in argvs]
    for p, a in zip(procs, argvs):
        if p.wait() != 0:
            raise SystemExit(f"failed ({p.returncode}): {' '.join(a)}")


def make_files(root: Path) -> list[Path]:
    """20 small files (1 KiB to 20 KiB) and one of 10 MB, random bytes."""
    root.mkdir(parents=True)
    files = []
    for i in range(20):
        f = root / f"small-{i:02d}.conf"
        f.write_bytes(os.urandom(1024 * (i + 1)))
        files.append(f)
    big = root / "big.bin"
    big.write_bytes(os.urandom(10 * 1024 * 1024))
    files.append(big)
    return files


def report(label: str, base: float, figures: dict[str, list[float]]) -> None:
    print(label)
    for name, xs in figures.items():
        m = statistics.median(xs)
        ratio = "" if m == base else f"  ({m / base:5.1f}x the pooled time)"
        print(f"  {name:<44} median {m * 1000:8.2f} ms/round (best {min(xs) * 1000:7.2f}){ratio}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--upload-rounds", type=int, default=10)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="fj-bench-")
    os.environ.update({"FLINK_JEPSEN_HOME": home, "FLINK_JEPSEN_PREFIX": "fjb"})
    from flink_jepsen import _core
    from flink_jepsen import log as fjlog
    from flink_jepsen.nodes.local import LocalNodes

    fjlog.setup("warn")
    local = LocalNodes()
    nodes = local.up(args.nodes, "10.213.12.0/24", sshd=True)
    control = Path(home) / "cm"
    control.mkdir()
    key = str(local.ssh_dir / "id_ed25519")
    base = ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    mux = ["-o", "ControlMaster=auto", "-o", "ControlPersist=300", "-o",
           f"ControlPath={control}/%h"]
    hosts = [f"root@{n.address}" for n in nodes]
    cmd: dict[str, Any] = {}
    up: dict[str, Any] = {}
    try:
        ssh = local.remotes("ssh")
        remotes = [ssh[n.name] for n in nodes]
        _core.fan_out_check(remotes, "true")  # connect the pool (not timed)
        _core.fan_out_check(remotes, "true", stdin="")
        run_all([[*base, *mux, h, "true"] for h in hosts])  # open the masters (not timed)
        cmd["pooled libssh fan-out (persistent shells)"] = timed(
            args.rounds, lambda: _core.fan_out_check(remotes, "true"))
        cmd["pooled libssh, exec channel per command"] = timed(
            args.rounds, lambda: _core.fan_out_check(remotes, "true", stdin=""))
        cmd["OpenSSH ControlMaster (warm), parallel"] = timed(
            max(20, args.rounds // 4), lambda: run_all([[*base, *mux, h, "true"] for h in hosts]))
        cmd["ssh client per command, parallel"] = timed(
            max(5, args.rounds // 20), lambda: run_all([[*base, h, "true"] for h in hosts]))

        def one_after_other() -> None:
            for h in hosts:
                run_all([[*base, h, "true"]])

        cmd["ssh client per command, one after other"] = timed(
            max(3, args.rounds // 40), one_after_other)

        files = make_files(Path(home) / "files")
        dest = "/tmp/fj-bench-upload"
        pairs = [(str(f), f"{dest}/d{i % 4}/{f.name}") for i, f in enumerate(files)]
        wipe = f"rm -rf {dest}"

        def batch() -> None:
            _core.fan_out_check(remotes, wipe)
            _core.upload_to_all(remotes, pairs)

        def per_file() -> None:
            _core.fan_out_check(remotes, wipe)
            with ThreadPoolExecutor(len(remotes)) as pool:
                list(pool.map(lambda r: [r.upload(a, b) for a, b in pairs], remotes))

        def scp() -> None:
            _core.fan_out_check(remotes, wipe)
            mk = "mkdir -p " + " ".join(f"{dest}/d{i}" for i in range(4))
            run_all([[*base, *mux, h, mk] for h in hosts])
            scp_base = ["scp", "-q", "-p", *base[1:], *mux]
            argvs = []
            for h in hosts:
                for d in range(4):
                    group = [str(f) for i, f in enumerate(files) if i % 4 == d]
                    argvs.append([*scp_base, *group, f"{h}:{dest}/d{d}/"])
            run_all(argvs)

        up["pooled libssh upload_to_all (batched)"] = timed(args.upload_rounds, batch)
        up["pooled libssh, one upload call per file"] = timed(args.upload_rounds, per_file)
        up["scp over ControlMaster (warm), parallel"] = timed(args.upload_rounds, scp)
        want = sorted(f"{hashlib.md5(Path(a).read_bytes()).hexdigest()}  {b}" for a, b in pairs)
        for r in _core.fan_out_check(remotes, f"find {dest} -type f -exec md5sum {{}} +"):
            if sorted(r.out.splitlines()) != want:
                raise SystemExit(f"{r.node}: uploaded files differ from the local ones")
        _core.fan_out_check(remotes, wipe)
    finally:
        subprocess.run([*base, *mux, "-O", "exit", *hosts[:1]], capture_output=True)
        for h in hosts[1:]:
            subprocess.run([*base, *mux, "-O", "exit", h], capture_output=True)
        local.down()
        shutil.rmtree(home, ignore_errors=True)
    first = next(iter(cmd))
    print(f"nodes={len(nodes)} rounds={args.rounds} (`true` on every node per round)")
    report("command fan-out:", statistics.median(cmd[first]), cmd)
    cm = statistics.median(cmd["OpenSSH ControlMaster (warm), parallel"])
    print(f"  => pooled fan-out is {cm / statistics.median(cmd[first]):.1f}x faster than "
          "OpenSSH ControlMaster")
    if up:
        print(f"uploads: 20 small files + one 10 MB file to each of {len(nodes)} nodes, "
              f"rounds={args.upload_rounds}")
        report("upload fan-out:", statistics.median(next(iter(up.values()))), up)


if __name__ == "__main__":
    main()
