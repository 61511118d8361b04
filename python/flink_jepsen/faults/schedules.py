"""Fault schedules (the original's --nemesis-gen names and timing).

A schedule is a function that runs in its own thread until it is done or the run is stopped:
it sleeps (interruptibly) and asks the Nemesis to inject faults. Users add their own with
`register_schedule`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flink_jepsen.nodes.node import Node

log = logging.getLogger("flink_jepsen.faults.schedules")

JOB_SUBMIT_GRACE = 60.0   # the original: no JobManager kills in the first 60 s after submission
PARTITION_HOLD = 20.0     # how long a partition lasts
PARTITION_GAP = 10.0      # mean pause between partitions
KAFKA_FAULT_HOLD = 15.0   # how long a Kafka broker stays dead or cut off
KAFKA_FAULT_GAP = 10.0    # mean pause between Kafka faults


class Schedule:
    """Runs a schedule function in a thread with an interruptible clock."""

    def __init__(self, name: str, nemesis, time_limit: float,
                 interval: float | None = None, hold: float | None = None,
                 packages: tuple[str, ...] = ()) -> None:
        """interval: mean seconds between faults (None: the schedule's own); hold: how long a
        lasting fault (partition, pause) holds (None: the schedule's own); packages: the fault
        packages of the combined schedule (--nemesis kill,pause,partition)."""
        self.name = name
        self.interval = interval
        self.hold = hold
        self.packages = packages
        self.nemesis = nemesis
        self.time_limit = time_limit
        self.stop_event = threading.Event()
        self.started = time.monotonic()
        self.error: BaseException | None = None
        # The jobs' states as last seen (job id -> state or None), for Await; the runner sets it.
        self.job_states: Callable[[], dict[str, str | None]] = dict
        self.thread = threading.Thread(target=self._run, name=f"nemesis-{name}", daemon=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def sleep(self, seconds: float) -> bool:
        """Sleeps; False once the run is being stopped."""
        return not self.stop_event.wait(max(0.0, seconds))

    def until(self, limit: float) -> bool:
        return not self.stop_event.is_set() and self.elapsed() < limit

    def start(self) -> None:
        self.started = time.monotonic()
        self.thread.start()

    def _run(self) -> None:
        try:
            SCHEDULES[self.name](self)
        except BaseException as e:  # noqa: BLE001 - reported by the runner
            self.error = e
            log.exception("nemesis schedule %s crashed", self.name)

    def done(self) -> bool:
        return not self.thread.is_alive()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=120)


# building blocks ---------------------------------------------------------------------------------
def _stagger(s: Schedule, mean: float) -> bool:
    """Jepsen's stagger: a uniformly random delay between 0 and twice the mean (the schedule's
    own, or --nemesis-interval), cut short at the time limit (the schedule then ends on time)."""
    delay = s.nemesis.rng.uniform(0, 2 * (s.interval or mean))
    return s.sleep(min(delay, max(0.0, s.time_limit - s.elapsed())))


def _names(nodes: list[Node]) -> list[str]:
    return [n.name for n in nodes]


def _kill_tms(pick: Callable[[Schedule], list[Node]], kind: str) -> Callable[[Schedule], None]:
    def run(s: Schedule) -> None:
        while s.until(s.time_limit):
            if not _stagger(s, 3.0) or not s.until(s.time_limit):
                return
            s.nemesis.kill_task_managers(kind, pick(s))
    return run


def _all_tms(s: Schedule) -> list[Node]:
    return s.nemesis.nodes("task-manager")


def _single_tm(s: Schedule) -> list[Node]:
    return [s.nemesis.rng.choice(s.nemesis.nodes("task-manager"))]


def _random_tms(s: Schedule) -> list[Node]:
    tms = s.nemesis.nodes("task-manager")
    sample = [n for n in tms if s.nemesis.rng.random() < 0.5]
    return sample or [s.nemesis.rng.choice(tms)]


def kill_task_managers_bursts(s: Schedule) -> None:
    while s.until(s.time_limit):
        for _ in range(20):
            if not s.until(s.time_limit):
                return
            s.nemesis.kill_task_managers("kill-task-managers", _all_tms(s))
        if not s.sleep(300):
            return


def kill_job_managers(s: Schedule) -> None:
    if not s.sleep(JOB_SUBMIT_GRACE):
        return
    while s.until(s.time_limit + JOB_SUBMIT_GRACE):
        s.nemesis.kill_job_managers()
        if not s.sleep(0.5):
            return


def utopia(s: Schedule) -> None:
    s.sleep(60)


def _partitions(kind: str, shape: Callable[[Schedule], dict]) -> Callable[[Schedule], None]:
    def run(s: Schedule) -> None:
        while s.until(s.time_limit):
            if not _stagger(s, PARTITION_GAP) or not s.until(s.time_limit):
                return
            s.nemesis.start_partition(kind, shape(s))
            s.sleep(s.hold or PARTITION_HOLD)
            s.nemesis.stop_partition(kind)
    return run


# Partition shapes: the grudge is computed from these by the core (cpp/nemesis/grudge.cpp).
def _random_halves(s: Schedule) -> dict:
    return {"shape": "random-halves", "nodes": _names(s.nemesis.cluster.nodes),
            "seed": s.nemesis.rng.getrandbits(63)}


def _leader_alone(s: Schedule) -> dict:
    leader = s.nemesis.leader() or s.nemesis.nodes("job-manager")[0].name
    return {"shape": "one", "nodes": _names(s.nemesis.cluster.nodes), "loner": leader}


def _zookeeper_majority(s: Schedule) -> dict:
    """A random majority of the ZooKeeper servers cut off from every other node: the ensemble
    keeps its quorum, but the Flink processes on the other side lose their ZooKeeper."""
    zks = _names(s.nemesis.nodes("zookeeper"))
    majority = sorted(s.nemesis.rng.sample(zks, len(zks) // 2 + 1))
    rest = [n for n in _names(s.nemesis.cluster.nodes) if n not in majority]
    return {"shape": "components", "components": [majority, rest]}


def fail_name_node_during_recovery(s: Schedule) -> None:
    """The original's timing: 60 s, then random halves and the NameNode stopped, 20 s, heal,
    60 s more, then the NameNode started again."""
    namenode = s.nemesis.nodes("namenode")
    if not s.sleep(JOB_SUBMIT_GRACE):
        return
    s.nemesis.start_partition("partition-random-halves", _random_halves(s))
    s.nemesis.stop_process("fail-name-node", "namenode", namenode)
    if not s.sleep(20):
        return
    s.nemesis.stop_partition("partition-random-halves")
    if not s.sleep(60):
        return
    s.nemesis.restart_process("fail-name-node")


def kill_kafka_broker(s: Schedule) -> None:
    """A random broker killed (SIGKILL), restarted after a while, again and again: the topics
    (3 replicas, min.insync.replicas 2) must lose no acknowledged record."""
    brokers = s.nemesis.nodes("kafka-broker")
    while s.until(s.time_limit):
        if not _stagger(s, KAFKA_FAULT_GAP) or not s.until(s.time_limit):
            return
        node = s.nemesis.rng.choice(brokers)
        s.nemesis.kill_until_restart("kill-kafka-broker", "kafka-broker", [node])
        s.sleep(KAFKA_FAULT_HOLD)
        s.nemesis.restart_process("kill-kafka-broker", {"node": node.name})


def _kafka_broker_alone(s: Schedule) -> dict:
    broker = s.nemesis.rng.choice(s.nemesis.nodes("kafka-broker")).name
    return {"shape": "one", "nodes": _names(s.nemesis.cluster.nodes), "loner": broker}


def _kafka_partitions(s: Schedule) -> None:
    s.nemesis.nodes("kafka-broker")  # fails at once without Kafka
    _partitions("partition-kafka-broker", _kafka_broker_alone)(s)


# the combined nemesis ----------------------------------------------------------------------------
COMBINED_INTERVAL = 10.0   # mean seconds between two faults (Jepsen's combined default)
COMBINED_HOLD = 30.0       # how long a pause or a partition holds unless --fault-duration says
PACKAGES = ("kill", "pause", "partition", "packet", "clock")
DEFAULT_PACKAGES = ("kill", "pause", "partition")
# Where kills and pauses aim: roles first, then sizes of a kind of process; each is used when
# the run's systems have it.
PROCESS_TARGETS = ("leader-jm", "standby-jm", "one:task-manager", "all:task-manager",
                   "zk-leader", "majority:zookeeper", "name-node", "one:kafka-broker")
PARTITION_SHAPES = ("one", "random-halves", "majorities-ring", "bridge", "leader-jm-alone",
                    "leader-jm-from-zookeeper", "leader-jm-deaf-to-zookeeper",
                    "task-managers-from-leader-jm", "zk-leader-alone")
# Packet faults of the combined nemesis, one kind at a time, each used where the nodes can.
PACKET_FAULTS = ({"loss": 0.2}, {"loss": 0.5}, {"duplicate": 0.2},
                 {"delay_ms": 100, "jitter_ms": 50}, {"delay_ms": 50, "reorder": 0.25})
CLOCK_SKEW = (5.0, 120.0)    # seconds either way a skewed clock is off (uniform)
CLOCK_JUMP = (60.0, 600.0)   # seconds either way a clock jumps and stays until the end
CLOCK_RATES = (0.5, 2.0)     # a drifting clock's speed


def _available_targets(s: Schedule) -> list[str]:
    out = []
    for spec in PROCESS_TARGETS:
        if spec in s.nemesis.roles:
            out.append(spec)
        elif ":" in spec and s.nemesis.has(spec.split(":", 1)[1]):
            out.append(spec)
    return out


def _shape(s: Schedule, name: str) -> dict | None:
    """A partition of the given shape over the run's nodes, or None when it needs a role the
    run does not have (no leader right now...)."""
    names = _names(s.nemesis.cluster.nodes)
    rng = s.nemesis.rng
    if name == "one":
        return {"shape": "one", "nodes": names, "loner": rng.choice(names)}
    if name in ("random-halves", "majorities-ring"):
        return {"shape": name, "nodes": names, "seed": rng.getrandbits(63)}
    if name == "bridge":
        return {"shape": "bridge", "nodes": sorted(names, key=lambda _: rng.random())}
    role = {"leader-jm-alone": "leader-jm", "leader-jm-from-zookeeper": "leader-jm",
            "leader-jm-deaf-to-zookeeper": "leader-jm", "task-managers-from-leader-jm":
            "leader-jm", "zk-leader-alone": "zk-leader"}[name]
    if role not in s.nemesis.roles:
        return None
    _, nodes = s.nemesis.target(role)
    if not nodes:
        return None
    loner = nodes[0].name
    if name == "leader-jm-from-zookeeper":
        # Cut between roles: the leading JobManager and the ZooKeeper servers lose each other
        # (both ways); everything else still talks to both.
        zks = [z for z in _names(s.nemesis.nodes("zookeeper")) if z != loner]
        return {"shape": "grudge", "grudge": {loner: zks, **{z: [loner] for z in zks}},
                "description": f"leading JobManager {loner} cut from ZooKeeper {zks}"}
    if name == "leader-jm-deaf-to-zookeeper":
        # One way: ZooKeeper hears the leader (its session pings arrive) but not the reverse.
        zks = [z for z in _names(s.nemesis.nodes("zookeeper")) if z != loner]
        return {"shape": "grudge", "grudge": {loner: zks},
                "description": f"leading JobManager {loner} hears nothing from ZooKeeper {zks}"}
    if name == "task-managers-from-leader-jm":
        tms = [t for t in _names(s.nemesis.nodes("task-manager")) if t != loner]
        if not tms:
            return None
        return {"shape": "grudge", "grudge": {loner: tms, **{t: [loner] for t in tms}},
                "description": f"TaskManagers {tms} cut from the leading JobManager {loner}"}
    return {"shape": "one", "nodes": names, "loner": loner,
            "description": f"{role} {loner} alone"}


def combined(s: Schedule) -> None:
    """Jepsen's combined nemesis: the listed fault packages mixed at random, one fault every
    --nemesis-interval seconds on average (stagger), each lasting fault healed after
    --fault-duration; everything is healed at the end (the runner's heal)."""
    packages = s.packages or DEFAULT_PACKAGES
    hold = s.hold or COMBINED_HOLD
    rng = s.nemesis.rng
    targets = _available_targets(s)
    packet_faults = _packet_faults(s) if "packet" in packages else []
    while s.until(s.time_limit):
        if not _stagger(s, COMBINED_INTERVAL) or not s.until(s.time_limit):
            return
        package = rng.choice(packages)
        if package in ("kill", "pause"):
            spec = rng.choice(targets)
            process, nodes = s.nemesis.target(spec)
            if not nodes:
                log.info("combined: %s has no node right now; skipped", spec)
                continue
            if package == "kill":
                kind = f"kill-{spec.replace(':', '-')}"
                p = s.nemesis.processes[process]
                if p.restarts or p.start is None:
                    s.nemesis.kill(kind, process, nodes)
                    continue
                # Jepsen's kill package: what no supervisor restarts is started again after the
                # hold (ZooKeeper, the NameNode, Kafka brokers), else one kill ends the run.
                s.nemesis.kill_until_restart(kind, process, nodes)
                s.sleep(hold)
                s.nemesis.restart_process(kind)
                continue
            kind = f"pause-{spec.replace(':', '-')}"
            s.nemesis.pause(kind, process, nodes)
            s.sleep(hold)
            s.nemesis.resume(kind)
        elif package == "partition":
            name = rng.choice(PARTITION_SHAPES)
            shape = _shape(s, name)
            if shape is None:
                log.info("combined: no %s partition right now; skipped", name)
                continue
            kind = f"partition-{name}"
            s.nemesis.start_partition(kind, shape)
            s.sleep(hold)
            s.nemesis.stop_partition(kind)
        elif package == "packet":
            if not packet_faults:
                continue
            spec = rng.choice(targets)
            _, nodes = s.nemesis.target(spec)
            if not nodes:
                continue
            kind = f"packet-{spec.replace(':', '-')}"
            outcome = s.nemesis.packets(kind, nodes, rng.choice(packet_faults))
            if not outcome.get("error"):
                s.sleep(hold)
                s.nemesis.heal_packets(kind)
        elif package == "clock":
            from flink_jepsen.faults.ops import clock_fault

            spec = rng.choice(targets)
            process, nodes = s.nemesis.target(spec)
            if not nodes:
                continue
            what = rng.choice(("skew", "jump", "drift"))
            sign = rng.choice((-1.0, 1.0))
            kind = f"clock-{what}-{spec.replace(':', '-')}"
            if what == "skew":
                clock_fault(s, kind, process, nodes, sign * rng.uniform(*CLOCK_SKEW), hold)
            elif what == "jump":
                clock_fault(s, kind, process, nodes, sign * rng.uniform(*CLOCK_JUMP), None)
            else:
                clock_fault(s, kind, process, nodes, 0.0, hold, rng.choice(CLOCK_RATES))
        else:
            raise ValueError(f"unknown fault package {package!r}; known: {', '.join(PACKAGES)}")


def _packet_faults(s: Schedule) -> list[dict]:
    """The combined nemesis's packet faults every node can carry out; says which it cannot."""
    caps = s.nemesis.packet_capabilities()
    common = set.intersection(*(set(c) for c in caps.values())) if caps else set()
    usable = [f for f in PACKET_FAULTS
              if all(("delay" if k in ("delay_ms", "jitter_ms") else k) in common for k in f)]
    missing = sorted({"loss", "duplicate", "delay", "reorder"} - common)
    log.info("packet faults here: %s%s", ", ".join(sorted(common)) or "none",
             f" (not: {', '.join(missing)})" if missing else "")
    return usable


# registry ----------------------------------------------------------------------------------------
# Schedules that are meant to inject no fault: every other schedule's run must show at least
# one fault with an effect, or its verdict is unknown.
FAULT_FREE = {"utopia"}
# The dbs a schedule's faults need (checked against the spec before anything starts).
NEEDS: dict[str, tuple[str, ...]] = {
    "fail-name-node-during-recovery": ("hadoop",),
    "kill-kafka-broker": ("kafka",),
    "partition-kafka-broker": ("kafka",),
}


def expects_faults(name: str) -> bool:
    return name not in FAULT_FREE


def register_schedule(name: str, schedule: Callable[[Schedule], None],
                      injects_faults: bool = True, needs: tuple[str, ...] = ()) -> None:
    """Adds a schedule written in Python under a --nemesis-gen name: a function that gets the
    running Schedule (its nemesis, its clock) and injects faults until it returns. A schedule
    that injects no fault on purpose says so (its run is then not unknown for lack of faults);
    `needs` names the dbs its faults need (e.g. ("kafka",))."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"schedule name {name!r}: letters, digits, '-', '_' and '.' only")
    SCHEDULES[name] = schedule
    NEEDS[name] = tuple(needs)
    if injects_faults:
        FAULT_FREE.discard(name)
    else:
        FAULT_FREE.add(name)


def register_generator(generator: Callable) -> str:
    """Registers a schedule written as a generator of fault ops (faults/ops.py) under the name
    python-<function name>, and returns that name."""
    from flink_jepsen.faults.ops import run_generator

    name = "python-" + "".join(c if c.isalnum() or c in "-_." else "-"
                               for c in getattr(generator, "__name__", "schedule"))
    register_schedule(name, lambda s: run_generator(s, generator))
    return name


SCHEDULES: dict[str, Callable[[Schedule], None]] = {
    "fail-name-node-during-recovery": fail_name_node_during_recovery,
    "kill-task-managers": _kill_tms(_all_tms, "kill-task-managers"),
    "kill-single-task-manager": _kill_tms(_single_tm, "kill-single-task-manager"),
    "kill-random-task-managers": _kill_tms(_random_tms, "kill-random-task-managers"),
    "kill-task-managers-bursts": kill_task_managers_bursts,
    "kill-job-managers": kill_job_managers,
    "utopia": utopia,
    "partition-random-halves": _partitions("partition-random-halves", _random_halves),
    "partition-leader-jm": _partitions("partition-leader-jm", _leader_alone),
    "partition-zookeeper-majority": _partitions("partition-zookeeper-majority",
                                                _zookeeper_majority),
    "kill-kafka-broker": kill_kafka_broker,
    "partition-kafka-broker": _kafka_partitions,
    "combined": combined,
}
