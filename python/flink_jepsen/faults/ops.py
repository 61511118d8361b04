"""Schedules written in Python as generators of fault ops.

    from flink_jepsen.faults.ops import Kill, Partition, Pause, Sleep

    def zombie_leader(run):
        while True:
            yield Pause("leader-jm", hold=90)        # past ZooKeeper's session timeout
            yield Sleep(10)
            yield Partition("components", hold=30,   # a ZooKeeper majority cut off
                            params={"components": ["majority:zookeeper", "rest"]})

A generator gets the running schedule (its nemesis and clock) and yields ops; each is carried
out by the core, recorded in the history and healed after its hold; the generator ends, or is
closed at the time limit, and everything is healed. `api.Test.run(schedule=zombie_leader)`
runs one; `faults.schedules.register_schedule` names one for --nemesis-gen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Kill:
    """SIGKILL (or `signal`) to a target's processes: a role (leader-jm, zk-leader...) or a size
    and a kind of process (one:task-manager, majority:zookeeper)."""
    target: str
    signal: str = "KILL"


@dataclass(frozen=True)
class Pause:
    """SIGSTOP to a target's processes for `hold` seconds, then SIGCONT."""
    target: str
    hold: float


@dataclass(frozen=True)
class Partition:
    """A network partition held for `hold` seconds: a shape the core computes ("one",
    "random-halves", "majorities-ring", "bridge", "components", "grudge") with its parameters,
    over every node unless `nodes` are given. `loner` may be a role (leader-jm) and the
    components or grudge may name roles too: they are resolved when the op runs."""
    shape: str
    hold: float
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    seconds: float


Op = Union[Kill, Pause, Partition, Sleep]
Generator = Callable[[object], Iterator[Op]]


def _names(nodes) -> list[str]:
    return [n.name for n in nodes]


def _resolve(nemesis, name: str) -> list[str]:
    """A node name stays; a role or a size:process becomes its nodes now."""
    if any(n.name == name for n in nemesis.cluster.nodes):
        return [name]
    return _names(nemesis.target(name)[1])


def shape_of(nemesis, op: Partition) -> dict:
    """The shape the core gets, with roles resolved to the nodes they are on now."""
    shape = {"shape": op.shape, "nodes": _names(nemesis.cluster.nodes), **op.params}
    if "loner" in shape:
        loners = _resolve(nemesis, shape["loner"])
        if not loners:
            raise RuntimeError(f"partition: {shape['loner']} is on no node right now")
        shape["loner"] = loners[0]
    if "components" in shape:
        # A component is a list of nodes and roles, a role alone, or "rest": every other node.
        comps = [None if c == "rest" else [m for x in ([c] if isinstance(c, str) else c)
                                           for m in _resolve(nemesis, x)]
                 for c in shape["components"]]
        taken = {m for c in comps if c for m in c}
        rest = [n for n in shape["nodes"] if n not in taken]
        shape["components"] = [rest if c is None else c for c in comps]
        shape.pop("nodes")
    if "grudge" in shape:
        shape["grudge"] = {m: [p for x in peers for p in _resolve(nemesis, x)]
                           for node, peers in shape["grudge"].items()
                           for m in _resolve(nemesis, node)}
        shape.pop("nodes")
    return shape


def run_generator(schedule, generator: Generator) -> None:
    """Drives a generator schedule until it ends or the time limit passes."""
    nemesis = schedule.nemesis
    ops = generator(schedule)
    try:
        for op in ops:
            if not schedule.until(schedule.time_limit):
                return
            kind = _kind(op)
            if isinstance(op, Sleep):
                if not schedule.sleep(op.seconds):
                    return
            elif isinstance(op, Kill):
                process, nodes = nemesis.target(op.target)
                if nodes:
                    nemesis.kill(kind, process, nodes, op.signal)
            elif isinstance(op, Pause):
                process, nodes = nemesis.target(op.target)
                if nodes:
                    nemesis.pause(kind, process, nodes)
                    schedule.sleep(op.hold)
                    nemesis.resume(kind)
            elif isinstance(op, Partition):
                nemesis.start_partition(kind, shape_of(nemesis, op))
                schedule.sleep(op.hold)
                nemesis.stop_partition(kind)
            else:
                raise TypeError(f"a schedule yielded {op!r}, not a fault op (Kill, Pause, "
                                "Partition, Sleep)")
    finally:
        ops.close()


def _kind(op: Op) -> str:
    """The fault's name in the history: what it does and to whom."""
    if isinstance(op, Kill):
        return f"kill-{op.target.replace(':', '-')}"
    if isinstance(op, Pause):
        return f"pause-{op.target.replace(':', '-')}"
    if isinstance(op, Partition):
        return f"partition-{op.shape}"
    return "sleep"
