"""Which nodes a fault aims at: Jepsen's `one`, `minority`, `majority`, `all` of a kind of
process's nodes, or a role a system names (leader-jm, standby-jm, task-managers, zk-leader,
name-node...), resolved when the fault happens."""

from __future__ import annotations

import random

from flink_jepsen.nodes.node import Node

SIZES = ("one", "minority", "majority", "all")


def pick(size: str, nodes: list[Node], rng: random.Random) -> list[Node]:
    """A random subset of `nodes` of the given size: one; a minority (at least one, fewer than
    half); a majority (more than half); all. Empty only when `nodes` is."""
    if size not in SIZES:
        raise ValueError(f"target size {size!r} is unknown; must be one of: {', '.join(SIZES)}")
    if not nodes:
        return []
    n = len(nodes)
    count = {"one": 1, "minority": max(1, (n - 1) // 2), "majority": n // 2 + 1, "all": n}[size]
    return sorted(rng.sample(nodes, count), key=lambda x: x.name)
