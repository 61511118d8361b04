"""Schedules written in Python as generators of fault ops.

    from flink_jepsen.faults.ops import Await, Clock, Kill, Packet, Partition, Pause, Sleep

    def zombie_leader(run):
        while True:
            yield Pause("leader-jm", hold=90)        # past ZooKeeper's session timeout
            yield Sleep(10)
            yield Partition("components", hold=30,   # a ZooKeeper majority cut off
                            params={"components": ["majority:zookeeper", "rest"]})
            yield Partition("one-way", hold=30,      # the leader stops hearing ZooKeeper
                            params={"from": "zookeepers", "to": "leader-jm"})
            yield Packet("leader-jm", hold=30, loss=0.2, duplicate=0.1)
            yield Clock("one:task-manager", offset=-90, hold=30)   # a skewed TaskManager
            yield Await("RESTARTING", timeout=60)    # then hit the job while it restarts
            yield Kill("leader-jm")

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
class Packet:
    """Packet faults on a target's links for `hold` seconds: loss (both directions), duplication
    (and, where tc netem exists, delay_ms, jitter_ms, reorder) of its outgoing packets."""
    target: str
    hold: float
    loss: float = 0.0
    duplicate: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    reorder: float = 0.0

    def fault(self) -> dict:
        return {k: v for k, v in (("loss", self.loss), ("duplicate", self.duplicate),
                                  ("delay_ms", self.delay_ms), ("jitter_ms", self.jitter_ms),
                                  ("reorder", self.reorder)) if v}


@dataclass(frozen=True)
class Clock:
    """A target's processes' wall clock moved by `offset` seconds (a skew; with no `hold` it
    stays until the end: a jump), or running at `rate` times true speed for `hold` seconds (a
    drift: the offset grows by rate - 1 s every second). Needs --faketime."""
    target: str
    offset: float = 0.0
    hold: float | None = None
    rate: float = 1.0


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Await:
    """Waits until a job is seen in one of `states` (e.g. "RESTARTING", or "FINISHED") by the
    availability poller, at most `timeout` s and never past the time limit: a fault can then be
    placed inside a phase of the job's life instead of at a guessed time. Recorded as an info op
    of process "schedule" (not a fault): value {states, job, state, waited_s}, `state` null when
    it timed out."""
    states: tuple[str, ...] | str
    timeout: float = 120.0

    def wanted(self) -> tuple[str, ...]:
        return (self.states,) if isinstance(self.states, str) else tuple(self.states)


Op = Union[Kill, Pause, Partition, Packet, Clock, Sleep, Await]
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
    if op.shape in ("one-way", "between"):
        # One-way: the `to` side drops what the `from` side sends (a node that can talk but
        # not hear). Between: both ways, between two groups only (roles from roles).
        src = [m for x in _as_list(shape.pop("from", None), "from") for m in _resolve(nemesis, x)]
        dst = [m for x in _as_list(shape.pop("to", None), "to") for m in _resolve(nemesis, x)]
        dst = [d for d in dst if d not in src] if op.shape == "between" else dst
        grudge: dict[str, list[str]] = {d: [s for s in src if s != d] for d in dst}
        if op.shape == "between":
            for s in src:
                grudge[s] = [d for d in dst if d != s]
        arrow = "->" if op.shape == "one-way" else "<->"
        shape.setdefault("description", f"{op.params.get('from')} {src} {arrow} "
                                        f"{op.params.get('to')} {dst} cut")
        shape.update({"shape": "grudge", "grudge": {k: v for k, v in grudge.items() if v}})
        shape.pop("nodes")
        return shape
    if "grudge" in shape:
        shape["grudge"] = {m: [p for x in peers for p in _resolve(nemesis, x)]
                           for node, peers in shape["grudge"].items()
                           for m in _resolve(nemesis, node)}
        shape.pop("nodes")
    return shape


def _as_list(x, what: str) -> list[str]:
    if x is None:
        raise ValueError(f"a one-way or between partition needs {what!r} (nodes or roles)")
    return [x] if isinstance(x, str) else list(x)


def clock_fault(schedule, kind: str, process: str, nodes, offset: float, hold: float | None,
                rate: float = 1.0) -> None:
    """A skew (held, then reset), a jump (left until the end) or a drift (the offset stepped
    every second by rate - 1 s, recorded at its start with its rate, then reset)."""
    nemesis = schedule.nemesis
    if offset == 0 and rate == 1.0 and kind in nemesis.clocks:
        nemesis.reset_clock(kind)          # a clock set back to true time: the jump's end
        return
    if rate != 1.0:
        if not hold:
            raise ValueError("a drifting clock (rate != 1) needs a hold")
        outcome = nemesis.clock(kind, process, nodes, offset, rate=rate)
        if outcome is None or outcome.get("error"):
            return
        started = schedule.elapsed()
        while schedule.sleep(1.0) and schedule.elapsed() - started < hold:
            nemesis.step_clock(kind, offset + (rate - 1.0) * (schedule.elapsed() - started))
        nemesis.reset_clock(kind, {"drifted": offset + (rate - 1.0) * (schedule.elapsed()
                                                                        - started)})
        return
    outcome = nemesis.clock(kind, process, nodes, offset)
    if hold and outcome is not None and not outcome.get("error"):
        schedule.sleep(hold)
        nemesis.reset_clock(kind)


def run_generator(schedule, generator: Generator) -> None:
    """Drives a generator schedule until it ends or the time limit passes."""
    nemesis = schedule.nemesis
    ops = generator(schedule)
    try:
        for op in ops:
            if not schedule.until(schedule.time_limit):
                return
            kind = _kind(op)
            if isinstance(op, Sleep):   # cut at the time limit: the schedule ends on time
                left = max(0.0, schedule.time_limit - schedule.elapsed())
                if not schedule.sleep(min(op.seconds, left)):
                    return
            elif isinstance(op, Await):
                if not await_state(schedule, op):
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
            elif isinstance(op, Packet):
                _, nodes = nemesis.target(op.target)
                if nodes:
                    outcome = nemesis.packets(kind, nodes, op.fault())
                    if not outcome.get("error"):
                        schedule.sleep(op.hold)
                        nemesis.heal_packets(kind)
            elif isinstance(op, Clock):
                process, nodes = nemesis.target(op.target)
                if nodes:
                    clock_fault(schedule, kind, process, nodes, op.offset, op.hold, op.rate)
            else:
                raise TypeError(f"a schedule yielded {op!r}, not a fault op (Kill, Pause, "
                                "Partition, Packet, Clock, Sleep, Await)")
    finally:
        ops.close()


def await_state(schedule, op: Await) -> bool:
    """Polls the schedule's view of the jobs (schedule.job_states) five times a second until one
    is in a wanted state or the timeout; False once the run is being stopped."""
    wanted = op.wanted()
    started = schedule.elapsed()
    timeout = min(op.timeout, max(0.0, schedule.time_limit - started))  # within the time limit
    seen: tuple[str, str] | None = None
    while seen is None and schedule.elapsed() - started < timeout:
        seen = next(((j, s) for j, s in schedule.job_states().items() if s in wanted), None)
        if seen is None and not schedule.sleep(0.2):
            return False
    job, state = seen if seen else (None, None)
    schedule.nemesis.history.record("schedule", "info", "await", {
        "states": list(wanted), "job": job, "state": state,
        "waited_s": round(schedule.elapsed() - started, 3)})
    return True


def _kind(op: Op) -> str:
    """The fault's name in the history: what it does and to whom."""
    if isinstance(op, Kill):
        return f"kill-{op.target.replace(':', '-')}"
    if isinstance(op, Pause):
        return f"pause-{op.target.replace(':', '-')}"
    if isinstance(op, Partition):
        return f"partition-{op.shape}"
    if isinstance(op, Packet):
        return f"packet-{op.target.replace(':', '-')}"
    if isinstance(op, Clock):
        what = "drift" if op.rate != 1.0 else "skew" if op.hold else "jump"
        return f"clock-{what}-{op.target.replace(':', '-')}"
    return "sleep"
