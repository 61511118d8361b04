"""ZooKeeper: a real ensemble (3 servers, or fewer with fewer nodes) from Maven Central's jars,
explicit heap and ports, ready when every server answers the `srvr` four-letter word with a mode
and one of them leads."""

from __future__ import annotations

import socket
from pathlib import Path

from flink_jepsen import _core, paths, versions
from flink_jepsen.errors import SetupError
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import cds, register
from flink_jepsen.systems.base import Deployment, Process, Role, System
from flink_jepsen.systems.fetch import maven_dependency, maven_jars

CLIENT_PORT = 2181
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

_LOGBACK = """<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] %-5level [%thread] %logger{36} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
"""


def four_letter_word(host: str, word: str, timeout: float = 2.0) -> str:
    with socket.create_connection((host, CLIENT_PORT), timeout=timeout) as s:
        s.sendall(word.encode())
        chunks = []
        while data := s.recv(4096):
            chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def fetch_jars(version: str = versions.ZOOKEEPER) -> Path:
    """The server's jars with their runtime dependencies, from Maven Central."""
    deps = maven_dependency("org.apache.zookeeper", "zookeeper", version) + "".join(
        maven_dependency(g, a, v) for g, a, v in versions.ZOOKEEPER_EXTRA)
    pinned = versions.ZOOKEEPER_JAR_SHA256 if version == versions.ZOOKEEPER else None
    return maven_jars(paths.cache() / "zookeeper" / version, f"ZooKeeper {version}", deps,
                      f"zookeeper-{version}.jar", pinned)


class ZooKeeper(System):
    name = "zookeeper"

    def __init__(self, cluster, servers: int = 3, heap_mb: int = 192, c1: bool = False) -> None:
        """c1: the client compiler only (local nodes, as Flink's JVMs there: systems/cds.py);
        a quarter less CPU to start, with every node's JVMs starting on the same cores."""
        super().__init__(cluster)
        self.servers = min(servers, len(cluster.nodes))
        self.heap_mb = heap_mb
        self.c1 = c1

    def nodes(self) -> list[Node]:
        return self.cluster.nodes[: self.servers]

    def quorum(self) -> str:
        return ",".join(f"{n.name}:{CLIENT_PORT}" for n in self.nodes())

    def home(self, node: Node) -> str:
        return node.path("opt", "zookeeper")

    def install(self) -> None:
        lib = fetch_jars()
        servers = "\n".join(f"server.{i}={n.name}:2888:3888"
                            for i, n in enumerate(self.nodes(), start=1))
        self.cluster.each(self.nodes(),
                          lambda n: self.cluster.stage_dir(n, lib, f"{self.home(n)}/lib"))
        for i, node in enumerate(self.nodes(), start=1):
            data = node.path("data", "zookeeper")
            cfg = (f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={data}\n"
                   f"clientPort={CLIENT_PORT}\n4lw.commands.whitelist=*\n"
                   "admin.enableServer=false\nmaxClientCnxns=0\n"
                   + (servers + "\n" if self.servers > 1 else ""))
            self.cluster.write_file(node, f"{self.home(node)}/conf/zoo.cfg", cfg)
            self.cluster.write_file(node, f"{self.home(node)}/conf/logback.xml", _LOGBACK)
            self.cluster.write_file(node, f"{data}/myid", f"{i}\n")

    def command(self, node: Node) -> str:
        home = self.home(node)
        c1 = f"{cds.C1_ONLY} " if self.c1 else ""
        return (f"java -Xms64m -Xmx{self.heap_mb}m -XX:+UseSerialGC {c1}"
                f"-Dlogback.configurationFile={home}/conf/logback.xml "
                f"-Dzookeeper.log.dir={node.path('log', self.name)} "
                f"-cp '{home}/lib/*' {MAIN_CLASS} {home}/conf/zoo.cfg")

    def pidfiles(self, node: Node) -> list[str]:
        return [node.path("run", f"{self.name}-server.pid")]

    def start(self) -> None:
        self.cluster.each(self.nodes(), lambda n: self.daemon(n, "server", self.command(n)))

    def wait_ready(self, timeout: float = 90) -> None:
        for node in self.nodes():
            self.wait_for(
                f"ZooKeeper (`srvr` answering with a mode on {node.address}:{CLIENT_PORT})",
                lambda n=node: "Mode:" in four_letter_word(n.address, "srvr"),
                timeout, node, node.path("log", self.name, "server.out"))
        modes = [four_letter_word(n.address, "srvr") for n in self.nodes()]
        if self.servers > 1 and not any("Mode: leader" in m for m in modes):
            raise SetupError("ZooKeeper ensemble has no leader: " + " | ".join(modes))
        self.log.info("ZooKeeper ready on %s", self.quorum())

    def processes(self) -> dict[str, Process]:
        return {"zookeeper": Process(self.nodes, (MAIN_CLASS.replace(".", r"\."),),
                                     stop=self.stop_servers, start=self.start_servers)}

    def mode(self, node: Node) -> str:
        """leader, follower or standalone, as the server says (`srvr`); "" when it does not
        answer."""
        try:
            out = four_letter_word(node.address, "srvr")
        except OSError:
            return ""
        return next((line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.startswith("Mode:")), "")

    def roles(self) -> dict[str, Role]:
        return {"zk-leader": Role("zookeeper", lambda: [
                    n for n in self.nodes() if self.mode(n) == "leader"]),
                "zk-followers": Role("zookeeper", lambda: [
                    n for n in self.nodes() if self.mode(n) == "follower"]),
                "zookeepers": Role("zookeeper", self.nodes)}

    def start_servers(self, nodes: list[Node]) -> None:
        for node in nodes:
            self.daemon(node, "server", self.command(node))

    def stop_servers(self, nodes: list[Node]) -> None:
        for node in nodes:
            _core.stop_daemon(self.cluster.remote(node), self.pidfiles(node)[0], 10.0)

    def clean(self) -> None:
        for node in self.nodes():
            self.cluster.remote(node).check(f"rm -rf {node.path('data', 'zookeeper', 'version-2')}")


@register("zookeeper", "ZooKeeper ensemble (the first three nodes)")
def make(d: Deployment) -> ZooKeeper:
    return ZooKeeper(d.cluster, c1=cds.tuned(d.options.cds, d.cluster))
