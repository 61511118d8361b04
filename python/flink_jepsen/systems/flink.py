"""What every Flink deployment (standalone, on YARN) declares beyond a system: how jobs are
submitted, where the REST endpoints are and which one leads, and its JobManager and TaskManager
processes. The runner and the faults only ever see this interface."""

from __future__ import annotations

import abc
from pathlib import Path

from flink_jepsen.nodes.node import Node
from flink_jepsen.systems.base import Process, Role, System
from flink_jepsen.workloads.flink_client import FlinkClient

# What the kill faults grep for, as the original did: every kind of JobManager entry point
# (standalone, YARN session, YARN application) and every kind of TaskManager runner.
JOB_MANAGER_PATTERNS = ("ClusterEntrypoint", "ClusterEntryPoint")
TASK_MANAGER_PATTERNS = ("TaskManagerRunner", "YarnTaskExecutorRunner")


class Flink(System):
    """A Flink cluster with ZooKeeper HA."""

    name = "flink"
    client: FlinkClient | None = None
    # Teardown kills Flink's processes, as the original's did (grepkill: SIGKILL): the run is
    # over, its logs are collected, and a graceful stop was two seconds of every teardown.
    stop_grace = 0.0

    @abc.abstractmethod
    def job_manager_nodes(self) -> list[Node]:
        """Where JobManagers run (or may run: a YARN container can land on any worker)."""

    @abc.abstractmethod
    def task_manager_nodes(self) -> list[Node]:
        """Where TaskManagers run (or may run)."""

    @abc.abstractmethod
    def submit(self, jobs: list[tuple[object, Path, list[str]]], timeout: float) -> list[str]:
        """Submits the spec's jobs (job spec, jar, arguments) and returns their ids; a refusal is
        a SetupError whose message is Flink's root cause."""

    def rest_endpoints(self) -> list[str]:
        """Every JobManager's REST 'address:port' known now (asked again once a second)."""
        return list(self.client.rest_endpoints) if self.client else []

    def leader(self) -> str | None:
        """The leading JobManager's REST endpoint, from ZooKeeper, or None."""
        return self.client.leader_from_zookeeper() if self.client else None

    def processes(self) -> dict[str, Process]:
        """JobManagers and TaskManagers come back by themselves (YARN and Flink's resource
        manager start containers again; standalone processes are supervised unless
        --no-supervision)."""
        again = getattr(self, "supervise", True)
        return {"job-manager": Process(self.job_manager_nodes, JOB_MANAGER_PATTERNS,
                                       restarts=again),
                "task-manager": Process(self.task_manager_nodes, TASK_MANAGER_PATTERNS,
                                        restarts=again)}

    def leader_nodes(self) -> list[Node]:
        """The leading JobManager's node (none while there is no leader)."""
        ep = self.leader()
        if not ep:
            return []
        address = ep.split(":")[0]
        return [n for n in self.cluster.nodes if n.address == address]

    def roles(self) -> dict[str, Role]:
        return {"leader-jm": Role("job-manager", self.leader_nodes),
                "standby-jm": Role("job-manager", lambda: [
                    n for n in self.job_manager_nodes() if n not in self.leader_nodes()]),
                "job-managers": Role("job-manager", self.job_manager_nodes),
                "task-managers": Role("task-manager", self.task_manager_nodes)}

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _client(self, cluster_id: str, endpoints: list[str]) -> FlinkClient:
        zk = self.zookeeper_hosts()
        self.client = FlinkClient(zk, cluster_id, endpoints, dict(self.cluster.addresses))
        return self.client

    zk_quorum: str = ""  # "name:port,..." of the ZooKeeper ensemble (set by the deployment)

    def zookeeper_hosts(self) -> str:
        """'address:port,...' of the ZooKeeper ensemble holding the leader's address."""
        return ",".join(f"{self.cluster.addresses.get(h, h)}:{p}" for h, p in
                        (s.rsplit(":", 1) for s in self.zk_quorum.split(",")))
