"""The nemesis: carries faults out and records each one in the history.

Kills and partitions are executed by the C++ core (`_core.FaultInjector`) over the pooled
remotes: a kill signals the processes a system declared (`systems.base.Process` patterns)
on each target node only, and records which pids it hit; a partition's grudge is computed from
its shape and applied there, with no round trip through Python. Stopping a process on purpose
and starting it again is the system's own action (a pidfile stop), recorded here. Every fault
is an invoke/completion pair of process "nemesis": `info` with what it did, `fail` with why
when it had no effect. Only an effective fault counts."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from flink_jepsen import _core
from flink_jepsen.faults.targets import pick
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems.base import Process, Role

log = logging.getLogger("flink_jepsen.faults.nemesis")


class Nemesis:
    def __init__(self, cluster: Cluster, processes: dict[str, Process], history, seed: int,
                 leader: Callable[[], str | None] = lambda: None,
                 roles: dict[str, Role] | None = None) -> None:
        """processes: every kind of process of the run's systems (systems.processes());
        leader: the leading JobManager's node name, or None; roles: the systems' named targets
        (systems.roles())."""
        self.cluster = cluster
        self.processes = processes
        self.roles = roles or {}
        self.history = history
        self.rng = random.Random(seed)
        self.leader = leader
        self.injector = _core.FaultInjector(cluster.remotes, cluster.addresses, history)
        self.partitioner = _core.Partitioner(cluster.remotes, cluster.addresses)  # final heal
        self.faults = 0
        self.open_faults: set[str] = set()
        self.stopped: dict[str, Callable[[], object]] = {}
        self.paused: dict[str, tuple[str, list[Node]]] = {}
        self.clocks: dict[str, dict[str, list[str]]] = {}  # kind -> clock files it moved
        self._lock = threading.Lock()

    def setup(self) -> None:
        self.injector.setup()

    # what the schedules ask about ----------------------------------------------------------------
    def nodes(self, process: str) -> list[Node]:
        """The nodes a kind of process runs on now; a schedule asking for one the run's systems
        do not have fails with the kinds they do have."""
        if process not in self.processes:
            raise RuntimeError(f"no system of this run has {process} processes (it has: "
                               f"{', '.join(sorted(self.processes)) or 'none'})")
        return self.processes[process].nodes()

    def has(self, process: str) -> bool:
        return process in self.processes

    def target(self, spec: str) -> tuple[str, list[Node]]:
        """(kind of process, nodes) for a target: a role (`leader-jm`, `zk-leader`...), or a
        size and a kind of process (`one:task-manager`, `majority:zookeeper`, or a size alone:
        that many TaskManagers)."""
        if spec in self.roles:
            role = self.roles[spec]
            return role.process, role.nodes()
        size, _, process = spec.partition(":")
        process = process or "task-manager"
        return process, pick(size, self.nodes(process), self.rng)

    def _count(self, outcome: dict | None) -> dict | None:
        """The injector recorded the op; count it when its completion was `info`."""
        if outcome is not None and not outcome.get("error"):
            with self._lock:
                self.faults += 1
        return outcome

    # faults the core carries out ---------------------------------------------------------------
    def kill(self, kind: str, process: str, nodes: list[Node], signal: str = "KILL") -> dict:
        """Signals the process kind's processes on those nodes (SIGKILL: the original's kill)."""
        patterns = list(self.processes[process].patterns)
        targets = {n.name: patterns for n in nodes}
        return self._count(self.injector.signal(kind, targets, signal,
                                                {"nodes": [n.name for n in nodes],
                                                 "process": process}))

    def kill_task_managers(self, kind: str, nodes: list[Node]) -> dict:
        return self.kill(kind, "task-manager", nodes)

    def kill_job_managers(self) -> dict:
        return self.kill("kill-job-managers", "job-manager", self.nodes("job-manager"))

    def pause(self, kind: str, process: str, nodes: list[Node]) -> dict:
        """SIGSTOP to the process kind's processes on those nodes until `resume(kind)` (or the
        heal): a process that answers nothing but holds its sockets, leases and leadership."""
        outcome = self.kill(f"start-{kind}", process, nodes, "STOP")
        if outcome is not None and not outcome.get("error"):
            self.open_faults.add(kind)
            self.paused[kind] = (process, nodes)
        return outcome

    def resume(self, kind: str) -> dict | None:
        """SIGCONT to what `pause(kind)` stopped; recorded, and re-raised if it throws."""
        paused = self.paused.pop(kind, None)
        self.open_faults.discard(kind)
        if paused is None:
            return None
        process, nodes = paused
        return self.injector.signal(f"stop-{kind}", {n.name: list(
            self.processes[process].patterns) for n in nodes}, "CONT",
            {"nodes": [n.name for n in nodes], "process": process})

    def start_partition(self, kind: str, shape: dict) -> dict:
        """Cuts the network as `shape` says (see _core.FaultInjector.partition)."""
        outcome = self._count(self.injector.partition(f"start-{kind}", shape))
        if outcome is not None and not outcome.get("error"):
            self.open_faults.add(kind)
        return outcome

    def stop_partition(self, kind: str) -> dict:
        """Heals every cut; a heal that fails is re-raised (the run cannot go on)."""
        try:
            return self.injector.heal(f"stop-{kind}")
        finally:
            self.open_faults.discard(kind)

    # packets ------------------------------------------------------------------------------------
    def packets(self, kind: str, nodes: list[Node], fault: dict,
                peers: list[Node] | None = None) -> dict:
        """Loss, duplication (and, with netem, delay and reordering) on the nodes' links to
        every other node, or to `peers`, until `heal_packets(kind)`."""
        outcome = self._count(self.injector.packets(f"start-{kind}", [n.name for n in nodes],
                                                    fault, [n.name for n in peers or []]))
        if outcome is not None and not outcome.get("error"):
            self.open_faults.add(kind)
        return outcome

    def heal_packets(self, kind: str) -> dict:
        try:
            return self.injector.heal_packets(f"stop-{kind}")
        finally:
            self.open_faults.discard(kind)

    def packet_capabilities(self) -> dict[str, list[str]]:
        """node -> the packet faults it can carry out (probed once)."""
        return self.injector.packet_capabilities()

    # clocks -------------------------------------------------------------------------------------
    def clock_files(self, process: str, nodes: list[Node]) -> dict[str, list[str]]:
        system = self.processes[process].system or process
        return {n.name: [self.cluster.clock_file(n, system)] for n in nodes}

    def clock(self, kind: str, process: str, nodes: list[Node], offset: float,
              rate: float | None = None) -> dict:
        """Moves the clock of the process kind's processes on those nodes to `offset` seconds
        from true time (they run under libfaketime: --faketime); `reset_clock(kind)` puts it
        back. The offset is in the history: the invoke and its completion carry it."""
        files = self.clock_files(process, nodes)
        outcome = self._count(self.injector.clock(
            f"start-{kind}", files, offset,
            {"nodes": [n.name for n in nodes], "process": process, "offset": offset,
             **({"rate": rate} if rate is not None else {})}))
        if outcome is not None and not outcome.get("error"):
            self.open_faults.add(kind)
            self.clocks[kind] = files
        return outcome

    def step_clock(self, kind: str, offset: float) -> None:
        """Moves a clock `clock(kind)` moved to a new offset without a history entry: the steps
        of a drifting clock, whose start and end are recorded."""
        files = self.clocks.get(kind)
        if files:
            self.injector.clock(f"step-{kind}", files, offset, None, False)

    def reset_clock(self, kind: str, value: dict | None = None) -> dict | None:
        """Puts the clocks `clock(kind)` moved back to true time; recorded with offset 0."""
        files = self.clocks.pop(kind, None)
        self.open_faults.discard(kind)
        if files is None:
            return None
        return self.injector.clock(f"stop-{kind}", files, 0.0,
                                   {"nodes": sorted(files), "offset": 0.0, **(value or {})})

    # processes stopped on purpose and started again --------------------------------------------
    def _fault(self, f: str, value: object, action: Callable[[], object],
               must_succeed: bool = False) -> object:
        """A fault carried out by a system's own action (a pidfile stop, a start): `info` when
        it happened, `fail` when it threw (re-raised when it must succeed: a heal)."""
        self.history.record("nemesis", "invoke", f, value)
        try:
            result = action()
        except Exception as e:
            self.history.record("nemesis", "fail", f, value, {"error": str(e)})
            log.warning("nemesis %s failed: %s", f, e)
            if must_succeed:
                raise
            return None
        self.history.record("nemesis", "info", f, value)
        with self._lock:
            self.faults += 1
        return result if result is not None else value

    def stop_process(self, kind: str, process: str, nodes: list[Node]) -> None:
        """Stops the processes for good until restart_process; it is restarted whatever the
        stop did (a stop that threw may have half happened)."""
        p = self.processes[process]
        if p.stop is None or p.start is None:
            raise RuntimeError(f"{process} processes cannot be stopped and started on purpose")
        value = {"nodes": [n.name for n in nodes], "process": process}
        self._fault(f"start-{kind}", value, lambda: p.stop(nodes))
        self.open_faults.add(kind)
        self.stopped[kind] = lambda: p.start(nodes)

    def kill_until_restart(self, kind: str, process: str, nodes: list[Node]) -> None:
        """Kills the processes (they have no supervisor) until restart_process starts them."""
        p = self.processes[process]
        if p.start is None:
            raise RuntimeError(f"{process} processes cannot be started again")
        self.kill(f"start-{kind}", process, nodes)
        self.open_faults.add(kind)
        self.stopped[kind] = lambda: p.start(nodes)

    def restart_process(self, kind: str, value: object = None) -> None:
        start = self.stopped.pop(kind, None)
        if start is not None:
            self._fault(f"stop-{kind}", value, start, must_succeed=True)
        self.open_faults.discard(kind)

    # the end -------------------------------------------------------------------------------------
    def heal_all(self) -> None:
        """Heals the network and restarts whatever the nemesis stopped on purpose; processes it
        killed come back through their supervisors (or stay dead without supervision)."""
        for kind in sorted(self.open_faults):
            if kind.startswith("partition"):
                self.stop_partition(kind)
        for kind in list(self.paused):
            self.resume(kind)
        for kind in list(self.clocks):
            self.reset_clock(kind)
        packets = sorted(k for k in self.open_faults if k.startswith("packet"))
        if packets:
            self.heal_packets(packets[0])  # heals every packet fault
            self.open_faults.difference_update(packets)
        for kind in list(self.stopped):
            self.restart_process(kind)
        self.partitioner.heal()

    def teardown(self) -> None:
        self.injector.teardown()
