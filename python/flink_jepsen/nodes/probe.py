"""Real TCP probes between nodes: a listener on every node, and connection attempts from one node
to another. This is how partitions are proven to cut (and heal) the network, not assumed."""

from __future__ import annotations

from flink_jepsen import _core
from flink_jepsen.nodes.node import Node

# A listener that accepts and closes connections forever; python3 is on every Debian node.
_LISTENER = (
    "python3 -c 'import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)\n"
    "while True:\n c,_=s.accept(); c.close()' {host} {port}"
)


def start_listeners(remotes: dict[str, _core.Remote], nodes: list[Node], port: int) -> None:
    for n in nodes:
        _core.start_daemon(remotes[n.name], _LISTENER.format(host=n.address, port=port),
                           pidfile=n.path("run", f"probe-{port}.pid"),
                           logfile=n.path("log", f"probe-{port}.log"))
    for n in nodes:
        remotes[n.name].check(
            f"for i in $(seq 100); do (exec 3<>/dev/tcp/{n.address}/{port}) 2>/dev/null && exit 0;"
            " sleep 0.1; done; exit 1", timeout=30)


def stop_listeners(remotes: dict[str, _core.Remote], nodes: list[Node], port: int) -> None:
    for n in nodes:
        _core.stop_daemon(remotes[n.name], n.path("run", f"probe-{port}.pid"), 2.0)


def can_connect(remote: _core.Remote, host: str, port: int, timeout: float = 2.0) -> bool:
    """Does a TCP connection from the remote's node to host:port complete within timeout?"""
    r = remote.exec(
        f"timeout {timeout} bash -c 'exec 3<>/dev/tcp/{host}/{port}'", timeout=timeout + 10
    )
    return r.exit_status == 0


def reachability(remotes: dict[str, _core.Remote], nodes: list[Node], port: int,
                 timeout: float = 2.0) -> dict[tuple[str, str], bool]:
    """(from, to) -> connected, for every ordered pair of distinct nodes, probed concurrently
    from each node (one fan-out, each node probing all its peers in parallel)."""
    script = " ".join(
        f"(timeout {timeout} bash -c 'exec 3<>/dev/tcp/{n.address}/{port}' 2>/dev/null"
        f" && echo {n.name}=1 || echo {n.name}=0) &" for n in nodes
    ) + " wait"
    order = [remotes[n.name] for n in nodes]
    results = _core.fan_out_check(order, script, timeout=timeout + 20)
    out: dict[tuple[str, str], bool] = {}
    for n, r in zip(nodes, results):
        for token in r.out.split():
            peer, ok = token.split("=")
            if peer != n.name:
                out[(n.name, peer)] = ok == "1"
    return out
