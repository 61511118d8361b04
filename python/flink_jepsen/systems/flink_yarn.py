"""Flink on YARN, the original's other deployment: a session cluster (yarn-session), an
application cluster (yarn-application), or, with Flink 1.x only, a per-job cluster (yarn-job).
The Flink client runs on the ResourceManager's node; HA storage and checkpoints live in HDFS;
YARN restarts the JobManager's container (application attempts set high, as in the original)."""

from __future__ import annotations

import json
import re
import shlex
import time
import urllib.parse
import urllib.request
from pathlib import Path

from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import flink_config, java, register
from flink_jepsen.systems.base import Deployment
from flink_jepsen.systems.dist import Distribution
from flink_jepsen.systems.flink import Flink
from flink_jepsen.systems.hadoop import JAVA_HOME, Hadoop, _get_json
from flink_jepsen.workloads.flink_client import root_cause

MODES = ("yarn-session", "yarn-application", "yarn-job")
APP_NAME = "flink-jepsen"
REST_PORTS = "8081-8089"
# Keys of the distribution's default config that pin a process to localhost: wrong on YARN.
_LOCAL_KEYS = ("jobmanager.rpc.address", "jobmanager.bind-host", "taskmanager.bind-host",
               "taskmanager.host", "rest.address", "rest.bind-address")


class FlinkYarn(Flink):

    def __init__(self, cluster, dist: Distribution, hadoop: Hadoop, zk_quorum: str, mode: str,
                 ha_storage_dir: str, checkpoint_dir: str, overrides: dict[str, object],
                 jm_memory: str = "1024m", tm_memory: str = "1024m", slots: int = 2) -> None:
        super().__init__(cluster)
        if mode not in MODES:
            raise UsageError(f"unknown YARN deployment mode {mode!r}")
        if mode == "yarn-job" and dist.major_minor >= (2, 0):
            raise UsageError(f"--deployment-mode yarn-job: Flink {dist.version} has no per-job "
                             "mode (removed in 2.0); use yarn-application")
        self.dist, self.hadoop, self.mode = dist, hadoop, mode
        self.zk_quorum, self.ha, self.checkpoints = zk_quorum, ha_storage_dir, checkpoint_dir
        self.overrides = overrides
        self.jm_memory, self.tm_memory, self.slots = jm_memory, tm_memory, slots
        self.app_ids: list[str] = []

    @property
    def client_node(self) -> Node:
        """Where the Flink client runs: the ResourceManager's node."""
        return self.hadoop.resourcemanager

    # what the runner and the faults see ----------------------------------------------------------
    def job_manager_nodes(self) -> list[Node]:
        """JobManagers and TaskManagers are containers on any worker."""
        return self.hadoop.workers()

    task_manager_nodes = job_manager_nodes

    def rest_endpoints(self) -> list[str]:
        """The application master's address, from the ResourceManager (a new application
        attempt moves the JobManager to another node)."""
        ep = self.app_rest_endpoint(self.app_ids[-1]) if self.app_ids else None
        return [ep] if ep else []

    def leader(self) -> str | None:
        """The HA cluster id is the YARN application's id: ZooKeeper first, else the RM."""
        ep = super().leader()
        if ep is None:
            eps = self.rest_endpoints()
            ep = eps[0] if eps else None
        return ep

    def submit(self, jobs: list[tuple[object, Path, list[str]]], timeout: float) -> list[str]:
        if self.mode != "yarn-session":
            if len(jobs) != 1:
                raise UsageError(f"--deployment-mode {self.mode} runs exactly one job per "
                                 f"cluster; the spec has {len(jobs)}")
            job, jar, args = jobs[0]
            self.submit_application(jar, job.main_class, args, timeout)
        app = self.app_ids[-1]
        client = self._client(app, self.rest_endpoints())
        if self.mode != "yarn-session":
            return self._wait_for_jobs(timeout)
        out = []
        for job, jar, args in jobs:
            try:
                out.append(client.submit(jar, job.main_class, args, job.parallelism).job_id)
            except SetupError as e:
                logs = self.hadoop.workers()[0].path("log", "hadoop", "containers", app)
                raise SetupError(f"{e}; YARN application {app} is RUNNING but its JobManager "
                                 f"does not serve: see its container logs ({logs} and the same "
                                 "on the other workers)") from e
        return out

    def _wait_for_jobs(self, timeout: float) -> list[str]:
        """An application cluster submits its job itself: find its id over REST."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ep = self.leader()
            if ep and self.client is not None:
                self.client.rest_endpoints = [ep]
                try:
                    jobs = self.client.get(ep, "/jobs/overview", timeout=3).get("jobs", [])
                    if jobs:
                        return [j["jid"] for j in jobs]
                except (OSError, ValueError):
                    pass
            time.sleep(1)
        raise SetupError(f"the application cluster ran no job within {timeout:.0f} s")

    def nodes(self) -> list[Node]:
        return [self.client_node]

    def home(self) -> str:
        return self.client_node.path("opt", "flink")

    def conf_dir(self) -> str:
        return self.client_node.path("opt", "flink", "conf")

    def log_dir(self) -> str:
        return self.client_node.path("log", self.name)

    def env(self) -> dict[str, str]:
        env = self.hadoop.env(self.client_node)
        env.update({"HADOOP_CLASSPATH": self.hadoop.classpath(self.client_node),
                    "FLINK_CONF_DIR": self.conf_dir(), "FLINK_LOG_DIR": self.log_dir(),
                    "JAVA_HOME": self.java_home()})
        return env

    def config(self) -> dict[str, object]:
        conf = flink_config.shipped(self.dist.home / "conf")[0]
        for k in _LOCAL_KEYS:
            conf.pop(k, None)
        conf.update({
            "jobmanager.memory.process.size": self.jm_memory,
            "taskmanager.memory.process.size": self.tm_memory,
            "taskmanager.numberOfTaskSlots": self.slots,
            "high-availability.type": "zookeeper",
            "high-availability.zookeeper.quorum": self.zk_quorum,
            "high-availability.zookeeper.path.root": "/flink",
            "high-availability.storageDir": self.ha,
            "execution.checkpointing.dir": self.checkpoints,
            "execution.checkpointing.interval": "1 s",
            "execution.state-recovery.from-local": True,
            "yarn.application-attempts": 99999,
            "yarn.application.name": APP_NAME,
            "yarn.properties-file.location": self.client_node.path("tmp", "flink-yarn"),
            "yarn.provided.lib.dirs": "hdfs:///flink-dist/lib",
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 2147483647,
            "restart-strategy.fixed-delay.delay": "1 s",
            "resourcemanager.taskmanager-timeout": 10000,
            "taskmanager.registration.timeout": "30 s",
            "rest.bind-port": REST_PORTS,
            "io.tmp.dirs": self.client_node.path("tmp", "flink"),
        })
        # The containers start with $JAVA_HOME/bin/java: the release's JVM, not the NodeManager's.
        conf["containerized.master.env.JAVA_HOME"] = self.java_home()
        conf["containerized.taskmanager.env.JAVA_HOME"] = self.java_home()
        conf.update(flink_config.modern(self.overrides))
        return flink_config.for_version(conf, self.dist.major_minor)

    def java_home(self) -> str:
        """The JVM for this release (systems/java.py), for the client and the containers."""
        return str(java.java_home(java.java_for(self.dist.major_minor)))

    def install(self) -> None:
        c = self.client_node
        self.cluster.stage_dir(c, self.dist.home, self.home(), copy=("conf", "log"))
        name = flink_config.file_name(self.dist.major_minor,
                                      flink_config.shipped(self.dist.home / "conf")[1])
        self.cluster.remote(c).check(f"rm -f {self.conf_dir()}/config.yaml "
                                     f"{self.conf_dir()}/flink-conf.yaml")
        self.cluster.write_file(c, f"{self.conf_dir()}/{name}",
                                flink_config.render(self.config(), name))
        self.cluster.remote(c).check(f"mkdir -p {self.log_dir()} {c.path('tmp', 'flink')} "
                                     f"{c.path('tmp', 'flink-yarn')}")
        # The distribution's jars in HDFS once: each application attempt then ships 5 KB
        # instead of 300 MB.
        fs = f"{JAVA_HOME}/bin/java -Xmx256m -cp '{self.hadoop.classpath(c)}' " \
             "org.apache.hadoop.fs.FsShell"
        self.cluster.remote(c).check(
            f"{fs} -mkdir -p /flink-dist /flink && {fs} -put -f {self.home()}/lib "
            "/flink-dist/", env=self.env(), timeout=300)

    # applications ------------------------------------------------------------------------------
    def running_apps(self) -> list[dict]:
        q = urllib.parse.quote("Apache Flink")
        apps = _get_json(self.hadoop.rm_url(
            f"/ws/v1/cluster/apps?states=NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"
            f"&applicationTypes={q}"))
        return (apps.get("apps") or {}).get("app") or []

    def _ended_apps(self, known: set[str]) -> list[dict]:
        q = urllib.parse.quote("Apache Flink")
        apps = _get_json(self.hadoop.rm_url(
            f"/ws/v1/cluster/apps?states=FAILED,KILLED,FINISHED&applicationTypes={q}"))
        return [a for a in (apps.get("apps") or {}).get("app") or [] if a["id"] not in known]

    def _client_failure(self, client_log: str) -> str | None:
        """The exception the Flink client printed before it gave up, if it did."""
        q = shlex.quote(client_log)
        r = self.cluster.remote(self.client_node).exec(
            f"grep -q 'The program finished with the following exception' {q} 2>/dev/null && "
            f"grep -E '^(Caused by|[A-Za-z.]+(Exception|Error)[:]|Maximum Memory)' {q} | tail -n 4",
            timeout=10)
        return r.out.strip() or None if r.ok else None

    def _wait_app(self, timeout: float, known: set[str], client_log: str | None = None) -> str:
        """Waits for a new Flink application to be RUNNING in YARN; fails early, with the reason,
        when the client gave up or YARN ended the application."""
        ended_before = {a["id"] for a in self._ended_apps(set())}
        deadline = time.monotonic() + timeout
        waiting: dict = {}
        rm_log = self.hadoop.resourcemanager.path("log", "hadoop", "resourcemanager.out")
        while time.monotonic() < deadline:
            for app in self.running_apps():
                if app["id"] not in known:
                    if app.get("state") == "RUNNING":
                        self.app_ids.append(app["id"])
                        return app["id"]
                    waiting = app
            for app in self._ended_apps(known | ended_before):
                raise SetupError(
                    f"YARN application {app['id']} ended {app.get('state')} before it ran: "
                    f"{(app.get('diagnostics') or '').strip()[:800]}; see its container logs "
                    f"under log/hadoop/containers/{app['id']} on the workers and the "
                    f"ResourceManager's log {rm_log} on {self.hadoop.resourcemanager.name}")
            failure = self._client_failure(client_log) if client_log else None
            if failure:
                raise SetupError(f"the Flink YARN client ({self.mode}) on {self.client_node.name} "
                                 f"failed: {failure}; see {client_log} on {self.client_node.name}")
            time.sleep(1)
        detail = (f"; application {waiting['id']} is {waiting.get('state')}: "
                  f"{(waiting.get('diagnostics') or '').strip()[:500]}") if waiting else ""
        raise SetupError(f"no Flink YARN application reached RUNNING within {timeout:.0f} s"
                         f"{detail}; see {self.log_dir()} on {self.client_node.name} and the "
                         f"ResourceManager's log {rm_log} on {self.hadoop.resourcemanager.name}")

    def start(self) -> None:
        """yarn-session: starts the session cluster now; the other modes start with a job."""
        if self.mode != "yarn-session":
            return
        # Detached, so the harness stays interruptible while YARN brings the session up;
        # wait_ready() watches the ResourceManager for it. The client's log and properties file
        # of an earlier run on these nodes must not be read as this run's.
        c = self.client_node
        self.cluster.remote(c).check(
            f"rm -f {c.path('log', self.name, 'yarn-session.out')} "
            f"{c.path('tmp', 'flink-yarn')}/.yarn-properties-*")
        self.daemon(self.client_node, "yarn-session",
                    f"{self.home()}/bin/yarn-session.sh -d -nm {APP_NAME}", env=self.env())

    def wait_ready(self, timeout: float = 180) -> None:
        if self.mode == "yarn-session":
            self._wait_app(timeout, set(),
                           self.client_node.path("log", self.name, "yarn-session.out"))

    def submit_application(self, jar: Path, main_class: str | None, args: list[str],
                           timeout: float) -> str:
        """yarn-application / yarn-job: the job's own cluster; returns its YARN application."""
        target = {"yarn-application": "yarn-application", "yarn-job": "yarn-per-job"}[self.mode]
        action = "run" if self.dist.major_minor >= (2, 0) or self.mode == "yarn-job" \
            else "run-application"
        # The jar's name is the user's: only safe characters reach the node's shell.
        remote_jar = self.client_node.path("tmp", re.sub(r"[^A-Za-z0-9._-]", "_", jar.name))
        self.cluster.remote(self.client_node).upload(str(jar), remote_jar)
        known = {a["id"] for a in self.running_apps()}
        cmd = (f"{self.home()}/bin/flink {action} -t {target} -d "
               + (f"-c {shlex.quote(main_class)} " if main_class else "")
               + f"{shlex.quote(remote_jar)} " + " ".join(shlex.quote(a) for a in args))
        r = self.cluster.remote(self.client_node).exec(cmd, env=self.env(), timeout=300)
        if not r.ok:
            cause = root_cause(r.err + "\n" + r.out)
            raise SetupError(f"`flink {action} -t {target}` failed on {self.client_node.name}: "
                             + (f"Flink refused it: {cause}" if cause
                                else (r.err or r.out)[-1500:]))
        return self._wait_app(timeout, known)

    def app_rest_endpoint(self, app_id: str) -> str | None:
        """The JobManager's REST address: the application master's RPC address on YARN."""
        try:
            app = _get_json(self.hadoop.rm_url(f"/ws/v1/cluster/apps/{app_id}"))["app"]
        except (OSError, KeyError, ValueError):
            return None
        addr = app.get("amRPCAddress") or ""
        if ":" not in addr:
            return None
        host, port = addr.rsplit(":", 1)
        return f"{self.cluster.addresses.get(host, host)}:{port}"

    def pidfiles(self, node: Node) -> list[str]:
        if node != self.client_node:
            return []
        return [node.path("run", f"{self.name}-yarn-session.pid")]

    def stop(self) -> None:
        super().stop()
        for app in self.app_ids:
            try:
                req = urllib.request.Request(
                    self.hadoop.rm_url(f"/ws/v1/cluster/apps/{app}/state"), method="PUT",
                    data=json.dumps({"state": "KILLED"}).encode(),
                    headers={"Content-Type": "application/json"})
                urllib.request.urlopen(req, timeout=10).read()
            except OSError as e:
                self.log.warning("could not kill YARN application %s: %s", app, e)

    def log_dirs(self, node: Node) -> list[str]:
        return [self.log_dir()] if node == self.client_node else []




def _make(mode: str):
    def make(d: Deployment) -> FlinkYarn:
        o = d.options
        return FlinkYarn(d.cluster, d.dist, d.system("hadoop"), d.system("zookeeper").quorum(),
                         mode, o.ha_storage_dir or "hdfs:///flink/ha", "hdfs:///flink/checkpoints",
                         dict(d.spec.flink_config))
    return make


for _db, _mode, _what in (("flink-yarn-session", "yarn-session", "Flink session cluster on YARN"),
                          ("flink-yarn-job", "yarn-job", "Flink per-job cluster on YARN "
                                                          "(Flink 1.x)"),
                          ("flink-yarn-application", "yarn-application",
                           "Flink application cluster on YARN")):
    register(_db, _what, requires=("hadoop", "zookeeper"), after=("kafka",), flink=True,
             mode=_mode, overlaps=("zookeeper", "kafka"))(_make(_mode))
