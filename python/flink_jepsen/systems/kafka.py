"""Kafka: real brokers (4.x, KRaft: each process is broker and controller) from Maven Central's
jars on the first three nodes, explicit heap and ports. Topics are replicated 3 ways with
min.insync.replicas 2 so that one broker lost (killed, or cut off) loses no acknowledged write.
Ready when every broker is registered in the cluster's metadata, asked over Kafka's protocol."""

from __future__ import annotations

import base64
import shlex
import uuid
from pathlib import Path

from flink_jepsen import paths, versions
from flink_jepsen.errors import SetupError
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import register
from flink_jepsen.systems.base import Deployment, Process, Role, System
from flink_jepsen.systems.fetch import maven_dependency, maven_jars

BROKER_PORT = 9092
CONTROLLER_PORT = 9093
MAIN_CLASS = "kafka.Kafka"
REPLICATION = 3
MIN_ISR = 2
# Created at setup: the exactly-once workload's input and output, the state-machine jobs' events,
# and the topic the original's Kafka spec names.
TOPICS = ("fj-input", "fj-output", "fj-events", "kafka-test-topic")
TOPIC_PARTITIONS = 4

_LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.state.name = state.change.logger
logger.state.level = warn
"""


def fetch_jars(version: str = versions.KAFKA) -> Path:
    """The broker's jars with their dependencies (and an slf4j binding for log4j2, which the
    server's pom leaves to the distribution's scripts), from Maven Central."""
    deps = maven_dependency("org.apache.kafka", "kafka_2.13", version) + "".join(
        maven_dependency(g, a, v) for g, a, v in versions.KAFKA_EXTRA)
    pinned = versions.KAFKA_JAR_SHA256 if version == versions.KAFKA else None
    return maven_jars(paths.cache() / "kafka" / version, f"Kafka {version}", deps,
                      f"kafka_2.13-{version}.jar", pinned)


def bootstrap(nodes: list[Node]) -> str:
    return ",".join(f"{n.address}:{BROKER_PORT}" for n in nodes)


class Kafka(System):
    name = "kafka"

    def __init__(self, cluster, controllers: int = 3, heap_mb: int = 320) -> None:
        """A broker on every node, as the original ran Kafka (its jobs reach one at
        localhost:9092 from any node); the first `controllers` are also the KRaft quorum."""
        super().__init__(cluster)
        if len(cluster.nodes) < controllers:
            raise SetupError(f"Kafka needs {controllers} nodes for its {controllers} "
                             f"controllers; the cluster has {len(cluster.nodes)}")
        self.n_controllers = controllers
        self.brokers = len(cluster.nodes)
        self.heap_mb = heap_mb
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")

    def nodes(self) -> list[Node]:
        return self.cluster.nodes

    def controllers(self) -> list[Node]:
        return self.cluster.nodes[: self.n_controllers]

    def bootstrap_servers(self) -> str:
        return bootstrap(self.controllers())

    def home(self, node: Node) -> str:
        return node.path("opt", "kafka")

    def data(self, node: Node) -> str:
        return node.path("data", "kafka")

    def properties(self, node_id: int, node: Node) -> str:
        voters = ",".join(f"{i}@{n.address}:{CONTROLLER_PORT}"
                          for i, n in enumerate(self.controllers(), start=1))
        controller = node in self.controllers()
        rf = min(REPLICATION, self.brokers)
        isr = min(MIN_ISR, rf)
        props = {
            "process.roles": "broker,controller" if controller else "broker",
            "node.id": node_id,
            "controller.quorum.voters": voters,
            # every address of the node, localhost too (the original's jobs bootstrap there)
            "listeners": f"PLAINTEXT://0.0.0.0:{BROKER_PORT}" + (
                f",CONTROLLER://{node.address}:{CONTROLLER_PORT}" if controller else ""),
            "advertised.listeners": f"PLAINTEXT://{node.address}:{BROKER_PORT}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.data(node),
            "num.partitions": 4,
            "default.replication.factor": rf,
            "min.insync.replicas": isr,
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": isr,
            "unclean.leader.election.enable": "false",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": 0,
            # Flink's exactly-once sink asks for transactions of up to 15 minutes.
            "transaction.max.timeout.ms": 900000,
            "num.network.threads": 2,
            "num.io.threads": 4,
            "log.segment.bytes": 64 * 1024 * 1024,
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def install(self) -> None:
        lib = fetch_jars()
        self.cluster.each(self.nodes(),
                          lambda n: self.cluster.stage_dir(n, lib, f"{self.home(n)}/lib"))
        for i, node in enumerate(self.nodes(), start=1):
            home = self.home(node)
            self.cluster.write_file(node, f"{home}/config/server.properties",
                                    self.properties(i, node))
            self.cluster.write_file(node, f"{home}/config/log4j2.properties", _LOG4J2)
        # Each broker's storage is formatted with the one cluster id before its first start.
        self.cluster.each(self.nodes(), self.format_storage)

    def format_storage(self, node: Node) -> None:
        out = shlex.quote(node.path("log", self.name, "format.out"))
        cmd = (f"mkdir -p {node.path('log', self.name)} && rm -rf {shlex.quote(self.data(node))}"
               f" && {self.java(node, 128)} kafka.tools.StorageTool format -t {self.cluster_id}"
               f" -c {self.home(node)}/config/server.properties >{out} 2>&1")
        r = self.cluster.remote(node).exec(cmd, timeout=120)
        if not r.ok:
            tail = self.cluster.remote(node).exec(f"tail -n 20 {out}", timeout=10).out
            raise SetupError(f"formatting Kafka's storage on {node.name} failed (exit "
                             f"{r.exit_status}); see {out}:\n{tail.rstrip()}")

    def java(self, node: Node, heap_mb: int) -> str:
        home = self.home(node)
        return (f"java -Xms{heap_mb}m -Xmx{heap_mb}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "
                f"-Dlog4j2.configurationFile={home}/config/log4j2.properties "
                f"-Dkafka.logs.dir={node.path('log', self.name)} -cp '{home}/lib/*'")

    def command(self, node: Node) -> str:
        return (f"{self.java(node, self.heap_mb)} {MAIN_CLASS} "
                f"{self.home(node)}/config/server.properties")

    def pidfiles(self, node: Node) -> list[str]:
        return [node.path("run", f"{self.name}-broker.pid")]

    def start(self) -> None:
        self.cluster.each(self.nodes(), self.start_broker)

    def start_broker(self, node: Node) -> None:
        """Starts (or restarts, after a kill) the broker on one node."""
        self.daemon(node, "broker", self.command(node))

    def processes(self) -> dict[str, Process]:
        """A broker is not supervised: a fault that kills it starts it again (`start`)."""
        return {"kafka-broker": Process(self.nodes, (MAIN_CLASS.replace(".", r"\."),),
                                        start=lambda nodes: [self.start_broker(n)
                                                             for n in nodes])}

    def roles(self) -> dict[str, Role]:
        return {"kafka-brokers": Role("kafka-broker", self.nodes)}

    def provides(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.bootstrap_servers()}

    def log_file(self, node: Node) -> str:
        return node.path("log", self.name, "broker.out")

    def wait_ready(self, timeout: float = 120) -> None:
        from flink_jepsen.workloads.kafka_client import registered_brokers

        want = {n.address for n in self.nodes()}
        first = self.nodes()[0]
        self.wait_for(f"Kafka ({len(want)} brokers registered, asked at "
                      f"{self.bootstrap_servers()})",
                      lambda: want <= registered_brokers(self.bootstrap_servers()),
                      timeout, first, self.log_file(first), interval=1.0)
        self.create_topics(list(TOPICS), TOPIC_PARTITIONS)
        self.log.info("Kafka ready: brokers on %s, topics %s",
                      ", ".join(n.name for n in self.nodes()), ", ".join(TOPICS))

    def create_topics(self, topics: list[str], partitions: int, timeout: float = 60) -> None:
        from flink_jepsen.workloads.kafka_client import create_topics

        rf = min(REPLICATION, self.brokers)
        create_topics(self.bootstrap_servers(), topics, partitions, rf, min(MIN_ISR, rf),
                      timeout)


@register("kafka", "Kafka brokers (KRaft, three brokers and controllers)", after=("zookeeper",),
          provides=("KAFKA_BOOTSTRAP",), overlaps=("zookeeper",))
def make(d: Deployment) -> Kafka:
    return Kafka(d.cluster)
