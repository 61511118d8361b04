"""What every system on the nodes provides to the test runner."""

from __future__ import annotations

import abc
import logging
import shlex
import time
from collections.abc import Callable

from flink_jepsen import _core
from flink_jepsen.errors import SetupError
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.node import Node


class Service(abc.ABC):
    """A system deployed on some of the cluster's nodes."""

    name: str = "service"

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.log = logging.getLogger(f"flink_jepsen.db.{self.name}")

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
        """Stops every process of this system on every node."""
        for node in self.nodes():
            for pidfile in self.pidfiles(node):
                _core.stop_daemon(self.cluster.remote(node), pidfile, 10.0)

    def pidfiles(self, node: Node) -> list[str]:
        return []

    def log_dirs(self, node: Node) -> list[str]:
        """Directories on the node whose files are collected into the store."""
        return [node.path("log", self.name)]

    def clean(self) -> None:  # noqa: B027 - most systems keep nothing between runs
        """Removes data written by a previous run."""

    # helpers ---------------------------------------------------------------------------------
    def daemon(self, node: Node, what: str, command: str, env: dict[str, str] | None = None,
               supervise: bool = False, cwd: str = "") -> None:
        """Starts one process on a node with a pidfile and a log file, optionally supervised."""
        remote = self.cluster.remote(node)
        logfile = node.path("log", self.name, f"{what}.out")
        if supervise:
            sup = self.cluster.install_supervisor(node)
            command = f"{sup} {shlex.quote(what)} -- {command}"
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
