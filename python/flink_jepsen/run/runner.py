"""Runs one test through its phases (nodes, setup, workload, recovery, teardown, analysis) and
leaves the evidence in the store. A failure before analysis makes the verdict unknown; logs and
history are collected whatever happened, and nothing the run started is left behind."""

from __future__ import annotations

import json
import logging
import platform
import random
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flink_jepsen import __version__, _core, paths, versions
from flink_jepsen.checks import verdict
from flink_jepsen.errors import FlinkJepsenError, SetupError, UsageError
from flink_jepsen.faults.nemesis import Nemesis, Schedule, Targets
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.local import LocalNodes
from flink_jepsen.nodes.node import Node
from flink_jepsen.nodes.remotes import ssh_remote
from flink_jepsen.run import spec as testspec
from flink_jepsen.run.options import CANCEL_AFTER, CANCEL_RETRY_DELAY, CANCEL_TRIES, TestOptions
from flink_jepsen.run.progress import Progress
from flink_jepsen.store import Run, collect_node_logs
from flink_jepsen.systems import dist
from flink_jepsen.systems.base import Service
from flink_jepsen.systems.flink_standalone import FlinkStandalone
from flink_jepsen.systems.flink_yarn import FlinkYarn
from flink_jepsen.systems.hadoop import Hadoop
from flink_jepsen.systems.kafka import Kafka
from flink_jepsen.systems.zookeeper import ZooKeeper
from flink_jepsen.workloads.flink_client import FlinkClient
from flink_jepsen.workloads.jobs import builtin_jar

log = logging.getLogger("flink_jepsen.run.runner")


@dataclass
class Result:
    valid: bool | str
    results: dict
    store: Path
    error: str | None = None
    anomalies: list = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return verdict.exit_status(self.valid)

    @property
    def verdict_line(self) -> str:
        return verdict.line(self.valid)


INPUT_TOPIC, OUTPUT_TOPIC, EVENTS_TOPIC = "fj-input", "fj-output", "fj-events"
TOPIC_PARTITIONS = 4
KAFKA_PLACEHOLDER = "${KAFKA_BOOTSTRAP}"  # in :job-args, the brokers' host:port list
EXACTLY_ONCE_ANOMALIES = ("lost", "duplicated", "unexpected", "order", "state")


def analyze(history_path: Path, options: TestOptions, jobs: list[str] | None = None) -> dict:
    """Phase 6, also for `flink-jepsen analyze`: the checkers over a stored history (jobs: the
    ids of the jobs that were submitted). The exactly-once workload adds its checker; the
    verdict is the worst of the two."""
    results = _core.check_availability(str(history_path), **options.checker_parameters(jobs))
    if options.workload == "exactly-once":
        eo = _core.check_exactly_once(str(history_path), 5)
        results["exactly-once"] = eo
        results["availability-valid?"] = results.get("valid?")
        results["valid?"] = verdict.merge(results.get("valid?", "unknown"), eo["valid"])
        anomalies = results.setdefault("anomalies", [])
        for kind in EXACTLY_ONCE_ANOMALIES:
            found = eo.get(kind) or {}
            if found.get("count"):
                anomalies.append({"type": kind, "count": found["count"],
                                  "examples": found.get("examples", [])})
    return results


def environment_versions(d: dist.Distribution | None) -> dict:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return {"flink-jepsen": __version__, "flink": d.describe() if d else None,
            "zookeeper": versions.ZOOKEEPER, "kafka": versions.KAFKA, "kernel": platform.release(),
            "java": (java.stderr or "").splitlines()[0] if java.returncode == 0 else None,
            "python": platform.python_version()}


FLINK_DBS = {"flink-standalone-session": "standalone-session",
             "flink-yarn-session": "yarn-session", "flink-yarn-job": "yarn-job",
             "flink-yarn-application": "yarn-application"}


def deployment_mode(spec: testspec.TestSpec, option: str, spec_given: bool) -> str:
    """The deployment mode, from the spec's Flink db (as the original chose it) and
    --deployment-mode, which must agree with it when both are given."""
    named = [FLINK_DBS[d] for d in spec.dbs if d in FLINK_DBS]
    if len(named) != 1:
        raise UsageError(f"test spec {spec.source}: needs exactly one Flink db "
                         f"({', '.join(FLINK_DBS)})")
    mode = named[0]
    if option != "standalone-session":
        if spec_given and option != mode:
            raise UsageError(f"--deployment-mode {option} contradicts the test spec, which "
                             f"deploys {mode}")
        mode = option
    if mode != "standalone-session" and "hadoop" not in spec.dbs:
        raise UsageError(f"test spec {spec.source}: {mode} needs :hadoop in :dbs")
    if "zookeeper" not in spec.dbs:
        raise UsageError(f"test spec {spec.source}: Flink HA needs :zookeeper in :dbs")
    return mode


class TestRun:
    """One execution of a test; `run()` returns its Result."""
    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, options: TestOptions,
                 after_heal: Callable[[TestRun], None] | None = None) -> None:
        """after_heal: called once everything is healed, before the stop rule observes (a
        planted failure that begins only after the heal, in the negative controls)."""
        self.options = options
        self.after_heal = after_heal
        self.spec: testspec.TestSpec | None = None
        self.mode = options.deployment_mode  # until validate() reads the spec
        self.seed = (options.seed if options.seed is not None
                     else random.SystemRandom().getrandbits(31))
        self.run_id = uuid.uuid4().hex[:12]
        self.services: list[Service] = []
        self.cluster: Cluster | None = None
        self.local: LocalNodes | None = None
        self.made_nodes = False
        self.poller = None
        self.schedule: Schedule | None = None
        self.nemesis: Nemesis | None = None
        self.client: FlinkClient | None = None
        self.jobs: list[str] = []
        self.monitor = None  # the availability checker, stepped live (the stop rule)
        self.app_id: str | None = None  # the YARN application of a YARN deployment
        self.phase = "start"
        self._stop_discovery = threading.Event()
        self.shared_dir: Path | None = None
        self.progress = Progress(self.status)
        self.kafka: Kafka | None = None
        self.producer = None

    # ---- the phases -------------------------------------------------------------------------
    def validate(self) -> None:
        """Bad input is refused before anything starts (the run is recorded as unknown)."""
        self.options.validate()
        o = self.options
        if o.test_spec:
            self.spec = testspec.load(o.test_spec)
        elif o.workload == "exactly-once":
            if o.deployment_mode != "standalone-session":
                raise UsageError(f"--workload exactly-once with --deployment-mode "
                                 f"{o.deployment_mode}: give a --test-spec with :kafka (e.g. "
                                 "test-specs/yarn-session-exactly-once.edn)")
            self.spec = testspec.default("exactly-once")
        else:
            self.spec = testspec.default("standalone-session" if o.deployment_mode ==
                                         "standalone-session" else "yarn-session")
        self.mode = deployment_mode(self.spec, o.deployment_mode, bool(o.test_spec))
        if self.mode == "standalone-session" and o.nemesis_gen == "fail-name-node-during-recovery":
            raise UsageError("--nemesis-gen fail-name-node-during-recovery needs HDFS: use a YARN "
                             "deployment mode (a spec with :hadoop)")
        if o.workload == "exactly-once" and "kafka" not in self.spec.dbs:
            raise UsageError(f"--workload exactly-once needs :kafka in the test spec's :dbs "
                             f"({self.spec.source} has {', '.join(self.spec.dbs)})")
        needs_kafka = [j.jar for j in self.spec.jobs if any(KAFKA_PLACEHOLDER in a
                                                             for a in j.args)]
        if needs_kafka and "kafka" not in self.spec.dbs:
            raise UsageError(f"test spec {self.spec.source}: job {needs_kafka[0]} names "
                             f"{KAFKA_PLACEHOLDER} but :dbs has no :kafka")
        if "kafka" in o.nemesis_gen and "kafka" not in self.spec.dbs:
            raise UsageError(f"--nemesis-gen {o.nemesis_gen} needs Kafka: a spec with :kafka "
                             "in :dbs")
        if self.mode in ("yarn-application", "yarn-job") and len(self.spec.jobs) != 1:
            raise UsageError(f"--deployment-mode {self.mode} runs exactly one job per cluster; "
                             f"the spec has {len(self.spec.jobs)}")

    def write_test_json(self, d: dist.Distribution | None) -> None:
        self.store.write_json("test.json", {
            "options": self.options.to_json(), "seed": self.seed, "run_id": self.run_id,
            "spec": self.spec.to_json() if self.spec else None,
            "jobs": list(self.jobs), "versions": environment_versions(d)})

    def run(self) -> Result:
        o = self.options
        self.test_name = o.test_name_for(self._mode_for_name())
        self.store = Run(Path(o.store), self.test_name)
        self.history = _core.HistoryRecorder(str(self.store.path("history.jsonl")), True)
        self.write_test_json(None)
        log.info("test %s (seed %d), store %s", self.test_name, self.seed, self.store.dir)
        error: str | None = None
        interrupted: BaseException | None = None
        self.progress.start()
        try:
            self._phase("validate")
            self.validate()
            self.write_test_json(None)
            self._phase("nodes")
            self.setup_nodes()
            self._phase("setup")
            self.setup_systems()
            self._phase("workload")
            self.workload()
            self._phase("recovery")
            self.recover()
        except FlinkJepsenError as e:
            error = str(e)
            log.error("run failed in phase %s: %s", self.phase, e)
        except (_core.RemoteError, _core.RemoteConnectionError) as e:
            error = f"{type(e).__name__}: {e}"
            log.error("run failed in phase %s: %s", self.phase, e)
        except KeyboardInterrupt as e:
            error = "interrupted"
            interrupted = e
            log.warning("interrupted in phase %s; tearing down", self.phase)
        except Exception as e:
            error = f"harness error: {type(e).__name__}: {e}"
            log.exception("run crashed in phase %s", self.phase)
        finally:
            self._phase("teardown")
            self.teardown()
            self.progress.stop()
        self._phase("analysis")
        if error is None:
            results = analyze(self.store.path("history.jsonl"), o, self.jobs)
        else:
            results = {"valid?": "unknown", "error": error, "phase": self.failed_phase}
        results["test"] = self.test_name
        results["nemesis-gen"] = o.nemesis_gen
        results["deployment-mode"] = self.mode
        results.setdefault("jobs", {})
        self.store.write_json("results.json", results)
        self._write_report()
        valid = results.get("valid?", "unknown")
        if valid not in (True, False):
            valid = "unknown"
        self._log_summary(results)
        self.store.close()
        if interrupted is not None:
            raise interrupted
        return Result(valid, results, self.store.dir, error, results.get("anomalies", []))

    failed_phase = "start"

    def _write_report(self) -> None:
        """report.html (and its plots) beside results.json; a report that cannot be drawn is
        logged, never the end of the run."""
        try:
            from flink_jepsen.analysis import write_report

            path = write_report(self.store.dir)
            log.info("report: %s", path)
        except Exception as e:  # noqa: BLE001 - the evidence is in the store either way
            log.warning("could not write report.html: %s", e)

    def _mode_for_name(self) -> str:
        """The deployment mode a valid spec names, for the store's directory name; bad input is
        reported later, by validate(), into that directory."""
        o = self.options
        try:
            spec = testspec.load(o.test_spec, check_jars=False) if o.test_spec else None
            return deployment_mode(spec, o.deployment_mode, True) if spec else o.deployment_mode
        except FlinkJepsenError:
            return o.deployment_mode

    def _phase(self, name: str) -> None:
        if name not in ("teardown", "analysis"):
            self.failed_phase = name
        self.phase = name
        self.progress.set_phase(name)
        log.info("phase %s", name)

    def status(self) -> str:
        faults = self.nemesis.faults if self.nemesis else 0
        jobs = ""
        if self.poller is not None:
            state = self.poller.last_state()
            jobs = " ".join(
                f"{j[:8]}:{'unreachable' if s.get('last_error') else s.get('state') or 'unknown'}"
                for j, s in state.items())
        return f"faults={faults} jobs=[{jobs}]"

    def setup_nodes(self) -> None:
        o = self.options
        if o.remote == "netns":
            self.local = LocalNodes()
            self.made_nodes = not self.local.is_up()
            nodes = self.local.up(o.node_count) if self.made_nodes else self.local.nodes()
            if len(nodes) < 3:
                raise UsageError(f"the local nodes that are up are {len(nodes)}; a test needs "
                                 "at least 3 (run `flink-jepsen nodes down` first)")
            remotes = self.local.remotes("netns")
            self.shared_dir = paths.home() / "shared" / self.local.prefix / self.run_id
            self.cluster = Cluster(nodes, remotes, True, self.shared_dir)
        else:
            nodes = [Node(h, h, f"{o.node_root}/{h}") for h in o.nodes]
            remotes = {n.name: ssh_remote(n, o.ssh) for n in nodes}
            self.cluster = Cluster(nodes, remotes, False, None)
            self.cluster.on(nodes, "true", timeout=60)  # reachable, authenticated
        self.cluster.on(self.cluster.nodes, "mkdir -p " + " ".join(
            n.path(d) for n in self.cluster.nodes for d in ("run", "log", "tmp", "data")))

    def setup_systems(self) -> None:
        o = self.options
        assert self.cluster is not None
        self.dist = dist.resolve(None if o.tarball else o.flink_version, o.tarball)
        log.info("Flink %s from %s (sha256 %s)", self.dist.version, self.dist.source,
                 self.dist.checksum[:16])
        self.write_test_json(self.dist)
        self.jars = [Path(builtin_jar(j.builtin, self.dist.version)) if j.builtin else Path(j.jar)
                     for j in self.spec.jobs]
        zk = ZooKeeper(self.cluster)
        self.zk = zk
        self.start_service(zk)
        if "kafka" in self.spec.dbs:
            self.kafka = Kafka(self.cluster)
            self.start_service(self.kafka)
            self.kafka.create_topics([INPUT_TOPIC, OUTPUT_TOPIC, EVENTS_TOPIC], TOPIC_PARTITIONS)
        overrides = dict(self.spec.flink_config)
        if self.mode == "standalone-session":
            ha = o.ha_storage_dir or f"file://{self.shared_dir}/ha"
            checkpoints = f"{ha.rstrip('/')}/../checkpoints" if o.ha_storage_dir else \
                f"file://{self.shared_dir}/checkpoints"
            self.flink = FlinkStandalone(self.cluster, self.dist, zk.quorum(), self.run_id, ha,
                                         checkpoints, overrides, supervise=o.supervision)
        else:
            self.hadoop = Hadoop(self.cluster)
            self.start_service(self.hadoop)
            ha = o.ha_storage_dir or "hdfs:///flink/ha"
            self.flink = FlinkYarn(self.cluster, self.dist, self.hadoop, zk.quorum(), self.mode,
                                   ha, "hdfs:///flink/checkpoints", overrides)
        self.start_service(self.flink)

    def job_args(self, job: testspec.JobSpec) -> list[str]:
        """The job's arguments with the Kafka brokers' addresses filled in."""
        if self.kafka is None:
            return list(job.args)
        return [a.replace(KAFKA_PLACEHOLDER, self.kafka.bootstrap_servers()) for a in job.args]

    def start_service(self, service: Service) -> None:
        self.services.append(service)
        service.install()
        service.start()
        service.wait_ready(self.options.ready_timeout)

    def workload(self) -> None:
        o = self.options
        assert self.cluster is not None
        names = {n.name: n.address for n in self.cluster.nodes}
        zk_hosts = ",".join(f"{n.address}:2181" for n in self.zk.nodes())
        if self.mode == "standalone-session":
            endpoints = self.flink.rest_addresses()
            self.client = FlinkClient(zk_hosts, self.run_id, endpoints, names)
            targets = Targets(self.flink.job_managers(), self.flink.task_managers(),
                              self.zk.nodes(), leader=self._leader_node,
                              extra={"task-managers": (self.flink.stop_task_managers,
                                                       self.flink.start_task_managers)})
        else:
            # On YARN the JobManagers and TaskManagers are containers on any worker; the HA
            # cluster id is the YARN application's id.
            workers = self.hadoop.workers()
            targets = Targets(workers, workers, self.zk.nodes(), leader=self._leader_node,
                              extra={"namenode": (self.hadoop.stop_namenode,
                                                  self.hadoop.start_namenode)})
            if self.mode == "yarn-session":
                app = self.flink.app_ids[0]
            else:
                job, jar = self.spec.jobs[0], self.jars[0]
                app = self.flink.submit_application(jar, job.main_class, self.job_args(job),
                                                    o.ready_timeout)
            self.app_id = app
            endpoints = [e for e in [self.flink.app_rest_endpoint(app)] if e]
            self.client = FlinkClient(zk_hosts, app, endpoints, names)
        if self.mode in ("standalone-session", "yarn-session"):
            for job, jar in zip(self.spec.jobs, self.jars):
                try:
                    submitted = self.client.submit(jar, job.main_class, self.job_args(job),
                                                   job.parallelism)
                except SetupError as e:
                    if self.app_id is None:
                        raise
                    logs = self.hadoop.workers()[0].path("log", "hadoop", "containers",
                                                         self.app_id)
                    raise SetupError(f"{e}; YARN application {self.app_id} is RUNNING but its "
                                     f"JobManager does not serve: see its container logs "
                                     f"({logs} and the same on the other workers)") from e
                self.jobs.append(submitted.job_id)
        else:
            self.jobs.extend(self._wait_for_jobs(o.ready_timeout))
        self.write_test_json(self.dist)  # with the submitted jobs, for `analyze`
        self.monitor = _core.AvailabilityMonitor(self.history, **o.checker_parameters(self.jobs))
        self.poller = _core.AvailabilityPoller(self.history, endpoints,
                                               interval=1.0 / o.poll_rate, timeout=2.0)
        for j in self.jobs:
            self.poller.add_job(j)
        leader = self.client.leader()
        if leader:
            self.poller.set_preferred(leader)
        self.poller.start()
        threading.Thread(target=self._discover_leader, name="leader-discovery",
                         daemon=True).start()
        if self.kafka is not None:
            targets.extra["kafka"] = (self.kafka.nodes(), self.kafka.kill_broker,
                                      self.kafka.start_broker)
        if o.workload == "exactly-once":
            from flink_jepsen.workloads.kafka_client import SequencedProducer

            self.producer = SequencedProducer(self.kafka.bootstrap_servers(), INPUT_TOPIC,
                                              self.history, keys=o.keys, rate=o.producer_rate)
            self.producer.start()
        self.nemesis = Nemesis(self.cluster, targets, self.history, self.seed)
        self.nemesis.setup()
        self.schedule = Schedule(o.nemesis_gen, self.nemesis, o.time_limit, o.nemesis_interval)
        self.schedule.start()
        started = time.monotonic()
        cancelled = False
        while not self.schedule.done():
            if o.client_gen == "cancel-jobs" and not cancelled and \
                    time.monotonic() - started >= CANCEL_AFTER:
                self._cancel_jobs()
                cancelled = True
            time.sleep(0.2)
        self._stop_producer()
        if self.schedule.error is not None:
            raise SetupError(f"the nemesis schedule failed: {self.schedule.error}")
        if o.client_gen == "cancel-jobs" and not cancelled:
            self._cancel_jobs()

    def _cancel_jobs(self) -> None:
        """cancel-jobs, as the original's client did it: each job's cancel is retried until it
        succeeds, up to CANCEL_TRIES times. Every attempt is an op in the history; a job whose
        cancel never succeeded is not excused from any check, and the checker says so."""
        for j in self.jobs:
            for attempt in range(1, CANCEL_TRIES + 1):
                done = self.poller.cancel_job(j)
                if done.get("type") == "ok":
                    log.info("cancelled job %s (attempt %d)", j, attempt)
                    break
                log.warning("cancel of job %s, attempt %d of %d: %s %s", j, attempt,
                            CANCEL_TRIES, done.get("type"), done.get("error", ""))
                if attempt < CANCEL_TRIES:
                    time.sleep(CANCEL_RETRY_DELAY)

    def _wait_for_jobs(self, timeout: float) -> list[str]:
        """An application cluster submits its job itself: find its id over REST."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ep = self.client.leader() if self.client else None
            if ep:
                try:
                    jobs = self.client.get(ep, "/jobs/overview", timeout=3).get("jobs", [])
                    if jobs:
                        return [j["jid"] for j in jobs]
                except (OSError, ValueError):
                    pass
            time.sleep(1)
        raise SetupError(f"the application cluster ran no job within {timeout:.0f} s")

    def _leader_node(self) -> str | None:
        if self.client is None:
            return None
        ep = self.client.leader_from_zookeeper()
        if not ep:
            return None
        address = ep.split(":")[0]
        return next((n.name for n in self.cluster.nodes if n.address == address), None)

    def _discover_leader(self) -> None:
        """The leader's REST address, once a second, from ZooKeeper; on YARN also from the
        ResourceManager (a new application attempt moves the JobManager to another node)."""
        while not self._stop_discovery.wait(1.0):
            try:
                ep = self.client.leader_from_zookeeper() if self.client else None
                if ep is None and self.app_id is not None:
                    ep = self.flink.app_rest_endpoint(self.app_id)
                    if ep and self.poller is not None:
                        self.poller.set_endpoints([ep])
                if ep and self.poller is not None:
                    self.poller.set_preferred(ep)
            except Exception as e:  # noqa: BLE001 - discovery is best effort
                log.debug("leader discovery: %s", e)

    def recover(self) -> None:
        """Heal everything, then observe until every job has been settled (running, or gone
        after its cancel) for the healthy duration, counted only from polls taken after the
        heal, or until 1.1 x the grace period has passed (the original's stop rule). The
        decision is the availability checker's own, stepped live on every poll."""
        o = self.options
        assert self.nemesis is not None and self.poller is not None and self.monitor is not None
        self.nemesis.heal_all()
        if self.after_heal is not None:
            self.after_heal(self)
        self.monitor.observe_from(self.history.now_ns())
        deadline = time.monotonic() + 1.1 * o.job_recovery_grace_period
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("jobs not settled for %.0f s within 1.1 x the grace period (%.0f s)",
                            o.healthy_duration, 1.1 * o.job_recovery_grace_period)
                break
            # Short waits keep Ctrl-C responsive; the wait itself wakes on the deciding poll.
            if self.monitor.wait_settled(o.healthy_duration, min(left, 0.5)):
                log.info("every job settled for %.0f s after the heal: stopping",
                         o.healthy_duration)
                break
        if self.producer is not None:
            self._drain()

    def _drain(self) -> None:
        """exactly-once: everything the job committed, read back with read_committed."""
        from flink_jepsen.workloads.kafka_client import drain

        assert self.kafka is not None and self.producer is not None
        self._phase("drain")
        drain(self.kafka.bootstrap_servers(), OUTPUT_TOPIC, self.history,
              expect=self.producer.acked)

    def _stop_producer(self) -> None:
        if self.producer is not None and not self.producer.stop_event.is_set():
            self.producer.stop()
            if self.producer.error is not None:
                raise SetupError(f"the Kafka producer failed: {self.producer.error}")

    def teardown(self) -> None:
        self._stop_discovery.set()
        steps = [
            ("stop the nemesis", self._stop_nemesis),
            ("stop the producer", self._stop_producer),
            ("stop the poller", self._stop_poller),
            ("close the client", lambda: self.client and self.client.close()),
            ("close the history", self.history.close),
            ("collect logs", self._collect_logs),
            ("stop services", self._stop_services),
            ("remove nodes", self._remove_nodes),
            ("remove staging archives", lambda: self.cluster and self.cluster.close()),
        ]
        for what, step in steps:
            try:
                step()
            except Exception as e:  # noqa: BLE001 - teardown goes on whatever fails
                log.warning("teardown: could not %s: %s", what, e)

    def _stop_nemesis(self) -> None:
        if self.schedule is not None:
            self.schedule.stop()
        if self.nemesis is not None:
            self.nemesis.heal_all()
            self.nemesis.teardown()

    def _stop_poller(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        if self.monitor is not None:
            self.monitor.detach(self.history)

    def _collect_logs(self) -> None:
        if self.cluster is None:
            return
        collect_node_logs(self.store, self.cluster.remotes, self.cluster.nodes, ("log",))

    def _stop_services(self) -> None:
        if self.options.leave_running:
            log.info("--leave-running: the cluster stays up")
            return
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception as e:  # noqa: BLE001
                log.warning("could not stop %s: %s", service.name, e)
        if self.shared_dir is not None:
            shutil.rmtree(self.shared_dir, ignore_errors=True)

    def _remove_nodes(self) -> None:
        if self.local is not None and self.made_nodes and not self.options.leave_running:
            self.local.down()

    def _log_summary(self, results: dict) -> None:
        for a in results.get("anomalies", [])[:20]:
            log.info("anomaly: %s", json.dumps(a))
        for kind, r in (results.get("recovery") or {}).items():
            log.info("recovery after %s: %s", kind, json.dumps(r))
        log.info("results in %s", self.store.dir)


def run_test(options: TestOptions) -> Result:
    return TestRun(options).run()


def run_tests(options: TestOptions) -> list[Result]:
    """--test-count N: N runs one after another, each its own store directory."""
    return [run_test(options) for _ in range(options.test_count)]


