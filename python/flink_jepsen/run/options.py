"""A test's parameters: one dataclass shared by the CLI, the scripting API and stored runs
(test.json), validated before anything starts."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from flink_jepsen import versions
from flink_jepsen.declare import check_value, choices, flag, option  # noqa: F401 - re-exported
from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.node import check_name, check_root
from flink_jepsen.nodes.remotes import SshOptions

CLIENT_GENS = ("poll-job-running", "cancel-jobs")
ORIGINAL_POLL_INTERVAL = 5.0  # the original polled every 5 s: thresholds are in those polls
CANCEL_AFTER = 15.0           # cancel-jobs: the original cancelled after 15 s of polling
CANCEL_TRIES = 11             # ... one attempt and 10 retries, requiring one to succeed
CANCEL_RETRY_DELAY = 2.0      # seconds between two attempts (the original's retry defaults)
CANCEL_GRACE = 10.0           # a cancelled job still running this long after is an anomaly


def _schedules() -> tuple:
    from flink_jepsen.faults.schedules import SCHEDULES

    return tuple(SCHEDULES)


def _modes() -> tuple:
    from flink_jepsen import systems

    return tuple(systems.modes())


def _workloads() -> tuple:
    from flink_jepsen import workloads

    return tuple(workloads.WORKLOADS)


@dataclass
class TestOptions:
    __test__ = False  # not a pytest test class, despite its name
    test_spec: str | None = option(None, "EDN, YAML or JSON: :dbs, :jobs, :flink-config "
                                   "(default: the spec of the deployment mode and workload)")
    tarball: str | None = option(None, "a Flink binary tarball: file://, http(s):// or a "
                                 "path (default: none: --flink-version's release)",
                                 pytest="--tarball")
    tarball_sha512: str | None = option(
        None, "the tarball's SHA-512 (hex), required for a plain http:// tarball unless a "
        ".sha512 file beside it verifies it")
    flink_version: str = option(versions.FLINK_DEFAULT, "the Apache release to test, from "
                                "PyPI's official binaries", pytest="--flink-version")
    deployment_mode: str = option("standalone-session", "how Flink is deployed (the spec's "
                                  "Flink db, when a spec is given)", choices=_modes,
                                  refuse_at_parse=True)
    ha_storage_dir: str | None = option(None, "high-availability.storageDir (default: HDFS with "
                                        ":hadoop, else a directory every local node shares)",
                                        pytest="--ha-storage-dir")
    nemesis_gen: str = option("kill-task-managers", "the fault schedule", choices=_schedules)
    nemesis: str | None = option(
        None, "Jepsen's combined nemesis instead of --nemesis-gen: fault packages mixed at "
        "random, comma-separated (kill, pause, partition, packet, clock), one every "
        "--nemesis-interval s (default: none: --nemesis-gen's schedule)",
        pytest="--fj-nemesis")
    faketime: bool = option(
        False, "start every system's processes under libfaketime, so clock faults can move "
        "their clocks (on whenever --nemesis lists clock)")
    faults_after_running: bool = option(
        False, "hold the fault schedule (and its clock) until every submitted job has all its "
        "tasks running, at most --ready-timeout s (the original starts it at submission: a "
        "slow deployment then takes the first faults)")
    fault_duration: float | None = option(
        None, "seconds a lasting fault (a partition, a pause) holds (default: the schedule's "
        "own: 20 s for the original's partitions, 30 s in the combined nemesis)", kind=float,
        lo=1, hi=3600, unit="seconds")
    client_gen: str = option("poll-job-running", "the client", choices=lambda: CLIENT_GENS)
    job_running_healthy_threshold: int = option(
        5, "consecutive running polls (of the original's 5 s) a job needs at the end",
        kind=int, lo=1)
    job_recovery_grace_period: float = option(
        180.0, "seconds after the last fault within which jobs must recover", kind=float,
        lo=60, unit="seconds")
    time_limit: float = option(60.0, "seconds of fault injection", kind=float, lo=1e-9,
                               pytest="--fj-time-limit", unit="seconds")
    test_count: int = option(1, "runs, one after another", kind=int, lo=1)
    nodes: list[str] = option(help="real hosts, comma-separated, with --remote ssh "
                              "(default: none: local nodes)",
                              factory=list, pytest="--nodes")
    node_groups: dict = option(factory=dict, cli=False)  # {group: hosts} of a --nodes-file
    # with [group] sections: each run claims a free group (nodes/groups.py)
    group_wait: float = option(3600.0, "with node groups: seconds a run waits for a free group",
                               kind=float, lo=0, unit="seconds")
    node_count: int = option(5, "local nodes to use", kind=int, lo=3, hi=50,
                             pytest="--node-count")
    remote: str = option("netns", "how the nodes are driven", choices=("netns", "ssh"))
    ssh: SshOptions = option(factory=SshOptions, cli=False)
    node_root: str = option("/opt/flink-jepsen", "directory for the test's files on a real "
                            "host")
    store: str = option("store", "where runs are kept", pytest="--fj-store")
    leave_running: bool = option(False, "keep the cluster and nodes up afterwards")
    supervision: bool = option(True, "do not restart killed Flink processes (negative "
                               "controls)", flag="--no-supervision")
    cds: bool = option(True, "start local nodes' JVMs as shipped: no recorded class-data "
                       "archives, no start-up tuning (client compiler only for Flink and "
                       "ZooKeeper, the start scripts' helper JVMs tuned and remembered); "
                       "hosts over SSH always are",
                       flag="--no-cds")
    poll_rate: float = option(10.0, "availability polls per second per job", kind=float,
                              lo=0.2, hi=100, unit="per second")
    seed: int | None = option(None, "random seed of the fault schedule (default: a random "
                              "one, recorded in test.json)", kind=int)
    name: str | None = option(None, "the test's name in the store (default: made of the "
                              "deployment mode, the schedule and the workload)")
    ready_timeout: float = option(180.0, "seconds each system may take to become ready",
                                  kind=float, lo=10, unit="seconds")
    nemesis_interval: float | None = option(
        None, "mean seconds between faults (default: the schedule's own, e.g. 3 for "
        "TaskManager kills, as the original)", kind=float, lo=0.1, hi=3600, unit="seconds")
    workload: str = option("availability", "availability (the original's: are the jobs "
                           "running?), exactly-once (Kafka in and out: did every record "
                           "arrive once?) or bounded (jobs that end by themselves: did each "
                           "finish, once?)", choices=_workloads, refuse_at_parse=True)
    producer_rate: float = option(500.0, "exactly-once: records per second written to the "
                                  "input topic", kind=float, lo=1, hi=1_000_000,
                                  unit="records per second")
    keys: int = option(16, "exactly-once: distinct record keys", kind=int, lo=1, hi=1_000_000)
    producer: str = option("core", "exactly-once: the producer of the input records, core "
                           "(the C++ core's librdkafka client) or python (confluent-kafka)",
                           choices=("core", "python"))

    @property
    def healthy_duration(self) -> float:
        """The original's 'N consecutive running polls', 5 s apart, as a duration."""
        return self.job_running_healthy_threshold * ORIGINAL_POLL_INTERVAL

    @property
    def test_name(self) -> str:
        return self.test_name_for(self.deployment_mode)

    def test_name_for(self, mode: str) -> str:
        """--name, or one made of the deployment mode (the spec's, when it names one), the
        nemesis schedule and any workload other than availability."""
        workload = "" if self.workload == "availability" else f"-{self.workload}"
        raw = self.name or f"flink-{mode}-{self.schedule}{workload}"
        return re.sub(r"[^A-Za-z0-9._-]", "_", raw).lstrip(".") or "test"

    def validate(self) -> None:
        """Every declared type, choice and range, then what relates options to each other."""
        for f in dataclasses.fields(self):
            check_value(f, getattr(self, f.name))
        from flink_jepsen.faults.schedules import PACKAGES

        for package in self.packages:
            if package not in PACKAGES:
                raise UsageError(f"--nemesis: fault package {package!r} is unknown; must be "
                                 f"one of: {', '.join(PACKAGES)}")
        if self.nemesis is not None and not self.packages:
            raise UsageError("--nemesis names no fault package")
        if self.node_groups:
            if self.remote != "ssh":
                raise UsageError("node groups name real hosts: add --remote ssh")
            if self.nodes:
                raise UsageError("give either --nodes or a --nodes-file of [group]s, not both")
            for name, hosts in self.node_groups.items():
                if len(hosts) < 3:
                    raise UsageError(f"--nodes-file: group {name} has {len(hosts)} host(s); a "
                                     "cluster needs at least 3")
        if self.remote == "ssh":
            if len(self.nodes) < 3 and not self.node_groups:
                raise UsageError("--remote ssh needs at least 3 hosts in --nodes/--nodes-file")
            self.ssh.validate()
            try:
                check_root(self.node_root, "--node-root")
                for host in [*self.nodes, *(h for g in self.node_groups.values() for h in g)]:
                    check_name(host, "--nodes: host")
            except ValueError as e:
                raise UsageError(str(e)) from e
        if not self.tarball and str(self.flink_version) not in versions.FLINK_PYPI:
            known = versions.flink_versions()
            raise UsageError(f"--flink-version {self.flink_version!r} is not a Flink release this "
                             f"harness deploys ({known[0]} to {known[-1]}: {', '.join(known)})")
        if self.tarball and self.flink_version != versions.FLINK_DEFAULT:
            raise UsageError("give either --tarball or --flink-version, not both")

    def checker_parameters(self, jobs: list[str] | None = None) -> dict:
        """The availability checker's parameters for this test (jobs: the submitted ones), the
        same for the live stop rule, the final check and a re-check of a stored run."""
        from flink_jepsen.faults.schedules import expects_faults

        return {"grace_period_s": float(self.job_recovery_grace_period),
                "healthy_duration_s": float(self.healthy_duration),
                "cancel_grace_s": CANCEL_GRACE, "jobs": list(jobs or []),
                "expect_faults": expects_faults(self.schedule)}

    @property
    def schedule(self) -> str:
        """The fault schedule that runs: --nemesis-gen, or `combined` with --nemesis."""
        return "combined" if self.nemesis else self.nemesis_gen

    @property
    def clock_faults(self) -> bool:
        """Are the processes started under libfaketime (--faketime, or clock in --nemesis)?"""
        return self.faketime or "clock" in self.packages

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in (self.nemesis or "").split(",") if p.strip())

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["ssh"].pop("password", None)
        return d

    @classmethod
    def from_json(cls, d: dict) -> TestOptions:
        d = dict(d)
        ssh = SshOptions(**d.pop("ssh", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(ssh=ssh, **{k: v for k, v in d.items() if k in known})


def declared() -> list[dataclasses.Field]:
    """The test options the command line and the pytest plugin offer, in declaration order
    (the SSH settings are declared in nodes/remotes.py's SshOptions)."""
    return [f for f in dataclasses.fields(TestOptions) if f.metadata.get("cli", True)]
