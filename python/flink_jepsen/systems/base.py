"""What every system on the nodes declares, as Jepsen's db.clj has a db declare how it is set
up, started, killed and paused and where its logs are: the runner drives the phases through this
interface only, and the faults find a system's processes through `processes()`."""

from __future__ import annotations

import abc
import logging
import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.errors import SetupError
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.node import Node


@dataclass(frozen=True)
class Process:
    """One kind of process of a system, as the faults see it: the nodes it runs on (asked when
    the fault happens: YARN moves containers), the command-line patterns that find it on a node
    (POSIX extended regexes, as pgrep -f), and, for a process that can be stopped on purpose
    and started again, how."""
    nodes: Callable[[], list[Node]]
    patterns: tuple[str, ...]
    stop: Callable[[list[Node]], object] | None = None
    start: Callable[[list[Node]], object] | None = None
    system: str = ""  # the system that runs it (its clock file's name); set by the registry
    # Does a killed process come back by itself (a supervisor, YARN, Flink's resource manager)?
    # One that does not is started again by the fault that killed it (`start`), or stays dead.
    restarts: bool = False


@dataclass(frozen=True)
class Role:
    """A set of a system's processes faults can aim at by name (leader-jm, zk-leader...): which
    kind of process, and on which nodes it runs now (asked when the fault happens)."""
    process: str
    nodes: Callable[[], list[Node]]


@dataclass
class Deployment:
    """What a system is built from: the nodes, the run's parameters, the distribution under
    test, and the systems composed before it (its dependencies)."""
    cluster: Cluster
    options: object                    # run.options.TestOptions
    spec: object                       # run.spec.TestSpec
    run_id: str
    shared_dir: Path | None = None     # a directory every node sees (local nodes), else None
    dist: object | None = None         # systems.dist.Distribution, resolved at setup
    systems: dict[str, System] = field(default_factory=dict)

    def system(self, name: str) -> System:
        """A system this one depends on (registry order guarantees it exists)."""
        return self.systems[name]

    def has(self, name: str) -> bool:
        return name in self.systems


class System(abc.ABC):
    """A system deployed on some of the cluster's nodes."""

    name: str = "system"
    # Seconds stop() gives a process between SIGTERM and SIGKILL.
    stop_grace: float = 10.0

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.log = logging.getLogger(f"flink_jepsen.systems.{self.name}")

    @abc.abstractmethod
    def nodes(self) -> list[Node]:
        """The nodes this system runs on."""

    @abc.abstractmethod
    def install(self) -> None:
        """Puts binaries and configuration on the nodes."""

    @abc.abstractmethod
    def start(self) -> None:
        """Starts the processes (idempotent)."""

    @abc.abstractmethod
    def wait_ready(self, timeout: float) -> None:
        """Returns once a protocol-level probe succeeds; raises SetupError naming what it waited
        for, the node and the log file otherwise."""

    def stop(self) -> None:
        """Stops every process of this system on every node, all at once (a JVM takes a
        second or more to shut down; one after another that was most of a teardown)."""
        targets = [(node, pidfile) for node in self.nodes() for pidfile in self.pidfiles(node)]
        if not targets:
            return
        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            done = [pool.submit(_core.stop_daemon, self.cluster.remote(node), pidfile,
                                self.stop_grace)
                    for node, pidfile in targets]
        for f in done:
            f.result()

    def pidfiles(self, node: Node) -> list[str]:
        return []

    def log_dirs(self, node: Node) -> list[str]:
        """Directories on the node whose files are collected into the store."""
        return [node.path("log", self.name)]

    def clean(self) -> None:  # noqa: B027 - most systems keep nothing between runs
        """Removes data written by a previous run."""

    def processes(self) -> dict[str, Process]:
        """The kinds of process faults may hit, by name (job-manager, kafka-broker...)."""
        return {}

    def roles(self) -> dict[str, Role]:
        """Named targets for faults beyond `processes()` (the leader, the followers...)."""
        return {}

    def provides(self) -> dict[str, str]:
        """Values a test spec's job arguments may name as ${NAME} (KAFKA_BOOTSTRAP...)."""
        return {}

    def flink_env(self, node: Node) -> dict[str, str]:
        """Environment a Flink process needs to use this system (HADOOP_CLASSPATH for hdfs://)."""
        return {}

    # helpers ---------------------------------------------------------------------------------
    def daemon(self, node: Node, what: str, command: str, env: dict[str, str] | None = None,
               supervise: bool = False, cwd: str = "", on_failure: bool = False) -> None:
        """Starts one process on a node with a pidfile and a log file, optionally supervised
        (restarted whenever it ends; with on_failure, only when it ends with a failure)."""
        remote = self.cluster.remote(node)
        logfile = node.path("log", self.name, f"{what}.out")
        if self.cluster.faketime:
            env = {**(env or {}), **self.cluster.faketime_env(node, self.name)}
        if supervise:
            sup = self.cluster.install_supervisor(node)
            mode = " --on-failure" if on_failure else ""
            command = f"{sup} {shlex.quote(what)}{mode} -- {command}"
        _core.start_daemon(remote, command, pidfile=node.path("run", f"{self.name}-{what}.pid"),
                           logfile=logfile, env=env or {}, cwd=cwd)

    def wait_for(self, what: str, probe: Callable[[], bool], timeout: float, node: Node,
                 log_file: str, interval: float = 0.5) -> None:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            try:
                if probe():
                    return
            except Exception as e:  # noqa: BLE001 - a probe's failure is "not ready yet"
                last_error = f" (last probe error: {e})"
            time.sleep(interval)
        tail = self.cluster.remote(node).exec(f"tail -n 20 {shlex.quote(log_file)}", timeout=10)
        raise SetupError(
            f"{what} on {node.name} not ready after {timeout:.0f} s{last_error}; see {log_file} "
            f"on {node.name}; its last lines:\n{tail.out.rstrip()}"
        )
