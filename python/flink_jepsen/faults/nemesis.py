"""Faults and their schedules (the original's --nemesis-gen names and timing).

A schedule is a function that runs in its own thread until it is done or the run is stopped:
it sleeps (interruptibly) and asks the Nemesis to inject faults. Every fault is an invoke/info
pair of process "nemesis" in the history. Faults that last (partitions, a stopped process) are
"start-<kind>"/"stop-<kind>" pairs; kills are instant faults named by their kind."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flink_jepsen import _core
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.node import Node

log = logging.getLogger("flink_jepsen.faults.nemesis")

JOB_SUBMIT_GRACE = 60.0   # the original: no JobManager kills in the first 60 s after submission
PARTITION_HOLD = 20.0     # how long a partition lasts
PARTITION_GAP = 10.0      # mean pause between partitions


@dataclass
class Targets:
    """Where the faults land: which processes are the JobManagers and TaskManagers."""
    job_managers: list[Node]
    task_managers: list[Node]
    zookeepers: list[Node]
    jm_patterns: tuple[str, ...] = ("ClusterEntrypoint", "ClusterEntryPoint")
    tm_patterns: tuple[str, ...] = ("TaskManagerRunner", "YarnTaskExecutorRunner")
    leader: Callable[[], str | None] = lambda: None   # name of the leading JobManager's node
    extra: dict = field(default_factory=dict)          # e.g. the NameNode (YARN)


class Nemesis:
    """Injects faults into the cluster and records each one in the history."""

    def __init__(self, cluster: Cluster, targets: Targets, history, seed: int) -> None:
        self.cluster = cluster
        self.targets = targets
        self.history = history
        self.rng = random.Random(seed)
        self.partitioner = _core.Partitioner(cluster.remotes, cluster.addresses)
        self.faults = 0
        self.open_faults: set[str] = set()
        self._lock = threading.Lock()
        self.stopped_processes: dict[str, Callable[[], None]] = {}

    def setup(self) -> None:
        self.partitioner.setup()

    # recording -------------------------------------------------------------------------------
    def _fault(self, f: str, value: object, action: Callable[[], object],
               effect: Callable[[object], str | None] = lambda _: None,
               must_succeed: bool = False) -> object:
        """Carries out one fault as an invoke and its completion: `info` when it happened (its
        outcome as the value), `fail` when it had no effect: the action threw, or `effect`
        named why its result hit nothing (a kill that matched no process). Only an effective
        fault counts. A heal that fails (must_succeed) ends the run: it is re-raised."""
        self.history.record("nemesis", "invoke", f, value)
        try:
            result = action()
        except Exception as e:
            self.history.record("nemesis", "fail", f, value, {"error": str(e)})
            log.warning("nemesis %s failed: %s", f, e)
            if must_succeed:
                raise
            return None
        outcome = result if result is not None else value
        missed = effect(result)
        if missed is not None:
            self.history.record("nemesis", "fail", f, outcome, {"error": missed})
            log.info("nemesis %s had no effect: %s", f, missed)
            return result
        self.history.record("nemesis", "info", f, outcome)
        with self._lock:
            self.faults += 1
        return result

    # kills -----------------------------------------------------------------------------------
    def _kill(self, nodes: list[Node], patterns: tuple[str, ...]) -> dict[str, list[int]]:
        killed: dict[str, list[int]] = {n.name: [] for n in nodes}
        for pattern in patterns:
            for node, pids in self.cluster.signal(nodes, pattern, "KILL").items():
                killed[node] += pids
        return killed

    def kill_task_managers(self, kind: str, nodes: list[Node]) -> None:
        names = [n.name for n in nodes]
        self._fault(kind, {"nodes": names}, lambda: {"nodes": names, "killed": self._kill(
            nodes, self.targets.tm_patterns)}, _hit_nothing)

    def kill_job_managers(self) -> None:
        nodes = self.targets.job_managers
        names = [n.name for n in nodes]
        self._fault("kill-job-managers", {"nodes": names}, lambda: {
            "nodes": names, "killed": self._kill(nodes, self.targets.jm_patterns)}, _hit_nothing)

    # partitions ------------------------------------------------------------------------------
    def start_partition(self, kind: str, grudge: dict, description: str) -> None:
        value = {"grudge": {k: sorted(v) for k, v in grudge.items()}, "shape": description}
        cut = self._fault(f"start-{kind}", value,
                          lambda: (self.partitioner.drop(grudge), value)[1],
                          lambda _: None if any(grudge.values()) else "the grudge cuts no link")
        if cut is not None:  # None: the drop threw, nothing to heal for it
            self.open_faults.add(kind)

    def stop_partition(self, kind: str) -> None:
        self._fault(f"stop-{kind}", None, self.partitioner.heal, must_succeed=True)
        self.open_faults.discard(kind)

    # processes stopped on purpose (the HDFS NameNode) -----------------------------------------
    def stop_process(self, kind: str, stop: Callable[[], object], start: Callable[[], object],
                     value: object = None) -> None:
        """A process stopped on purpose until restart_process (it is restarted whatever the
        stop did: a stop that threw may have half happened)."""
        self._fault(f"start-{kind}", value, stop, _hit_nothing)
        self.open_faults.add(kind)
        self.stopped_processes[kind] = start

    def restart_process(self, kind: str, value: object = None) -> None:
        start = self.stopped_processes.pop(kind, None)
        if start is not None:
            self._fault(f"stop-{kind}", value, start, must_succeed=True)
        self.open_faults.discard(kind)

    # the end ---------------------------------------------------------------------------------
    def heal_all(self) -> None:
        """Heals the network and restarts whatever the nemesis stopped on purpose; processes it
        killed come back through their supervisors (or stay dead without supervision)."""
        for kind in sorted(self.open_faults):
            if kind.startswith("partition"):
                self.stop_partition(kind)
        for kind in list(self.stopped_processes):
            self.restart_process(kind)
        self.partitioner.heal()

    def teardown(self) -> None:
        self.partitioner.teardown()


def _hit_nothing(result: object) -> str | None:
    """Why a kill had no effect: its result's "killed" map names no process (None: it hit)."""
    if isinstance(result, dict) and isinstance(result.get("killed"), (dict, list)):
        killed = result["killed"]
        pids = [p for v in killed.values() for p in v] if isinstance(killed, dict) else killed
        if not pids:
            return "the kill matched no process"
    return None


class Schedule:
    """Runs a schedule function in a thread with an interruptible clock."""

    def __init__(self, name: str, nemesis: Nemesis, time_limit: float,
                 interval: float | None = None) -> None:
        self.name = name
        self.interval = interval  # mean seconds between faults; None: the schedule's own
        self.nemesis = nemesis
        self.time_limit = time_limit
        self.stop_event = threading.Event()
        self.started = time.monotonic()
        self.error: BaseException | None = None
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


# schedules -------------------------------------------------------------------------------------
def _stagger(s: Schedule, mean: float) -> bool:
    """Jepsen's stagger: a uniformly random delay between 0 and twice the mean (the schedule's
    own, or --nemesis-interval), cut short at the time limit (the schedule then ends on time)."""
    delay = s.nemesis.rng.uniform(0, 2 * (s.interval or mean))
    return s.sleep(min(delay, max(0.0, s.time_limit - s.elapsed())))


def _kill_tms(pick: Callable[[Schedule], list[Node]], kind: str) -> Callable[[Schedule], None]:
    def run(s: Schedule) -> None:
        while s.until(s.time_limit):
            if not _stagger(s, 3.0) or not s.until(s.time_limit):
                return
            s.nemesis.kill_task_managers(kind, pick(s))
    return run


def _all_tms(s: Schedule) -> list[Node]:
    return s.nemesis.targets.task_managers


def _single_tm(s: Schedule) -> list[Node]:
    return [s.nemesis.rng.choice(s.nemesis.targets.task_managers)]


def _random_tms(s: Schedule) -> list[Node]:
    tms = s.nemesis.targets.task_managers
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


def _partitions(kind: str, make: Callable[[Schedule], tuple[dict, str]]
                ) -> Callable[[Schedule], None]:
    def run(s: Schedule) -> None:
        while s.until(s.time_limit):
            if not _stagger(s, PARTITION_GAP) or not s.until(s.time_limit):
                return
            grudge, description = make(s)
            s.nemesis.start_partition(kind, grudge, description)
            s.sleep(PARTITION_HOLD)
            s.nemesis.stop_partition(kind)
    return run


def _random_halves(s: Schedule) -> tuple[dict, str]:
    names = [n.name for n in s.nemesis.cluster.nodes]
    halves = _core.random_halves(names, s.nemesis.rng.getrandbits(63))
    return _core.complete_grudge(halves), f"halves {halves}"


def _leader_alone(s: Schedule) -> tuple[dict, str]:
    names = [n.name for n in s.nemesis.cluster.nodes]
    leader = s.nemesis.targets.leader() or s.nemesis.targets.job_managers[0].name
    grudge = _core.complete_grudge(_core.split_one(names, leader))
    return grudge, f"leading JobManager {leader} alone"


def _zookeeper_majority(s: Schedule) -> tuple[dict, str]:
    """A random majority of the ZooKeeper servers cut off from every other node: the ensemble
    keeps its quorum, but the Flink processes on the other side lose their ZooKeeper."""
    zks = [n.name for n in s.nemesis.targets.zookeepers]
    majority = sorted(s.nemesis.rng.sample(zks, len(zks) // 2 + 1))
    rest = [n.name for n in s.nemesis.cluster.nodes if n.name not in majority]
    return _core.complete_grudge([majority, rest]), f"ZooKeeper majority {majority} | {rest}"


def fail_name_node_during_recovery(s: Schedule) -> None:
    """The original's timing: 60 s, then random halves and the NameNode stopped, 20 s, heal,
    60 s more, then the NameNode started again."""
    namenode = s.nemesis.targets.extra.get("namenode")
    if namenode is None:
        raise RuntimeError("fail-name-node-during-recovery needs HDFS (a YARN deployment mode)")
    stop, start = namenode
    if not s.sleep(JOB_SUBMIT_GRACE):
        return
    grudge, description = _random_halves(s)
    s.nemesis.start_partition("partition-random-halves", grudge, description)
    s.nemesis.stop_process("fail-name-node", stop, start)
    if not s.sleep(20):
        return
    s.nemesis.stop_partition("partition-random-halves")
    if not s.sleep(60):
        return
    s.nemesis.restart_process("fail-name-node")


KAFKA_FAULT_HOLD = 15.0   # how long a Kafka broker stays dead or cut off
KAFKA_FAULT_GAP = 10.0    # mean pause between Kafka faults


def _kafka_brokers(s: Schedule) -> tuple[list[Node], Callable, Callable]:
    kafka = s.nemesis.targets.extra.get("kafka")
    if kafka is None:
        raise RuntimeError(f"{s.name} needs Kafka (a spec with :kafka in :dbs)")
    return kafka


def kill_kafka_broker(s: Schedule) -> None:
    """A random broker killed (SIGKILL), restarted after a while, again and again: the topics
    (3 replicas, min.insync.replicas 2) must lose no acknowledged record."""
    brokers, kill, start = _kafka_brokers(s)
    while s.until(s.time_limit):
        if not _stagger(s, KAFKA_FAULT_GAP) or not s.until(s.time_limit):
            return
        node = s.nemesis.rng.choice(brokers)
        s.nemesis.stop_process("kill-kafka-broker", lambda n=node: {
            "node": n.name, "killed": kill(n)}, lambda n=node: start(n), {"node": node.name})
        s.sleep(KAFKA_FAULT_HOLD)
        s.nemesis.restart_process("kill-kafka-broker", {"node": node.name})


def _kafka_broker_alone(s: Schedule) -> tuple[dict, str]:
    brokers, _, _ = _kafka_brokers(s)
    names = [n.name for n in s.nemesis.cluster.nodes]
    broker = s.nemesis.rng.choice(brokers).name
    return _core.complete_grudge(_core.split_one(names, broker)), f"Kafka broker {broker} alone"


def _kafka_partitions(s: Schedule) -> None:
    _kafka_brokers(s)  # fails at once without Kafka
    _partitions("partition-kafka-broker", _kafka_broker_alone)(s)


# Schedules that are meant to inject no fault: every other schedule's run must show at least
# one fault with an effect, or its verdict is unknown.
FAULT_FREE = {"utopia"}


def expects_faults(name: str) -> bool:
    return name not in FAULT_FREE


def register_schedule(name: str, schedule: Callable[[Schedule], None],
                      injects_faults: bool = True) -> None:
    """Adds a schedule written in Python under a --nemesis-gen name: a function that gets the
    running Schedule (its nemesis, its clock) and injects faults until it returns. A schedule
    that injects no fault on purpose says so (its run is then not unknown for lack of faults)."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError(f"schedule name {name!r}: letters, digits, '-', '_' and '.' only")
    SCHEDULES[name] = schedule
    if injects_faults:
        FAULT_FREE.discard(name)
    else:
        FAULT_FREE.add(name)


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
}
