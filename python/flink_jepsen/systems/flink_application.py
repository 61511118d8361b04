"""Flink as a standalone application cluster with ZooKeeper HA: every JobManager is started with
the job itself (`standalone-job.sh`, the jar in usrlib/, a fixed job id, as Kubernetes'
standalone application deployments do), TaskManagers as in a session cluster. The job runs when
a JobManager gains leadership; when it ends, the cluster shuts down.

A JobManager is restarted only when it fails (supervise.sh --on-failure): a clean exit is the
application's end, and restarting it would run the job again by design. So a second run of a
finished job (checks/finished_once.py) is the next leader's doing, not the harness's."""

from __future__ import annotations

import hashlib
import shlex
import time
from pathlib import Path

from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import register
from flink_jepsen.systems.base import Deployment
from flink_jepsen.systems.flink_standalone import FlinkStandalone, _check, build


class FlinkApplication(FlinkStandalone):
    mode = "standalone-application"

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.app: tuple[str, str | None, list[str], int | None] | None = None  # jar, main, args

    def job_id(self) -> str:
        """Fixed per run (HA needs one id across JobManagers), from the HA cluster id."""
        return hashlib.sha256(self.cluster_id.encode()).hexdigest()[:32]

    def usrlib(self, node: Node) -> str:
        return node.path("opt", "flink", "usrlib")

    def command(self, node: Node, role: str) -> str:
        if role != "jobmanager":
            return super().command(node, role)
        assert self.app is not None, "the job is known only at submit"
        jar, main, args, parallelism = self.app
        parts = [f"{shlex.quote(self.home(node))}/bin/standalone-job.sh", "start-foreground",
                 "--job-id", self.job_id()]
        if main:
            parts += ["--job-classname", shlex.quote(main)]
        if parallelism:
            parts.append(f"-Dparallelism.default={int(parallelism)}")
        return " ".join(parts + [shlex.quote(a) for a in args])

    def start(self) -> None:
        """TaskManagers only: the JobManagers start with the job (submit)."""
        for node in self.task_managers():
            self.start_process(node, "taskmanager")

    def start_process(self, node: Node, role: str) -> None:
        if role == "jobmanager" and self.app is None:
            return  # before submit there is no application to run
        self.daemon(node, role, self.command(node, role), env=self.env(node),
                    supervise=self.supervise, on_failure=role == "jobmanager")

    def wait_ready(self, timeout: float = 180) -> None:
        self.log.info("Flink %s application cluster: %d TaskManagers started; the JobManagers "
                      "start with the job", self.dist.version, len(self.task_managers()))

    def submit(self, jobs: list[tuple[object, Path, list[str]]], timeout: float) -> list[str]:
        if len(jobs) != 1:
            raise UsageError("flink-standalone-application runs exactly one job per cluster; "
                             f"the spec has {len(jobs)}")
        job, jar, args = jobs[0]
        target = f"usrlib/{jar.name}"
        for node in self.job_managers():
            remote = self.cluster.remote(node)
            remote.check(f"mkdir -p {shlex.quote(self.usrlib(node))}")
            remote.upload(str(jar), f"{self.home(node)}/{target}")
        self.app = (target, job.main_class, list(args), job.parallelism)
        for node in self.job_managers():
            self.start_process(node, "jobmanager")
        client = self.client or self._client(self.cluster_id, self.rest_addresses())
        deadline = time.monotonic() + timeout
        jid = self.job_id()
        while time.monotonic() < deadline:
            if client.job_state(jid):
                self.log.info("application job %s runs (%s)", jid, job.main_class or jar.name)
                return [jid]
            time.sleep(1)
        jm = self.job_managers()[0]
        raise SetupError(f"the application cluster showed no job {jid} within {timeout:.0f} s; "
                         f"see {self.log_dir(jm)}/jobmanager.out on {jm.name}")


@register("flink-standalone-application", "Flink standalone application cluster with ZooKeeper "
          "HA (each JobManager started with the job; the cluster ends with it)",
          requires=("zookeeper",), after=("hadoop", "kafka"), flink=True,
          mode="standalone-application", check=_check)
def make(d: Deployment) -> FlinkStandalone:
    return build(d, FlinkApplication)
