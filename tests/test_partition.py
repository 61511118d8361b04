"""Partitions are real: TCP connections across a cut fail, within a side succeed, and all of
them succeed again once healed. Both remotes can apply them."""

from __future__ import annotations

import pytest

from flink_jepsen import _core
from flink_jepsen.nodes.probe import reachability, start_listeners, stop_listeners

pytestmark = pytest.mark.integration
PORT = 7788


@pytest.fixture(scope="module")
def probed(local_nodes):
    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    start_listeners(remotes, nodes, PORT)
    yield nodes, remotes
    stop_listeners(remotes, nodes, PORT)


def expected(grudge: dict, a: str, b: str) -> bool:
    """a can open a TCP connection to b iff neither drops the other's packets."""
    return b not in grudge.get(a, set()) and a not in grudge.get(b, set())


@pytest.mark.parametrize("shape", ["halves", "one-alone", "bridge", "ring", "random-halves"])
@pytest.mark.parametrize("kind", ["netns", "ssh"])
def test_grudge_cuts_exactly_its_pairs_and_heals(local_nodes, probed, shape: str,
                                                 kind: str) -> None:
    nodes, netns = probed
    names = [n.name for n in nodes]
    grudge = {
        "halves": lambda: _core.complete_grudge(_core.bisect(names)),
        "one-alone": lambda: _core.complete_grudge(_core.split_one(names, "n4")),
        "bridge": lambda: _core.bridge(names),
        "ring": lambda: _core.majorities_ring(names, 3),
        "random-halves": lambda: _core.complete_grudge(_core.random_halves(names, 11)),
    }[shape]()
    part = _core.Partitioner(local_nodes.remotes(kind), {n.name: n.address for n in nodes})
    part.setup()
    try:
        assert all(reachability(netns, nodes, PORT).values())
        part.drop(grudge)
        assert part.current() == {k: v for k, v in grudge.items() if v}
        during = reachability(netns, nodes, PORT)
        wrong = {pair: ok for pair, ok in during.items() if ok != expected(grudge, *pair)}
        assert not wrong, f"pairs that did not behave as the grudge says: {wrong}"
        assert not all(during.values())
        part.heal()
        assert all(reachability(netns, nodes, PORT).values())
    finally:
        part.teardown()
    rules = netns["n1"].check("iptables -w -S").out
    assert "FJ-PARTITION" not in rules


def test_partition_never_touches_the_host_firewall(local_nodes, probed) -> None:
    import subprocess

    before = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    nodes, netns = probed
    part = _core.Partitioner(netns, {n.name: n.address for n in nodes})
    part.setup()
    part.drop(_core.complete_grudge(_core.bisect([n.name for n in nodes])))
    during = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    part.teardown()
    assert during == before


def test_grudge_naming_an_unknown_node_is_refused(local_nodes, probed) -> None:
    nodes, netns = probed
    part = _core.Partitioner(netns, {n.name: n.address for n in nodes})
    with pytest.raises(ValueError, match="n42"):
        part.drop({"n1": {"n42"}})
