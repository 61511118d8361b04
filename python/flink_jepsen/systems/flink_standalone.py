"""Flink as a standalone session cluster with ZooKeeper HA, laid out as the original project did:
JobManagers on the first two nodes, TaskManagers on the others, every process under a supervisor
(the original used runit) so that a killed process comes back, unless supervision is off."""

from __future__ import annotations

import json
import shlex
import urllib.request
from collections.abc import Callable
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import cds, flink_config, java, register
from flink_jepsen.systems.base import Deployment, Process
from flink_jepsen.systems.cds import ClassArchives
from flink_jepsen.systems.dist import Distribution
from flink_jepsen.systems.flink import Flink
from flink_jepsen.systems.helper_memo import HelperMemo

REST_PORT = 8081
JM_CLASS = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TM_CLASS = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"


def rest_get(address: str, path: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(f"http://{address}:{REST_PORT}{path}", timeout=timeout) as r:
        return json.loads(r.read())


class FlinkStandalone(Flink):
    def __init__(self, cluster, dist: Distribution, zk_quorum: str, cluster_id: str,
                 ha_storage_dir: str, checkpoint_dir: str, overrides: dict[str, object],
                 supervise: bool = True, jm_memory: str = "1024m", tm_memory: str = "1536m",
                 slots: int = 3, job_managers: int = 2,
                 env: Callable[[Node], dict[str, str]] = lambda _: {}, cds: bool = True) -> None:
        """env: what other systems add to every Flink process's environment (HDFS's client)."""
        super().__init__(cluster)
        self.extra_env = env
        self.dist = dist
        self.zk_quorum = zk_quorum
        self.cluster_id = cluster_id
        self.ha_storage_dir = ha_storage_dir
        self.checkpoint_dir = checkpoint_dir
        self.overrides = overrides
        self.supervise = supervise
        self.jm_memory = jm_memory
        self.tm_memory = tm_memory
        self.slots = slots
        self.n_jm = min(job_managers, max(1, len(cluster.nodes) - 1))
        # The JVM for this release (systems/java.py), resolved at install.
        self.java_home = str(java.SYSTEM_JAVA_HOME)
        self.use_cds = cds
        self.archives: ClassArchives | None = None
        self.memo: HelperMemo | None = None  # the helper JVMs' answers remembered, at install

    # layout ------------------------------------------------------------------------------
    def job_managers(self) -> list[Node]:
        return self.cluster.nodes[: self.n_jm]

    def task_managers(self) -> list[Node]:
        return self.cluster.nodes[self.n_jm:]

    job_manager_nodes = job_managers
    task_manager_nodes = task_managers

    def processes(self) -> dict[str, Process]:
        """TaskManagers can also be stopped for good and started again (planted failures)."""
        out = super().processes()
        tm = out["task-manager"]
        out["task-manager"] = Process(tm.nodes, tm.patterns,
                                      stop=lambda _n: self.stop_task_managers(),
                                      start=lambda _n: self.start_task_managers(),
                                      restarts=tm.restarts)
        return out

    def submit(self, jobs: list[tuple[object, Path, list[str]]], timeout: float) -> list[str]:
        client = self.client or self._client(self.cluster_id, self.rest_addresses())
        return [client.submit(jar, job.main_class, args, job.parallelism).job_id
                for job, jar, args in jobs]

    def nodes(self) -> list[Node]:
        return self.cluster.nodes

    def home(self, node: Node) -> str:
        return node.path("opt", "flink")

    def conf_dir(self, node: Node) -> str:
        return node.path("opt", "flink", "conf")

    def log_dir(self, node: Node) -> str:
        return node.path("log", self.name)

    # configuration -----------------------------------------------------------------------
    def base_config(self) -> dict[str, object]:
        """The distribution's shipped defaults, keys under their modern names."""
        return flink_config.shipped(self.dist.home / "conf")[0]

    def config(self, node: Node) -> dict[str, object]:
        conf = self.base_config()
        conf.update({
            "jobmanager.rpc.address": node.name,
            "jobmanager.bind-host": "0.0.0.0",
            "taskmanager.bind-host": "0.0.0.0",
            "taskmanager.host": node.name,
            "rest.address": node.name,
            "rest.bind-address": "0.0.0.0",
            "rest.port": REST_PORT,
            "jobmanager.memory.process.size": self.jm_memory,
            "taskmanager.memory.process.size": self.tm_memory,
            "taskmanager.numberOfTaskSlots": self.slots,
            "parallelism.default": 1,
            "high-availability.type": "zookeeper",
            "high-availability.zookeeper.quorum": self.zk_quorum,
            "high-availability.zookeeper.path.root": "/flink",
            "high-availability.cluster-id": self.cluster_id,
            "high-availability.storageDir": self.ha_storage_dir,
            "high-availability.zookeeper.client.session-timeout": 60000,
            "execution.checkpointing.dir": self.checkpoint_dir,
            "execution.checkpointing.interval": "1 s",
            "execution.state-recovery.from-local": True,
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 2147483647,
            "restart-strategy.fixed-delay.delay": "1 s",
            "resourcemanager.taskmanager-timeout": 10000,
            "taskmanager.registration.timeout": "30 s",
            "io.tmp.dirs": node.path("tmp", "flink"),
            "env.pid.dir": node.path("run"),
            "env.log.dir": self.log_dir(node),
            "web.tmpdir": node.path("tmp", "flink-web"),
            "web.upload.dir": node.path("tmp", "flink-web-upload"),
        })
        # local recovery keeps task state on the node's own disk
        conf["taskmanager.state.local.root-dirs"] = node.path("data", "flink-local-state")
        conf.update(flink_config.modern(self.overrides))
        return flink_config.for_version(conf, self.dist.major_minor)

    def config_file(self) -> str:
        """The file name the release under test reads (flink_config.file_name)."""
        return flink_config.file_name(self.dist.major_minor,
                                      flink_config.shipped(self.dist.home / "conf")[1])

    def config_text(self, node: Node) -> str:
        return flink_config.render(self.config(node), self.config_file())

    # lifecycle ---------------------------------------------------------------------------
    def install(self) -> None:
        name = self.config_file()
        self.java_home = str(java.java_home(java.java_for(self.dist.major_minor)))
        tuned = cds.tuned(self.use_cds, self.cluster)
        self.archives = ClassArchives(self.java_home, f"{self.dist.version} {self.dist.checksum}",
                                      type(self).__name__, enabled=tuned,
                                      lib_dir=self.stable_lib_dir())
        self.archives.record_helper(self.dist.home)
        self.memo = HelperMemo(self.java_home) if tuned else None

        def install_on(node: Node) -> None:
            self.cluster.stage_dir(node, self.dist.home, self.home(node), copy=("conf", "log"))
            # Only one of the two files: 1.19/1.20 would otherwise read config.yaml.
            self.cluster.remote(node).check(
                f"rm -f {self.conf_dir(node)}/config.yaml {self.conf_dir(node)}/flink-conf.yaml")
            self.cluster.write_file(node, f"{self.conf_dir(node)}/{name}", self.config_text(node))
            # An earlier run's unharvested dumps must not pass for this release's.
            self.cluster.remote(node).check(
                f"mkdir -p {self.log_dir(node)} {node.path('tmp', 'flink')} "
                f"{node.path('tmp', 'flink-web-upload')} && rm -f "
                + " ".join(shlex.quote(ClassArchives.recording(node, r))
                           for r in ("jobmanager", "taskmanager")))
            if self.memo is not None:
                self.memo.install(self.cluster, node)

        self.cluster.each(self.nodes(), install_on)
        # Made where the processes look for them: on the nodes (a node-local path is one
        # directory per node, on local nodes too).
        local = [d[len("file://"):] for d in (self.ha_storage_dir, self.checkpoint_dir)
                 if d.startswith("file://")]
        if local:
            self.cluster.on(self.nodes(), "mkdir -p " + " ".join(shlex.quote(d) for d in local))

    def env(self, node: Node) -> dict[str, str]:
        java_home = self.memo.home(node) if self.memo is not None else self.java_home
        out = {**self.extra_env(node), "JAVA_HOME": java_home,
               "FLINK_CONF_DIR": self.conf_dir(node),
               "FLINK_LOG_DIR": self.log_dir(node), "FLINK_PID_DIR": node.path("run")}
        lib = self.archives.flink_lib_dir if self.archives is not None else None
        if lib:
            # The distribution's own jars (the node's are links to them): class-data archives
            # name their jars by path, and this one outlives every node and run (systems/cds.py).
            out["FLINK_LIB_DIR"] = lib
        return out

    def stable_lib_dir(self) -> str | None:
        """Where the Flink JVMs' jars can come from for good: the cached distribution's lib/."""
        return str(self.dist.home / "lib")

    def process_env(self, node: Node, role: str) -> dict[str, str]:
        """A process's environment: the node's, its role's class-data archive (JVM_ARGS reaches
        only the Flink JVM itself) and the start scripts' helper JVMs' options (systems/cds.py)."""
        if self.archives is None:
            return self.env(node)
        extra = self.archives.jvm_args(role)
        return {**self.env(node), **self.archives.helper_env(role),
                **({"JVM_ARGS": extra} if extra else {})}

    def stop(self) -> None:
        """Stops every process; a recording run first has one JVM of each role dump its
        class-data archive (systems/cds.py) and keeps it."""
        if self.archives is not None:
            for role, nodes in (("jobmanager", self.job_managers()),
                                ("taskmanager", self.task_managers())):
                if self.archives.wanted(role):
                    self.record_archive(role, nodes)
        super().stop()

    def record_archive(self, role: str, nodes: list[Node]) -> None:
        """The first node whose JVM of that role is alive and dumps a whole archive gives it."""
        assert self.archives is not None
        for node in nodes:
            remote = self.cluster.remote(node)
            pidfile = node.path("run", f"{self.name}-{role}.pid")
            remote.exec(self.archives.dump_command(node, role, pidfile), timeout=120)
            if self.archives.harvest(remote, node, role):
                return

    def command(self, node: Node, role: str) -> str:
        script = "jobmanager.sh" if role == "jobmanager" else "taskmanager.sh"
        return f"{shlex.quote(self.home(node))}/bin/{script} start-foreground"

    def pidfiles(self, node: Node) -> list[str]:
        return [node.path("run", f"{self.name}-{role}.pid") for role in ("jobmanager",
                                                                         "taskmanager")]

    def start(self) -> None:
        """Every node's process, the nodes side by side (each start is a few round trips)."""
        jms = self.job_managers()
        self.cluster.each(self.nodes(), lambda node: self.start_process(
            node, "jobmanager" if node in jms else "taskmanager"))

    def start_process(self, node: Node, role: str) -> None:
        self.daemon(node, role, self.command(node, role), env=self.process_env(node, role),
                    supervise=self.supervise)

    def start_task_managers(self) -> None:
        """Starts every TaskManager that is not running (a killed one, without supervision)."""
        for node in self.task_managers():
            self.start_process(node, "taskmanager")

    def stop_task_managers(self) -> None:
        """Stops every TaskManager and its supervisor: they stay down."""
        for node in self.task_managers():
            _core.stop_daemon(self.cluster.remote(node),
                              node.path("run", f"{self.name}-taskmanager.pid"), 10.0)

    def wait_ready(self, timeout: float = 180) -> None:
        """Ready: some JobManager's REST API answers /overview (a leader was elected) and every
        TaskManager has registered."""
        want = len(self.task_managers())
        jm = self.job_managers()[0]

        def probe() -> bool:
            for node in self.job_managers():
                try:
                    o = rest_get(node.address, "/overview")
                except OSError:
                    continue
                return int(o.get("taskmanagers", 0)) >= want
            return False

        self.wait_for(f"Flink ({want} TaskManagers registered with the leading JobManager)",
                      probe, timeout, jm, f"{self.log_dir(jm)}/jobmanager.out", interval=0.25)
        self.log.info("Flink %s ready: JobManagers on %s, %d TaskManagers", self.dist.version,
                      ", ".join(n.name for n in self.job_managers()), want)

    def log_dirs(self, node: Node) -> list[str]:
        return [self.log_dir(node)]

    def rest_addresses(self) -> list[str]:
        return [f"{n.address}:{REST_PORT}" for n in self.job_managers()]

    def check_version(self) -> None:
        for node in self.job_managers():
            try:
                v = rest_get(node.address, "/config").get("flink-version")
            except OSError:
                continue
            if v and v != self.dist.version:
                raise SetupError(f"JobManager on {node.name} runs Flink {v}, not "
                                 f"{self.dist.version}")
            return


def _check(options, dbs: tuple[str, ...]) -> None:
    if options.remote == "ssh" and not options.ha_storage_dir and "hadoop" not in dbs:
        raise UsageError("--remote ssh needs --ha-storage-dir (a directory every host shares, "
                         "e.g. NFS) or :hadoop in the spec's :dbs (HDFS)")


@register("flink-standalone-session", "Flink standalone session cluster with ZooKeeper HA "
          "(JobManagers on the first two nodes, TaskManagers on the others)",
          requires=("zookeeper",), after=("hadoop", "kafka"), flink=True,
          mode="standalone-session", check=_check,
          overlaps=("zookeeper", "kafka"))
def make(d: Deployment) -> FlinkStandalone:
    return build(d, FlinkStandalone)


def build(d: Deployment, cls: type[FlinkStandalone]) -> FlinkStandalone:
    """HA storage and checkpoints: --ha-storage-dir (checkpoints beside it), else HDFS when the
    spec has :hadoop (as the original), else a directory every local node shares."""
    o = d.options
    if o.ha_storage_dir:
        ha = o.ha_storage_dir
        checkpoints = f"{ha.rstrip('/')}/../checkpoints"
    elif d.has("hadoop"):
        ha, checkpoints = "hdfs:///flink/ha", "hdfs:///flink/checkpoints"
    elif d.shared_dir is not None:
        ha, checkpoints = f"file://{d.shared_dir}/ha", f"file://{d.shared_dir}/checkpoints"
    else:
        raise UsageError("real hosts need --ha-storage-dir (a directory every host shares) or "
                         ":hadoop in the spec's :dbs")
    others = [s for name, s in d.systems.items()]

    def env(node: Node) -> dict[str, str]:
        out: dict[str, str] = {}
        for s in others:
            out.update(s.flink_env(node))
        return out

    return cls(d.cluster, d.dist, d.system("zookeeper").quorum(), d.run_id, ha, checkpoints,
               dict(d.spec.flink_config), supervise=o.supervision, env=env, cds=o.cds)
