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
        # The job: main class, arguments, parallelism (set at submit).
        self.app: tuple[str | None, list[str], int | None] | None = None
        self.shared_dir: Path | None = None   # a directory every node sees (local nodes)
        self.lib_dir: str | None = None   # FLINK_LIB_DIR when usrlib/ is not in each home

    def job_id(self) -> str:
        """Fixed per run (HA needs one id across JobManagers), from the HA cluster id."""
        return hashlib.sha256(self.cluster_id.encode()).hexdigest()[:32]

    def env(self, node: Node) -> dict[str, str]:
        out = super().env(node)
        if self.lib_dir:
            out["FLINK_LIB_DIR"] = self.lib_dir
        return out

    def stable_lib_dir(self) -> str | None:
        """None: the jars may sit in a lib/ this run makes beside the job's usrlib/."""
        return None

    def _stage_job(self, jar: Path) -> None:
        """The job's jar in a usrlib/ whose path is the same on every node: the JobManager puts
        the usrlib/ jars' paths into the job, and each TaskManager opens them at those paths.
        Hosts that share one layout use their own homes; local nodes (a home per node) use one
        usrlib/ on the shared storage, beside a lib/ of links to the distribution's jars (Flink
        finds usrlib/ beside FLINK_LIB_DIR)."""
        homes = {self.home(n) for n in self.nodes()}
        if len(homes) == 1:
            def stage(node: Node) -> None:
                remote = self.cluster.remote(node)
                usrlib = f"{self.home(node)}/usrlib"
                remote.check(f"mkdir -p {shlex.quote(usrlib)}")
                remote.upload(str(jar), f"{usrlib}/{jar.name}")
            self.cluster.each(self.nodes(), stage)
            return
        if not self.shared_dir:
            raise UsageError("flink-standalone-application needs the job's jar at one path on "
                             "every node: hosts laid out alike, or local nodes' shared storage")
        base = f"{self.shared_dir}/application"
        lib = shlex.quote(str(self.dist.home / "lib"))
        node = self.nodes()[0]
        remote = self.cluster.remote(node)
        remote.check(f"rm -rf {shlex.quote(base)} && mkdir -p {shlex.quote(base)}/lib "
                     f"{shlex.quote(base)}/usrlib && for f in {lib}/*; do "
                     f"ln -s \"$f\" {shlex.quote(base)}/lib/; done")
        remote.upload(str(jar), f"{base}/usrlib/{jar.name}")
        self.lib_dir = f"{base}/lib"

    def command(self, node: Node, role: str) -> str:
        if role != "jobmanager":
            return super().command(node, role)
        assert self.app is not None, "the job is known only at submit"
        main, args, parallelism = self.app
        parts = [f"{shlex.quote(self.home(node))}/bin/standalone-job.sh", "start-foreground",
                 "--job-id", self.job_id()]
        if main:
            parts += ["--job-classname", shlex.quote(main)]
        if parallelism:
            parts.append(f"-Dparallelism.default={int(parallelism)}")
        return " ".join(parts + [shlex.quote(a) for a in args])

    def start(self) -> None:
        """Nothing yet: every process starts with the job (submit), whose jar the TaskManagers
        too load from their usrlib/ (an application cluster ships no jar through the blob
        server)."""

    def start_process(self, node: Node, role: str) -> None:
        if self.app is None:
            return  # before submit there is no application to run
        self.daemon(node, role, self.command(node, role), env=self.process_env(node, role),
                    supervise=self.supervise, on_failure=role == "jobmanager")

    def wait_ready(self, timeout: float = 180) -> None:
        self.log.info("Flink %s application cluster installed: its JobManagers and %d "
                      "TaskManagers start with the job", self.dist.version,
                      len(self.task_managers()))

    def submit(self, jobs: list[tuple[object, Path, list[str]]], timeout: float) -> list[str]:
        if len(jobs) != 1:
            raise UsageError("flink-standalone-application runs exactly one job per cluster; "
                             f"the spec has {len(jobs)}")
        job, jar, args = jobs[0]
        self._stage_job(jar)
        self.app = (job.main_class, list(args), job.parallelism)
        for node in self.task_managers():
            self.start_process(node, "taskmanager")
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
          mode="standalone-application", check=_check, overlaps=("zookeeper", "kafka"))
def make(d: Deployment) -> FlinkStandalone:
    app = build(d, FlinkApplication)
    app.shared_dir = d.shared_dir
    return app
