"""The nodes of a run: local namespaces (made on demand, removed afterwards when this run made
them) or real hosts over SSH, as one Cluster every system is handed."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.local import LocalNodes
from flink_jepsen.nodes.node import Node
from flink_jepsen.nodes.remotes import ssh_remote


@dataclass
class RunNodes:
    cluster: Cluster
    local: LocalNodes | None = None   # the local nodes, when the run uses them
    made: bool = False                # this run brought them up (and so removes them)

    @property
    def shared_dir(self) -> Path | None:
        return self.cluster.shared_dir

    def remove(self) -> None:
        """Removes the local nodes this run made (real hosts stay as they were)."""
        if self.local is not None and self.made:
            self.local.down()


def provision(options, run_id: str) -> RunNodes:
    """Brings the nodes up (local) or checks they answer (SSH), and makes each node's run, log,
    tmp and data directories."""
    o = options
    if o.remote == "netns":
        local = LocalNodes()
        made = not local.is_up()
        nodes = local.up(o.node_count) if made else local.nodes()
        if len(nodes) < 3:
            raise UsageError(f"the local nodes that are up are {len(nodes)}; a test needs at "
                             "least 3 (run `flink-jepsen nodes down` first)")
        shared = local.shared_dir(run_id)
        run_nodes = RunNodes(Cluster(nodes, local.remotes("netns"), True, shared), local, made)
    else:
        nodes = [Node(h, h, f"{o.node_root}/{h}") for h in o.nodes]
        run_nodes = RunNodes(Cluster(nodes, {n.name: ssh_remote(n, o.ssh) for n in nodes},
                                     False))
        run_nodes.cluster.on(nodes, "true", timeout=60)  # reachable, authenticated
    c = run_nodes.cluster
    # Every node's directories on every node: Flink's YARN client hands its own node's
    # io.tmp.dirs to containers on the others (with per-node mount namespaces, another node's
    # path is a directory of the node's own, which must exist too).
    dirs = " ".join(n.path(d) for n in c.nodes for d in ("run", "log", "tmp", "data"))
    c.each(c.nodes, lambda n: c.remote(n).check(f"mkdir -p {dirs}", timeout=120))
    scrub(c)
    return run_nodes


def scrub(cluster: Cluster) -> None:
    """What a run killed mid-fault (kill -9) leaves on the nodes is undone before this one
    starts: its partition and packet rules, its processes' clock offsets."""
    def on(node: Node) -> None:
        cluster.remote(node).check(
            f"{_core.scrub_command()}; rm -rf {shlex.quote(Cluster.clock_file(node, ''))}; "
            f"touch {shlex.quote(run_started(node))}", timeout=60)

    cluster.each(cluster.nodes, on)


def run_started(node: Node) -> str:
    """A file touched when the run starts: only logs written after it are this run's."""
    return node.path("run", "run-started")
