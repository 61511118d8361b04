#!/usr/bin/env python3
"""Benchmark: from the decision to the fault in place, through the core's FaultInjector.

(a) SIGKILL to a marker process on each of 3 nodes: FaultInjector.signal over the netns remotes
    (native /proc scan, no child process) and over the pooled libssh remotes (one bash snippet
    per node), against OpenSSH with connection multiplexing (ControlMaster, master connected
    before timing) running the pgrep/kill snippet the harness used before, on the 3 nodes in
    parallel. Every marker is checked dead after each round.
(b) A random-halves partition of 5 nodes (complete grudge): FaultInjector.partition over netns
    and over SSH (one iptables-restore per node), the previous script (two iptables processes
    per peer) over netns, and OpenSSH ControlMaster running each node's iptables commands in
    parallel. Healed between rounds (not timed).

Paths are interleaved round by round (the order rotating), so a load that comes and goes weighs
on all of them alike. Prints median and p95 per path. Needs root: it brings up 5 local nodes
with sshd under a private prefix (fjf, subnet 10.213.14.0/24, a temporary FLINK_JEPSEN_HOME)
and removes them.

    .venv/bin/python benchmarks/bench_faults.py [--rounds 50]   (after bin/install.sh)
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PREFIX = "fjf"
SUBNET = "10.213.14.0/24"
CHAIN = "FJ-PARTITION"


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def pids_command(pattern: str) -> str:
    """The harness's previous snippet (cluster.py): pgrep on a bracketed pattern, restricted to
    the shell's own network namespace."""
    bracketed = f"[{pattern[0]}]{pattern[1:]}"
    return ("me=$(readlink /proc/self/ns/net); "
            f"for p in $(pgrep -f -- {shlex.quote(bracketed)}); do "
            "[ \"$(readlink /proc/$p/ns/net 2>/dev/null)\" = \"$me\" ] && echo $p; done; true")


def kill_command(pattern: str) -> str:
    return f"pids=$({pids_command(pattern)}); [ -n \"$pids\" ] && kill -KILL $pids; echo $pids"


def process_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat[stat.rindex(")") + 2]


def wait_dead(pids: list[int], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(process_state(p) in ("gone", "Z", "X") for p in pids):
            return True
        time.sleep(0.002)
    return False


class OpenSsh:
    """The OpenSSH client with one multiplexed master connection per node."""

    def __init__(self, key: Path, control_dir: Path) -> None:
        self.base = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no",
                     "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                     "-o", "LogLevel=ERROR", "-o", "ControlMaster=auto",
                     "-o", f"ControlPath={control_dir}/cm-%h", "-o", "ControlPersist=300"]
        self.hosts: set[str] = set()

    def run(self, address: str, command: str) -> str:
        self.hosts.add(address)
        return subprocess.run([*self.base, f"root@{address}", command], check=True,
                              capture_output=True, text=True).stdout

    def close(self) -> None:
        for h in self.hosts:
            subprocess.run([*self.base, "-O", "exit", f"root@{h}"], capture_output=True)


def start_markers(netns: dict, nodes: list, marker: str) -> list[int]:
    """One detached `sleep 1000` named `marker` per node; returns their pids once they run."""
    from flink_jepsen import _core

    cmd = (f"setsid bash -c {shlex.quote(f'exec -a {marker} sleep 1000')} "
           "</dev/null >/dev/null 2>&1 & echo $!")
    results = _core.fan_out_check([netns[n.name] for n in nodes], cmd, timeout=10)
    pids = [int(r.out.split()[0]) for r in results]
    deadline = time.monotonic() + 5
    for pid in pids:
        while not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(marker.encode()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"marker {marker} did not start")
            time.sleep(0.001)
    return pids


def kill_round(name: str, nodes: list, netns: dict,
               kill: Callable[[str], dict[str, list[int]]]) -> float:
    """Markers on the nodes (not timed), then the kill, timed until it returns; every marker
    must be among the pids reported and dead."""
    marker = f"fjmarker-{name}-{uuid.uuid4().hex[:12]}"
    pids = start_markers(netns, nodes, marker)
    t = time.perf_counter()
    killed = kill(marker)
    took = time.perf_counter() - t
    if sorted(p for v in killed.values() for p in v) != sorted(pids):
        raise RuntimeError(f"{name}: killed {killed}, expected {pids}")
    if not wait_dead(pids):
        raise RuntimeError(f"{name}: a marker of {pids} survived")
    return took


def interleaved(rounds: int, paths: list[tuple[str, Callable[[], float]]]
                ) -> list[tuple[str, list[float]]]:
    """Runs every path once per round, the order rotating, so a load that comes and goes
    (this machine is shared) weighs on all paths alike."""
    times: dict[str, list[float]] = {name: [] for name, _ in paths}
    for i in range(rounds):
        k = i % len(paths)
        for name, run in paths[k:] + paths[:k]:
            times[name].append(run())
    return [(name, times[name]) for name, _ in paths]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="fj-bench-faults-")
    os.environ.update({"FLINK_JEPSEN_HOME": home, "FLINK_JEPSEN_PREFIX": PREFIX})
    from flink_jepsen import _core
    from flink_jepsen import log as fjlog
    from flink_jepsen.nodes.local import LocalNodes

    fjlog.setup("warn")
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    local = LocalNodes()
    control_dir = Path(tempfile.mkdtemp(prefix="fj-cm-", dir="/tmp"))
    ossh = None
    rows: list[tuple[str, list[float]]] = []
    try:
        nodes = local.up(5, SUBNET, sshd=True)
        netns, ssh = local.remotes("netns"), local.remotes("ssh")
        addresses = {n.name: n.address for n in nodes}
        history = _core.HistoryRecorder(str(Path(home) / "history.jsonl"))
        fi_netns = _core.FaultInjector(netns, addresses, history)
        fi_ssh = _core.FaultInjector(ssh, addresses, history)
        _core.fan_out_check(list(ssh.values()), "true")  # connect the pool (not timed)
        ossh = OpenSsh(local.ssh_dir / "id_ed25519", control_dir)
        for n in nodes:
            ossh.run(n.address, "true")  # the masters (not timed)

        # (a) kill on 3 nodes ------------------------------------------------------------------
        three = nodes[:3]

        def via(fi) -> Callable[[str], dict[str, list[int]]]:
            def kill(marker: str) -> dict[str, list[int]]:
                out = fi.signal("kill-bench", {n.name: [marker] for n in three}, "KILL")
                return out["killed"]
            return kill

        with ThreadPoolExecutor(len(nodes)) as pool:
            def openssh_kill(marker: str) -> dict[str, list[int]]:
                outs = pool.map(lambda n: ossh.run(n.address, kill_command(marker)), three)
                return {n.name: [int(p) for p in o.split()] for n, o in zip(three, outs)}

            rows += interleaved(args.rounds, [
                ("kill x3, netns (native scan)",
                 lambda: kill_round("netns", three, netns, via(fi_netns))),
                ("kill x3, libssh pool (snippet)",
                 lambda: kill_round("libssh", three, netns, via(fi_ssh))),
                ("kill x3, OpenSSH ControlMaster (previous snippet)",
                 lambda: kill_round("openssh", three, netns, openssh_kill)),
            ])

            # (b) 5-node random-halves partition -------------------------------------------------
            names = [n.name for n in nodes]
            fi_netns.setup()
            flush = f"iptables -w -F {CHAIN}"

            def grudge_of(seed: int) -> dict:
                return _core.complete_grudge(_core.random_halves(names, seed))

            def check_cut(grudge: dict) -> None:
                for node, peers in grudge.items():
                    rules = netns[node].check(f"iptables -w -S {CHAIN}").out
                    if sorted(rules.count(f"-s {addresses[p]}/32 ") for p in peers) != \
                            [1] * len(peers):
                        raise RuntimeError(f"{node}: rules {rules!r} do not drop {peers}")

            seeds = iter(range(1_000_000))

            def partition_round(apply: Callable[[int], dict], healer=fi_netns) -> float:
                t = time.perf_counter()
                grudge = apply(next(seeds))
                took = time.perf_counter() - t
                check_cut(grudge)
                healer.heal("stop-partition-bench")  # the injector that knows the cut
                return took

            def injector(fi) -> Callable[[int], dict]:
                def apply(seed: int) -> dict:
                    out = fi.partition("start-partition-bench",
                                       {"shape": "random-halves", "nodes": names, "seed": seed})
                    if "error" in out:
                        raise RuntimeError(out["error"])
                    return out["grudge"]
                return apply

            def previous_script(seed: int) -> dict:
                # Partitioner::drop before iptables-restore: two iptables processes per peer.
                grudge = grudge_of(seed)
                remotes, scripts = [], []
                for node, peers in grudge.items():
                    lines = [f"iptables -w -C {CHAIN} -s {addresses[p]} -j DROP 2>/dev/null || "
                             f"iptables -w -A {CHAIN} -s {addresses[p]} -j DROP" for p in peers]
                    remotes.append(netns[node])
                    scripts.append("\n".join(lines))
                list(pool.map(lambda rs: rs[0].check(rs[1]), zip(remotes, scripts)))
                return grudge

            def openssh_partition(seed: int) -> dict:
                grudge = grudge_of(seed)
                list(pool.map(lambda item: ossh.run(addresses[item[0]], " && ".join(
                    f"iptables -w -A {CHAIN} -s {addresses[p]} -j DROP" for p in item[1])),
                    grudge.items()))
                return grudge

            rows += interleaved(args.rounds, [
                ("partition x5, netns (iptables-restore)",
                 lambda: partition_round(injector(fi_netns))),
                ("partition x5, libssh pool (iptables-restore)",
                 lambda: partition_round(injector(fi_ssh), fi_ssh)),
                ("partition x5, netns (previous: 2 iptables/peer)",
                 lambda: partition_round(previous_script)),
                ("partition x5, OpenSSH ControlMaster (iptables/peer)",
                 lambda: partition_round(openssh_partition)),
            ])
            _core.fan_out(list(netns.values()), flush)
            fi_netns.teardown()
        history.close()
    finally:
        if ossh is not None:
            ossh.close()
        local.down()
        shutil.rmtree(control_dir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    print(f"rounds={args.rounds}  (kill: 3 nodes, SIGKILL, every marker verified dead; "
          "partition: 5 nodes, random halves)")
    print(f"load average before: {load_before}")
    print(f"{'path':<56} {'median ms':>10} {'p95 ms':>10}")
    for name, xs in rows:
        print(f"{name:<56} {statistics.median(xs) * 1000:10.2f} {p95(xs) * 1000:10.2f}")


if __name__ == "__main__":
    main()
