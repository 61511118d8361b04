"""HDFS and YARN from Maven Central's jars, laid out as the original: NameNode on the first node,
ResourceManager on the second, a DataNode and a NodeManager on each of the others. Ready when the
NameNode is out of safe mode with every DataNode live, and every NodeManager is RUNNING in the
ResourceManager (both asked over their REST APIs). See docs/notes/yarn-hdfs.md for the recipe."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from flink_jepsen import paths, versions
from flink_jepsen.errors import SetupError
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import register
from flink_jepsen.systems.base import Deployment, Process, Role, System
from flink_jepsen.systems.fetch import maven_dependency, maven_jars

NN_RPC, NN_HTTP, RM_HTTP, NM_PORT = 8020, 9870, 8088, 8041
NAMENODE = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE = "org.apache.hadoop.hdfs.server.datanode.DataNode"
RESOURCEMANAGER = "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"
NODEMANAGER = "org.apache.hadoop.yarn.server.nodemanager.NodeManager"
JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
# YARN's web apps (Guice) need java.lang opened on Java 17; HDFS needs nothing.
YARN_OPENS = "--add-opens=java.base/java.lang=ALL-UNNAMED"

_LOG4J = """log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
"""


_NO_DEPS = "<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>" \
           "</exclusions>"


def fetch_jars(version: str = versions.HADOOP) -> Path:
    """One lib directory with the daemons and their dependencies, from Maven Central. Two
    extras are needed that a plain dependency tree lacks: the timeline service jar (the
    ResourceManager's web app loads a class of it) and hadoop-hdfs's tests jar (the only one
    with the NameNode's and DataNode's web apps)."""
    def dep(artifact: str, extra: str = "") -> str:
        return maven_dependency("org.apache.hadoop", artifact, version, extra)

    deps = "".join(dep(a) for a in (
        "hadoop-common", "hadoop-hdfs", "hadoop-hdfs-client",
        "hadoop-yarn-server-resourcemanager", "hadoop-yarn-server-nodemanager",
        "hadoop-yarn-client"))
    deps += dep("hadoop-yarn-server-timelineservice", _NO_DEPS)
    deps += dep("hadoop-hdfs", "<classifier>tests</classifier>" + _NO_DEPS)
    return maven_jars(paths.cache() / "hadoop" / version, f"Hadoop {version}", deps,
                      f"hadoop-common-{version}.jar")


def _site(props: dict[str, object]) -> str:
    body = "".join(f"  <property><name>{k}</name><value>{v}</value></property>\n"
                   for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def _get_json(url: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


class Hadoop(System):
    name = "hadoop"

    def __init__(self, cluster, nn_heap_mb: int = 256, dn_heap_mb: int = 128,
                 rm_heap_mb: int = 256, nm_heap_mb: int = 192, nm_memory_mb: int = 4096,
                 yarn: bool = True) -> None:
        """yarn: also run YARN (a ResourceManager and NodeManagers); without it only HDFS, which
        a standalone Flink uses for hdfs:// checkpoints and HA storage, as in the original."""
        super().__init__(cluster)
        self.yarn = yarn
        if len(cluster.nodes) < 3:
            raise SetupError("HDFS and YARN need at least 3 nodes")
        self.heaps = {"namenode": nn_heap_mb, "datanode": dn_heap_mb,
                      "resourcemanager": rm_heap_mb, "nodemanager": nm_heap_mb}
        self.nm_memory_mb = nm_memory_mb

    # layout ------------------------------------------------------------------------------------
    @property
    def namenode(self) -> Node:
        return self.cluster.nodes[0]

    @property
    def resourcemanager(self) -> Node:
        return self.cluster.nodes[1]

    def workers(self) -> list[Node]:
        return self.cluster.nodes[2:]

    def nodes(self) -> list[Node]:
        return self.cluster.nodes

    def home(self, node: Node) -> str:
        return node.path("opt", "hadoop")

    def conf_dir(self, node: Node) -> str:
        return node.path("etc", "hadoop")

    def env(self, node: Node) -> dict[str, str]:
        return {"JAVA_HOME": JAVA_HOME, "HADOOP_CONF_DIR": self.conf_dir(node),
                "HADOOP_HOME": self.home(node)}

    def classpath(self, node: Node) -> str:
        """What a Hadoop client (Flink's YARN client) needs on its classpath."""
        return f"{self.conf_dir(node)}:{self.home(node)}/lib/*"

    # configuration -----------------------------------------------------------------------------
    def sites(self, node: Node) -> dict[str, str]:
        nn, rm = self.namenode.name, self.resourcemanager.name
        core = {"fs.defaultFS": f"hdfs://{nn}:{NN_RPC}",
                "hadoop.tmp.dir": node.path("tmp", "hadoop")}
        hdfs = {"dfs.namenode.rpc-address": f"{nn}:{NN_RPC}",
                "dfs.namenode.http-address": f"{nn}:{NN_HTTP}",
                "dfs.namenode.name.dir": node.path("data", "dfs", "name"),
                "dfs.datanode.data.dir": node.path("data", "dfs", "data"),
                "dfs.replication": 2, "dfs.permissions.enabled": "false",
                "dfs.namenode.safemode.extension": 0,
                "dfs.client.block.write.replace-datanode-on-failure.policy": "NEVER"}
        yarn = {"yarn.resourcemanager.hostname": rm,
                "yarn.resourcemanager.scheduler.class": "org.apache.hadoop.yarn.server."
                "resourcemanager.scheduler.fifo.FifoScheduler",
                "yarn.resourcemanager.am.max-attempts": 100000,
                "yarn.scheduler.minimum-allocation-mb": 128,
                "yarn.scheduler.maximum-allocation-mb": self.nm_memory_mb,
                "yarn.nodemanager.resource.memory-mb": self.nm_memory_mb,
                "yarn.nodemanager.resource.cpu-vcores": 4,
                "yarn.nodemanager.vmem-check-enabled": "false",
                "yarn.nodemanager.pmem-check-enabled": "false",
                "yarn.nodemanager.address": f"${{yarn.nodemanager.hostname}}:{NM_PORT}",
                "yarn.nodemanager.local-dirs": node.path("data", "yarn", "local"),
                "yarn.nodemanager.log-dirs": node.path("log", self.name, "containers"),
                "yarn.nodemanager.delete.debug-delay-sec": 3600,
                "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage":
                    99,
                "yarn.application.classpath": "$HADOOP_CONF_DIR,$HADOOP_HOME/lib/*"}
        return {"core-site.xml": _site(core), "hdfs-site.xml": _site(hdfs),
                "yarn-site.xml": _site(yarn), "log4j.properties": _LOG4J}

    def install(self) -> None:
        lib = fetch_jars()
        self.cluster.each(self.nodes(), lambda n: self.cluster.stage_dir(
            n, lib, f"{self.home(n)}/lib"))
        for node in self.nodes():
            # A new NameNode format: old DataNode blocks would carry another cluster id.
            self.cluster.remote(node).check(
                f"rm -rf {node.path('data', 'dfs')} {node.path('data', 'yarn')}")
            for name, text in self.sites(node).items():
                self.cluster.write_file(node, f"{self.conf_dir(node)}/{name}", text)
        nn = self.namenode
        self.cluster.remote(nn).check(
            self.java(nn, "namenode", NAMENODE)
            + " -format -nonInteractive -force", env=self.env(nn), timeout=120)

    # processes ---------------------------------------------------------------------------------
    def java(self, node: Node, role: str, main: str) -> str:
        opens = f" {YARN_OPENS}" if role in ("resourcemanager", "nodemanager") else ""
        logs = node.path("log", self.name)
        return (f"{JAVA_HOME}/bin/java -Xms32m -Xmx{self.heaps[role]}m -XX:+UseSerialGC{opens} "
                f"-Dproc_{role} -Dhadoop.log.dir={logs} -Dyarn.log.dir={logs} "
                f"-Dhadoop.home.dir={self.home(node)} -cp '{self.classpath(node)}' {main}")

    def daemons(self) -> list[tuple[Node, str, str]]:
        out = [(self.namenode, "namenode", NAMENODE),
               (self.resourcemanager, "resourcemanager", RESOURCEMANAGER)]
        for w in self.workers():
            out += [(w, "datanode", DATANODE), (w, "nodemanager", NODEMANAGER)]
        return [r for r in out if self.yarn or r[1] not in ("resourcemanager", "nodemanager")]

    def pidfiles(self, node: Node) -> list[str]:
        return [node.path("run", f"{self.name}-{role}.pid") for n, role, _ in self.daemons()
                if n == node]

    def start(self) -> None:
        for node, role, main in self.daemons():
            self.daemon(node, role, self.java(node, role, main), env=self.env(node))

    def start_namenode(self) -> None:
        nn = self.namenode
        self.daemon(nn, "namenode", self.java(nn, "namenode", NAMENODE), env=self.env(nn))

    def stop_namenode(self) -> None:
        from flink_jepsen import _core

        _core.stop_daemon(self.cluster.remote(self.namenode),
                          self.namenode.path("run", f"{self.name}-namenode.pid"), 10.0)

    # readiness ---------------------------------------------------------------------------------
    def hdfs_state(self) -> tuple[int, str]:
        base = f"http://{self.namenode.address}:{NN_HTTP}/jmx?qry=Hadoop:service=NameNode,name="
        live = _get_json(base + "FSNamesystemState")["beans"][0]["NumLiveDataNodes"]
        safemode = _get_json(base + "NameNodeInfo")["beans"][0]["Safemode"]
        return int(live), safemode

    def yarn_nodes(self) -> int:
        url = (f"http://{self.resourcemanager.address}:{RM_HTTP}/ws/v1/cluster/nodes"
               "?states=RUNNING")
        nodes = (_get_json(url).get("nodes") or {}).get("node") or []
        return len(nodes)

    def wait_ready(self, timeout: float = 180) -> None:
        want = len(self.workers())

        def hdfs_ready() -> bool:
            live, safemode = self.hdfs_state()
            return live >= want and not safemode

        self.wait_for(f"HDFS (NameNode out of safe mode with {want} live DataNodes)", hdfs_ready,
                      timeout, self.namenode, self.namenode.path("log", self.name,
                                                                 "namenode.out"))
        if not self.yarn:
            self.log.info("HDFS ready: NameNode on %s, %d DataNodes", self.namenode.name, want)
            return
        self.wait_for(f"YARN ({want} NodeManagers RUNNING in the ResourceManager)",
                      lambda: self.yarn_nodes() >= want, timeout, self.resourcemanager,
                      self.resourcemanager.path("log", self.name, "resourcemanager.out"))
        self.log.info("HDFS and YARN ready: NameNode on %s, ResourceManager on %s, %d workers",
                      self.namenode.name, self.resourcemanager.name, want)

    def processes(self) -> dict[str, Process]:
        return {"namenode": Process(lambda: [self.namenode], (NAMENODE.replace(".", r"\."),),
                                    stop=lambda _nodes: self.stop_namenode(),
                                    start=lambda _nodes: self.start_namenode()),
                "datanode": Process(self.workers, (DATANODE.replace(".", r"\."),))}

    def roles(self) -> dict[str, Role]:
        return {"name-node": Role("namenode", lambda: [self.namenode]),
                "data-nodes": Role("datanode", self.workers)}

    def flink_env(self, node: Node) -> dict[str, str]:
        """A Flink process reaches hdfs:// with Hadoop's client on its classpath and the
        cluster's core-site.xml (fs.defaultFS) in HADOOP_CONF_DIR."""
        return {"HADOOP_CLASSPATH": self.classpath(node), "HADOOP_CONF_DIR": self.conf_dir(node)}

    def rm_url(self, path: str) -> str:
        return f"http://{self.resourcemanager.address}:{RM_HTTP}{path}"


@register("hadoop", "HDFS, and YARN when a Flink db on YARN is in the spec")
def make(d: Deployment) -> Hadoop:
    return Hadoop(d.cluster, yarn=any(db.startswith("flink-yarn") for db in d.spec.dbs))
