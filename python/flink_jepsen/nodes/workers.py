"""Local nodes for parallel runners: runs side by side on one machine (pytest-xdist workers,
`sweep --parallel` workers) each drive local nodes of their own, a node prefix and a subnet
derived from the session's, so they neither share namespaces nor routes. The derivation is pure
arithmetic; `up_for_run` brings a run's nodes up in the derived subnet."""

from __future__ import annotations

import ipaddress
from typing import Any

from flink_jepsen.errors import UsageError

DEFAULT_PREFIX = "fj"               # paths.prefix()'s default
DEFAULT_SUBNET = "10.213.7.0/24"    # nodes/local.py's DEFAULT_SUBNET
WORKER_STRIDE = 16                  # networks of the base's size between two workers' subnets


def worker_nodes(n: int, prefix: str = DEFAULT_PREFIX,
                 subnet: str = DEFAULT_SUBNET) -> tuple[str, str]:
    """Worker `n`'s node prefix and subnet: the prefix gets `w<n>` (cut to a prefix's 5
    characters; one that already ends so is kept), the subnet is the network of the same size
    16 x (n + 1) networks further on (10.213.7.0/24: worker 0 10.213.23.0/24, worker 1
    10.213.39.0/24)."""
    tag = f"w{n}"
    if not prefix.endswith(tag):
        prefix = prefix[:max(1, 5 - len(tag))] + tag
    if len(prefix) > 5:
        raise UsageError(f"worker {n}: too many workers for a node prefix of at most 5 "
                         f"characters ({prefix})")
    net = ipaddress.IPv4Network(subnet, strict=False)
    start = int(net.network_address) + WORKER_STRIDE * (n + 1) * net.num_addresses
    try:
        mine = ipaddress.IPv4Network((start, net.prefixlen))
    except ValueError as e:
        raise UsageError(f"worker {n}: no subnet left after {subnet}") from e
    if not mine.is_private:
        raise UsageError(f"worker {n}: its subnet {mine} (from {subnet}) is not a private "
                         "network: use a smaller subnet or fewer workers")
    return prefix, str(mine)



def up_for_run(options: Any, subnet: str):
    """Brings up, in `subnet` (which a run cannot choose itself), the local nodes a run on
    `options` will use, when none are up. Returns what to take down after the run (`.down()`),
    or None: real hosts, nodes already up, or --leave-running keeping them."""
    if options.remote != "netns":
        return None
    from flink_jepsen.nodes.local import LocalNodes

    local = LocalNodes()
    if local.is_up():
        return None
    local.up(options.node_count, subnet)
    return None if options.leave_running else local
