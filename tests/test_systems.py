"""Systems are composed from the spec's :dbs through the registry: order, requirements, what
they provide to job arguments, and a system added from outside the package."""

from __future__ import annotations

import pytest

from flink_jepsen import systems
from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.node import Node
from flink_jepsen.run import spec as testspec
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun
from flink_jepsen.systems.base import Deployment, Process, System


def test_systems_start_after_what_they_need() -> None:
    order = systems.order(["flink-yarn-session", "kafka", "zookeeper", "hadoop"])
    assert order.index("hadoop") < order.index("flink-yarn-session")
    assert order.index("zookeeper") < order.index("flink-yarn-session")
    assert order.index("zookeeper") < order.index("kafka") < order.index("flink-yarn-session")
    assert systems.order(["flink-standalone-session", "zookeeper"]) == [
        "zookeeper", "flink-standalone-session"]


@pytest.mark.parametrize("dbs, message", [
    (["zookeeper"], "exactly one Flink db"),
    (["zookeeper", "flink-standalone-session", "flink-yarn-session", "hadoop"],
     "exactly one Flink db"),
    (["flink-standalone-session"], ":flink-standalone-session needs :zookeeper"),
    (["zookeeper", "flink-yarn-session"], ":flink-yarn-session needs :hadoop"),
    (["zookeeper", "flink-mesos-session"], "Mesos is not supported"),
    (["zookeeper", "flink-standalone-session", "cassandra"], "unknown db :cassandra"),
])
def test_bad_dbs_are_refused_naming_the_spec(dbs, message) -> None:
    with pytest.raises(UsageError, match=message):
        systems.check_dbs(dbs, "my.edn")


def test_the_deployment_mode_swaps_the_default_spec_s_flink_db(tmp_path) -> None:
    run = TestRun(TestOptions(deployment_mode="yarn-application"))
    run.validate()
    assert set(run.dbs) == {"hadoop", "zookeeper", "flink-yarn-application"}
    spec = tmp_path / "s.edn"
    spec.write_text('{:dbs [:hadoop :zookeeper :flink-yarn-session] '
                    ':jobs [{:job-jar "builtin:allround"}]}')
    with pytest.raises(UsageError, match="contradicts the test spec"):
        TestRun(TestOptions(test_spec=str(spec), deployment_mode="yarn-application")).validate()


def test_a_job_argument_naming_what_no_db_provides_is_refused(tmp_path) -> None:
    spec = tmp_path / "s.edn"
    spec.write_text('{:dbs [:zookeeper :flink-standalone-session] :jobs [{:job-jar '
                    '"builtin:allround" :job-args "--bootstrap-servers ${KAFKA_BOOTSTRAP}"}]}')
    with pytest.raises(UsageError, match=r"\$\{KAFKA_BOOTSTRAP\}, which no db"):
        TestRun(TestOptions(test_spec=str(spec))).validate()
    spec.write_text(spec.read_text().replace(":zookeeper", ":zookeeper :kafka"))
    TestRun(TestOptions(test_spec=str(spec))).validate()
    job = testspec.load(spec).jobs[0]
    assert testspec.placeholders(job) == {"KAFKA_BOOTSTRAP"}
    assert testspec.fill("x=${KAFKA_BOOTSTRAP},${OTHER}", {"KAFKA_BOOTSTRAP": "a:9092"}) == \
        "x=a:9092,${OTHER}"


def test_a_schedule_or_workload_needing_a_db_the_spec_lacks_is_refused() -> None:
    with pytest.raises(UsageError, match="kill-kafka-broker needs :kafka"):
        TestRun(TestOptions(nemesis_gen="kill-kafka-broker")).validate()
    with pytest.raises(UsageError, match="fail-name-node-during-recovery needs :hadoop"):
        TestRun(TestOptions(nemesis_gen="fail-name-node-during-recovery")).validate()


class Toy(System):
    """A system written outside the package: one module and its registration."""
    name = "toy"

    def nodes(self) -> list[Node]:
        return self.cluster.nodes[:1]

    def install(self) -> None: ...
    def start(self) -> None: ...
    def wait_ready(self, timeout: float) -> None: ...

    def processes(self) -> dict[str, Process]:
        return {"toy": Process(self.nodes, ("toy-server",))}

    def provides(self) -> dict[str, str]:
        return {"TOY": f"{self.nodes()[0].address}:7"}


@pytest.fixture
def toy():
    made = []
    systems.register("toy", "a toy server", after=("zookeeper",), provides=("TOY",))(
        lambda d: made.append(Toy(d.cluster)) or made[-1])
    yield made
    systems.REGISTRY.pop("toy")


def test_a_system_registered_from_outside_is_composed_with_the_others(toy, tmp_path) -> None:
    spec = tmp_path / "s.edn"
    spec.write_text('{:dbs [:toy :zookeeper :flink-standalone-session] '
                    ':jobs [{:job-jar "builtin:allround" :job-args "--sink ${TOY}"}]}')
    run = TestRun(TestOptions(test_spec=str(spec)))
    run.validate()  # ${TOY} is provided by :toy
    assert systems.order(run.dbs) == ["zookeeper", "toy", "flink-standalone-session"]

    class Cluster:
        nodes = [Node("n1", "10.0.0.1", "/x/n1")]
    d = Deployment(Cluster(), TestOptions(), run.spec, "run")  # type: ignore[arg-type]
    built = systems.REGISTRY["toy"].factory(d)
    assert built.provides() == {"TOY": "10.0.0.1:7"}
    assert systems.processes([built])["toy"].patterns == ("toy-server",)
    with pytest.raises(UsageError, match="two systems declare processes named 'toy'"):
        systems.processes([built, built])


def test_a_system_waits_only_for_what_it_cannot_start_beside() -> None:
    # Flink's JVMs take far longer to reach ZooKeeper than ZooKeeper takes to be ready, so
    # they start side by side; Flink on YARN submits to YARN and needs Hadoop ready first.
    dbs = ["zookeeper", "kafka", "flink-standalone-session"]
    assert systems.ready_before("flink-standalone-session", dbs) == ()
    assert systems.ready_before("kafka", dbs) == ()
    yarn = ["zookeeper", "hadoop", "kafka", "flink-yarn-session"]
    assert systems.ready_before("flink-yarn-session", yarn) == ("hadoop",)
    dfs = ["zookeeper", "hadoop", "flink-standalone-session"]
    assert systems.ready_before("flink-standalone-session", dfs) == ("hadoop",)


class Recording(System):
    """A system that writes what happens to it into a shared list."""

    def __init__(self, cluster, name: str, events: list[str]) -> None:
        super().__init__(cluster)
        self.name, self.events = name, events

    def nodes(self) -> list[Node]:
        return self.cluster.nodes

    def install(self) -> None:
        self.events.append(f"install {self.name}")

    def start(self) -> None:
        self.events.append(f"start {self.name}")

    def wait_ready(self, timeout: float) -> None:
        self.events.append(f"ready {self.name}")


def test_setup_starts_independent_systems_before_waiting_for_them(tmp_path, monkeypatch
                                                                   ) -> None:
    from flink_jepsen.systems.flink import Flink

    class RecordingFlink(Recording, Flink):
        job_manager_nodes = task_manager_nodes = Recording.nodes

        def submit(self, jobs, timeout: float) -> list[str]:
            return []

    events: list[str] = []
    for db, cls, after, overlaps in (("sys-a", Recording, (), ()),
                                     ("sys-b", Recording, ("sys-a",), ("sys-a",)),
                                     ("sys-c", RecordingFlink, ("sys-a", "sys-b"), ("sys-b",))):
        monkeypatch.setitem(systems.REGISTRY, db, systems.Registration(
            db, (lambda c, n: lambda d: c(d.cluster, n, events))(cls, db), db, after=after,
            overlaps=overlaps, flink=cls is RecordingFlink))
    monkeypatch.setattr(systems, "stop_leftover_supervisors", lambda cluster: [])
    monkeypatch.setattr(systems, "stop_leftovers", lambda system: [])

    class Cluster:
        nodes = [Node("n1", "10.0.0.1", "/x/n1")]
    run = TestRun(TestOptions())
    run.cluster, run.spec, run.dist = Cluster(), object(), object()  # type: ignore[assignment]
    run.dbs = ("sys-c", "sys-b", "sys-a")
    run.setup_systems()
    # b starts while a comes up; c waits for a (not an overlap) but not for b.
    assert events == ["install sys-a", "start sys-a", "install sys-b", "start sys-b",
                      "ready sys-a", "install sys-c", "start sys-c", "ready sys-b",
                      "ready sys-c"]
    assert run.flink is run.systems[-1]
