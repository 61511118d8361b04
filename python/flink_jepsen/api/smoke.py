"""The nodes smoke scenario: local nodes up (with sshd), the same commands over both remotes,
a real partition proven with TCP connections, healed, nodes down. A run in the store like any
test, with a verdict: it is how a newcomer sees that the ground under the Flink tests holds."""

from __future__ import annotations

import logging
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.checks import verdict
from flink_jepsen.nodes.local import DEFAULT_SUBNET, LocalNodes
from flink_jepsen.nodes.probe import reachability, start_listeners, stop_listeners
from flink_jepsen.store import Run, collect_node_logs

log = logging.getLogger("flink_jepsen.api.smoke")
PROBE_PORT = 7777
COMMAND = "hostname; ip -4 -o addr show eth0 | awk '{print $4}'; getent hosts n1 | awk '{print $1}'"


def run_smoke(store: Path, count: int = 5, subnet: str = DEFAULT_SUBNET,
              keep: bool = False) -> int:
    run = Run(store, "nodes-smoke")
    checks: dict[str, bool] = {}
    results: dict = {"checks": checks}
    local = LocalNodes()
    made_here = not local.is_up()
    netns: dict = {}
    nodes: list = []
    partitioner = None
    try:
        log.info("phase nodes: %d local nodes with sshd", count)
        nodes = local.up(count, subnet, sshd=True)
        netns = local.remotes("netns")
        ssh = local.remotes("ssh")
        names = [n.name for n in nodes]
        a = _core.fan_out_check([netns[n] for n in names], COMMAND, timeout=30)
        b = _core.fan_out_check([ssh[n] for n in names], COMMAND, timeout=30)
        for n, x, y in zip(nodes, a, b):
            log.info("%s: netns says %s | ssh says %s", n.name, x.out.split(), y.out.split())
        checks["same output over netns and ssh"] = [x.out for x in a] == [y.out for y in b]
        checks["every node knows its own name and address"] = all(
            x.out.split()[:2] == [n.name, f"{n.address}/{local.state()['subnet'].split('/')[1]}"]
            for n, x in zip(nodes, a)
        )

        log.info("phase partition: TCP listeners on port %d", PROBE_PORT)
        start_listeners(netns, nodes, PROBE_PORT)
        before = reachability(netns, nodes, PROBE_PORT)
        checks["all pairs connect before the partition"] = all(before.values())

        partitioner = _core.Partitioner(netns, {n.name: n.address for n in nodes})
        partitioner.setup()
        halves = _core.bisect(names)
        grudge = _core.complete_grudge(halves)
        log.info("cutting the network into halves %s", halves)
        partitioner.drop(grudge)
        during = reachability(netns, nodes, PROBE_PORT)
        cut_ok = all(during[(a_, b_)] == (b_ not in grudge.get(a_, set()) and
                                          a_ not in grudge.get(b_, set()))
                     for (a_, b_) in during)
        checks["exactly the cut pairs fail to connect during the partition"] = cut_ok
        results["during_partition"] = {f"{k[0]}->{k[1]}": v for k, v in during.items()}

        partitioner.heal()
        after = reachability(netns, nodes, PROBE_PORT)
        checks["all pairs connect after healing"] = all(after.values())
        valid: bool | str = all(checks.values())
    except Exception as e:  # noqa: BLE001 - any failure makes the verdict unknown, not a crash
        log.exception("smoke scenario failed: %s", e)
        results["error"] = str(e)
        valid = "unknown"
    finally:
        if nodes and netns:
            stop_listeners(netns, nodes, PROBE_PORT)
            collect_node_logs(run, netns, nodes)
        if partitioner is not None:
            partitioner.teardown()
        if made_here and not keep:
            local.down()
    for name, ok in checks.items():
        log.info("check %-60s %s", name, "ok" if ok else "FAILED")
    results["valid?"] = valid
    run.write_json("results.json", results)
    log.info("results in %s", run.dir)
    run.close()
    print(verdict.line(valid), flush=True)
    return verdict.exit_status(valid)
