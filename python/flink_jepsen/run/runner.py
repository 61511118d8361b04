"""Runs one test through its phases (validate, nodes, setup, workload, recovery, teardown,
analysis) and leaves the evidence in the store. A failure before analysis makes the verdict
unknown; logs and history are collected whatever happened, and nothing the run started is left
behind.

The runner only drives phases: which systems run comes from the spec's :dbs (systems/), what
runs against them from --workload (workloads/), the faults from --nemesis-gen (faults/), the
verdict from the workload's checkers (checks/). It has no branch on any of them."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import platform
import random
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flink_jepsen import __version__, _core, paths, systems, versions, workloads
from flink_jepsen import log as fjlog
from flink_jepsen.checks import compose
from flink_jepsen.checks import verdict as verdicts
from flink_jepsen.errors import FlinkJepsenError, SetupError, UsageError
from flink_jepsen.faults.nemesis import Nemesis
from flink_jepsen.faults.schedules import NEEDS, Schedule, register_generator
from flink_jepsen.nodes import groups
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.nodes.provision import RunNodes, provision, run_started
from flink_jepsen.run import interrupts
from flink_jepsen.run import spec as testspec
from flink_jepsen.run.lock import RunLock, lock_path
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.progress import Progress
from flink_jepsen.store import Run, check_test_name, collect_node_logs
from flink_jepsen.systems import dist
from flink_jepsen.systems.base import Deployment, System
from flink_jepsen.systems.flink import Flink
from flink_jepsen.workloads import Context, Part
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
        return verdicts.exit_status(self.valid)

    @property
    def verdict_line(self) -> str:
        return verdicts.line(self.valid)


class _RunLogHandler(fjlog.CoreHandler):
    """Python's log lines into the core's logger (the console and the run's jepsen.log), for a
    run started where nobody installed the core's handler (the API, pytest). The package's
    logger is lowered to debug for the run (jepsen.log gets everything); a record reaches the
    caller's own handlers only at the level they would have seen it anyway."""

    def __init__(self, logger: logging.Logger, passthrough: int) -> None:
        super().__init__()
        self.logger = logger
        self.passthrough = passthrough

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        parent = self.logger.parent
        if record.levelno >= self.passthrough and parent is not None and self._heard(parent):
            parent.callHandlers(record)

    @staticmethod
    def _heard(logger: logging.Logger | None) -> bool:
        """Has the logger or an ancestor a handler (else logging's last resort would print
        what the core's console already showed)?"""
        while logger is not None:
            if logger.handlers:
                return True
            logger = logger.parent if logger.propagate else None
        return False


@contextlib.contextmanager
def python_log_lines() -> Iterator[None]:
    """The run owns its jepsen.log: whichever way it was started (the CLI, the API, pytest),
    Python's log lines reach the core's logger, which writes them into the run's jepsen.log
    beside the core's own, in one order. The CLI (log.setup) routes the root logger there
    already; otherwise a handler on the package's logger does it for the run's duration."""
    root = logging.getLogger()
    if any(isinstance(h, fjlog.CoreHandler) for h in root.handlers):
        yield
        return
    package = logging.getLogger("flink_jepsen")
    level, propagate = package.level, package.propagate
    handler = _RunLogHandler(package, package.getEffectiveLevel())
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    package.propagate = False  # the handler passes on what the caller would have seen
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(level)
        package.propagate = propagate


def checkers_for(options: TestOptions, jobs: list[str] | None) -> list:
    """The checkers of a test's workload (without running it: for `analyze`)."""
    ctx = Context(options, None, None, list(jobs or []), {})
    return [c for part in workloads.get(options.workload).parts for c in part(ctx).checkers()]


def analyze(history_path: Path, options: TestOptions, jobs: list[str] | None = None,
            extra: list | tuple = ()) -> dict:
    """Phase 6, also for `flink-jepsen analyze`: the workload's checkers (and a user's own,
    `extra`) over a stored history (jobs: the ids of the jobs that were submitted), composed
    into one result."""
    return compose([*checkers_for(options, jobs), *extra], history_path)


def environment_versions(d: dist.Distribution | None) -> dict:
    java = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return {"flink-jepsen": __version__, "flink": d.describe() if d else None,
            "zookeeper": versions.ZOOKEEPER, "kafka": versions.KAFKA, "kernel": platform.release(),
            "java": (java.stderr or "").splitlines()[0] if java.returncode == 0 else None,
            "python": platform.python_version()}


def deployment_mode(spec: testspec.TestSpec, option: str, spec_given: bool
                    ) -> tuple[str, tuple[str, ...]]:
    """The deployment mode and the dbs to deploy: the spec's Flink db names the mode (as the
    original chose it); --deployment-mode, when given, must agree with a given spec, and swaps
    the Flink db of a default one."""
    asked = None if option == TestOptions().deployment_mode else option
    if spec_given and asked is not None:
        named, _ = systems.deployment(spec.dbs, spec.source, None)
        if named != asked:
            raise UsageError(f"--deployment-mode {asked} contradicts the test spec, which "
                             f"deploys {named}")
    return systems.deployment(spec.dbs, spec.source, asked)


def _prewarm_analysis() -> None:
    """Loads the report's libraries (pandas, matplotlib: most of a second of the analysis
    phase) while teardown waits on the nodes; the analysis imports them again, at no cost, and
    meets any error itself."""
    with contextlib.suppress(Exception):
        import flink_jepsen.analysis.report  # noqa: F401


class TestRun:
    """One execution of a test; `run()` returns its Result."""
    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, options: TestOptions,
                 after_heal: Callable[[TestRun], None] | None = None,
                 schedule: Callable | None = None, checkers: list | tuple = ()) -> None:
        """after_heal: called once everything is healed, before the stop rule observes (a
        planted failure that begins only after the heal, in the negative controls);
        schedule: a generator of fault ops written in Python (faults/ops.py), run instead of
        --nemesis-gen under the name python-<function>; checkers: the user's own, composed with
        the workload's (each a `name` and a `check(history_path) -> result`)."""
        if schedule is not None:
            options = dataclasses.replace(options, nemesis=None,
                                          nemesis_gen=register_generator(schedule))
        self.options = options
        self.after_heal = after_heal
        self.extra_checkers = tuple(checkers)
        self.spec: testspec.TestSpec | None = None
        self.mode = options.deployment_mode  # until validate() reads the spec
        self.dbs: tuple[str, ...] = ()
        self.seed = (options.seed if options.seed is not None
                     else random.SystemRandom().getrandbits(31))
        self.run_id = uuid.uuid4().hex[:12]
        self.systems: list[System] = []
        self.deployment: Deployment | None = None
        self.flink: Flink | None = None
        self.cluster: Cluster | None = None
        self.lock: RunLock | None = None
        self.group: groups.GroupClaim | None = None
        self.nodes: RunNodes | None = None
        self.parts: list[Part] = []
        self.schedule: Schedule | None = None
        self.nemesis: Nemesis | None = None
        self.jobs: list[str] = []
        self.dist: dist.Distribution | None = None
        self.phase = "start"
        self.shared_dir: Path | None = None
        self.progress = Progress(self.status)

    # ---- the phases -------------------------------------------------------------------------
    def validate(self) -> None:
        """Bad input is refused before anything starts (the run is recorded as unknown)."""
        self.options.validate()
        o = self.options
        workload = workloads.get(o.workload)
        if o.test_spec:
            self.spec = testspec.load(o.test_spec)
        else:  # the workload's own spec, or the deployment mode's (resources/specs/)
            self.spec = testspec.default(workload.spec or testspec.default_name(
                o.deployment_mode, o.workload))
        self.mode, self.dbs = deployment_mode(self.spec, o.deployment_mode, bool(o.test_spec))
        systems.check(o, self.dbs)
        for db in workload.requires:
            if db not in self.dbs:
                raise UsageError(f"--workload {o.workload} needs :{db} in the test spec's :dbs "
                                 f"({self.spec.source} has {', '.join(self.dbs)})")
        for db in NEEDS.get(o.schedule, ()):
            if db not in self.dbs:
                raise UsageError(f"--nemesis-gen {o.schedule} needs :{db} in the test "
                                 f"spec's :dbs ({self.spec.source} has {', '.join(self.dbs)})")
        provided = {name for db in self.dbs for name in systems.REGISTRY[db].provides}
        for j in self.spec.jobs:
            for name in testspec.placeholders(j):
                if name not in provided:
                    raise UsageError(f"test spec {self.spec.source}: job {j.jar} names "
                                     f"${{{name}}}, which no db of the spec provides")

    def validate_and_resolve(self) -> None:
        """The validate phase: the options and spec, then the distribution, which is input too:
        one that is not Flink (or fails its checksum) is refused before any node starts."""
        self.validate()
        o = self.options
        self.dist = dist.resolve(None if o.tarball else o.flink_version, o.tarball,
                                 o.tarball_sha512)
        log.info("Flink %s from %s (sha256 %s)", self.dist.version, self.dist.source,
                 self.dist.checksum[:16])
        self.write_test_json()

    def write_test_json(self) -> None:
        self.store.write_json("test.json", {
            "options": self.options.to_json(), "seed": self.seed, "run_id": self.run_id,
            "spec": self.spec.to_json() if self.spec else None, "dbs": list(self.dbs),
            "jobs": list(self.jobs), "versions": environment_versions(self.dist)})

    def run(self) -> Result:
        with python_log_lines():
            return self._run()

    def _run(self) -> Result:
        o = self.options
        self.test_name = o.test_name_for(self._mode_for_name())
        try:
            check_test_name(self.test_name)
        except ValueError as e:
            raise UsageError(f"--name: {e}") from e
        self.store = Run(Path(o.store), self.test_name)
        self.history = _core.HistoryRecorder(str(self.store.path("history.jsonl")),
                                             False)  # on disk only: no ops kept in memory
        self.write_test_json()
        log.info("test %s (seed %d), store %s", self.test_name, self.seed, self.store.dir)
        self.progress.start()
        with interrupts.once() as later:
            error, interrupted = self._phases_and_teardown()
        if later and interrupted is None:
            error = error or "interrupted"
            interrupted = KeyboardInterrupt(f"signal {later[0]} while the run wound down")
        self._phase("analysis")
        if error is None and self.history_error is not None:
            error = f"the history cannot be written: {self.history_error}"
            log.error("%s", error)
        if error is None:
            results = analyze(self.store.path("history.jsonl"), o, self.jobs,
                              self.extra_checkers)
        else:
            results = {"valid?": "unknown", "error": error, "phase": self.failed_phase}
        results["test"] = self.test_name
        results["nemesis-gen"] = o.schedule
        if o.nemesis:
            results["nemesis"] = list(o.packages)
        results["deployment-mode"] = self.mode
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
            return deployment_mode(spec, o.deployment_mode, True)[0] if spec else \
                o.deployment_mode
        except FlinkJepsenError:
            return o.deployment_mode

    history_error: str | None = None

    def _phase(self, name: str) -> None:
        """Enters a phase with the history so far on disk (fsynced): a crash later loses none of
        it. A history that cannot be written ends the run as unknown with the reason."""
        if name not in ("teardown", "analysis"):
            self.failed_phase = name
        self.phase = name
        self.progress.set_phase(name)
        log.info("phase %s", name)
        if self.history_error is None and not self.history.closed:
            try:
                self.history.sync()
            except RuntimeError as e:
                self.history_error = str(e)
                if name not in ("teardown", "analysis"):
                    raise SetupError(f"the history cannot be written: {e}") from e

    def _close_history(self) -> None:
        try:
            self.history.close()
        except RuntimeError as e:
            self.history_error = self.history_error or str(e)
            raise

    def status(self) -> str:
        faults = self.nemesis.faults if self.nemesis else 0
        return " ".join([f"faults={faults}"] + [s for s in (p.status() for p in self.parts) if s])

    def setup_nodes(self) -> None:
        if self.options.node_groups:
            self._claim_group()
        o = self.options
        self.lock = RunLock(lock_path(paths.home(), o.remote, paths.prefix(), list(o.nodes)))
        self.lock.acquire({"run": str(self.store.dir), "test": self.test_name})
        self.nodes = provision(self.options, self.run_id)
        self.cluster = self.nodes.cluster
        self.cluster.faketime = self.options.clock_faults
        self.shared_dir = self.nodes.shared_dir

    def _claim_group(self) -> None:
        """A free group of the hosts file becomes this run's nodes until its teardown ends
        (test.json is written again with them; the log names the group)."""
        o = self.options
        home, prefix = paths.home(), paths.prefix()
        log.info("waiting up to %g s for a free node group among %s", o.group_wait,
                 ", ".join(o.node_groups))
        self.group = groups.claim(o.node_groups, home,
                                  lambda hosts: lock_path(home, "ssh", prefix, hosts),
                                  {"run": str(self.store.dir), "test": self.test_name},
                                  wait_s=o.group_wait)
        log.info("node group %s: %s", self.group.name, ", ".join(self.group.hosts))
        self.options = dataclasses.replace(o, nodes=list(self.group.hosts))
        self.write_test_json()

    def setup_systems(self) -> None:
        """Every system of the spec's :dbs, in dependency order: installed and started, each
        as soon as what it needs is ready (independent systems come up side by side), then
        every one ready."""
        o = self.options
        assert self.cluster is not None and self.spec is not None
        assert self.dist is not None
        self.deployment = Deployment(self.cluster, o, self.spec, self.run_id, self.shared_dir,
                                     self.dist)
        for left in systems.stop_leftover_supervisors(self.cluster):
            log.warning("stopped a supervisor an earlier run left: %s", left)
        ready: set[str] = set()

        def wait_ready(db: str) -> None:
            if db not in ready:
                self.deployment.systems[db].wait_ready(o.ready_timeout)
                ready.add(db)

        for system, needs in systems.compose(self.dbs, self.deployment):
            self.systems.append(system)  # stopped in teardown even if its start fails
            for db in needs:
                wait_ready(db)
            for left in systems.stop_leftovers(system):
                log.warning("stopped a process an earlier run left: %s", left)
            system.install()
            system.start()
        for db in self.deployment.systems:
            wait_ready(db)
        self.flink = next(s for s in self.systems if isinstance(s, Flink))

    def job_args(self, job: testspec.JobSpec) -> list[str]:
        """The job's arguments with ${NAME} filled in from what the systems provide."""
        values: dict[str, str] = {}
        for s in self.systems:
            values.update(s.provides())
        return [testspec.fill(a, values) for a in job.args]

    def workload(self) -> None:
        o = self.options
        assert self.cluster is not None and self.flink is not None and self.spec is not None
        jars = [Path(builtin_jar(j.builtin, self.dist.version)) if j.builtin else Path(j.jar)
                for j in self.spec.jobs]
        self.jobs.extend(self.flink.submit(
            [(j, jar, self.job_args(j)) for j, jar in zip(self.spec.jobs, jars)],
            o.ready_timeout))
        self.write_test_json()  # with the submitted jobs, for `analyze`
        ctx = Context(o, self.history, self.flink, self.jobs, dict(self.deployment.systems),
                      self._phase)
        for part in workloads.get(o.workload).parts:
            self.parts.append(part(ctx))
            self.parts[-1].start()
        self.nemesis = Nemesis(self.cluster, systems.processes(self.systems), self.history,
                               self.seed, leader=self._leader_node,
                               roles=systems.roles(self.systems))
        self.nemesis.setup()
        if o.faults_after_running:
            self._await_running(o.ready_timeout)
        self.schedule = Schedule(o.schedule, self.nemesis, o.time_limit, o.nemesis_interval,
                                 o.fault_duration, o.packages)
        self.schedule.job_states = self._job_states
        self.schedule.start()
        started = time.monotonic()
        while not self.schedule.done():
            for part in self.parts:
                part.tick(time.monotonic() - started)
            time.sleep(0.2)
        if self.schedule.error is not None:
            raise SetupError(f"the nemesis schedule failed: {self.schedule.error}")
        for part in self.parts:
            part.stop()

    def _job_states(self) -> dict[str, str | None]:
        """The jobs' states as the availability poller last saw them (REST when no poller)."""
        for part in self.parts:
            poller = getattr(part, "poller", None)
            if poller is not None:
                return {j: s.get("state") for j, s in poller.last_state().items()}
        client = self.flink.client if self.flink else None
        return {j: client.job_state(j) if client else None for j in self.jobs}

    def _await_running(self, timeout: float) -> None:
        """--faults-after-running: wait until every job's tasks run (the parts' clock starts
        with the schedule's); a job that never gets there is not an error here (the checkers
        judge it), only logged."""
        assert self.flink is not None and self.flink.client is not None
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if all(self.flink.client.tasks_running(j) for j in self.jobs):
                log.info("every job runs after %.1f s: faults start", time.monotonic() - started)
                return
            time.sleep(0.5)
        log.warning("jobs not all running after %.0f s: faults start anyway", timeout)

    def _phases_and_teardown(self) -> tuple[str | None, BaseException | None]:
        """Phases 1-5: the first interrupt ends the phases and starts the teardown, which
        nothing interrupts (interrupts.once and interrupts.held)."""
        error: str | None = None
        interrupted: BaseException | None = None
        try:
            for name, phase in (("validate", self.validate_and_resolve),
                                ("nodes", self.setup_nodes),
                                ("setup", self.setup_systems), ("workload", self.workload),
                                ("recovery", self.recover)):
                self._phase(name)
                phase()
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
            threading.Thread(target=_prewarm_analysis, name="fj-prewarm-analysis",
                             daemon=True).start()
            with interrupts.held() as signals:
                self.teardown()
            self.progress.stop()
            if signals and interrupted is None:
                error = error or "interrupted"
                interrupted = KeyboardInterrupt(f"signal {signals[0]} during teardown")
        return error, interrupted

    def _leader_node(self) -> str | None:
        ep = self.flink.leader() if self.flink else None
        if not ep or self.cluster is None:
            return None
        address = ep.split(":")[0]
        return next((n.name for n in self.cluster.nodes if n.address == address), None)

    def recover(self) -> None:
        """Heal everything, then let every workload part settle (the availability part applies
        the original's stop rule) within 1.1 x the grace period, then finish them."""
        o = self.options
        assert self.nemesis is not None
        self.nemesis.heal_all()
        if self.after_heal is not None:
            self.after_heal(self)
        deadline = time.monotonic() + 1.1 * o.job_recovery_grace_period
        for part in self.parts:
            part.settle(deadline)
        for part in self.parts:
            part.finish()

    def teardown(self) -> None:
        steps = [
            ("stop the nemesis", self._stop_nemesis),
            *[(f"close the {p.name} workload", p.close) for p in reversed(self.parts)],
            ("close the Flink client", lambda: self.flink and self.flink.close()),
            ("close the history", self._close_history),
            ("collect logs", self._collect_logs),
            ("stop systems", self._stop_systems),
            ("remove nodes", self._remove_nodes),
            ("remove staging archives", lambda: self.cluster and self.cluster.close()),
            ("release the nodes", lambda: self.lock and self.lock.release()),
            ("release the node group", lambda: self.group and self.group.release()),
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

    def _collect_logs(self) -> None:
        if self.cluster is None:
            return
        collect_node_logs(self.store, self.cluster.remotes, self.cluster.nodes, ("log",),
                          since=run_started)

    def _stop_systems(self) -> None:
        if self.options.leave_running:
            log.info("--leave-running: the cluster stays up")
            return
        for system in reversed(self.systems):
            try:
                system.stop()
            except Exception as e:  # noqa: BLE001
                log.warning("could not stop %s: %s", system.name, e)
        if self.shared_dir is not None:
            shutil.rmtree(self.shared_dir, ignore_errors=True)

    def _remove_nodes(self) -> None:
        if self.nodes is not None and not self.options.leave_running:
            self.nodes.remove()

    def _log_summary(self, results: dict) -> None:
        from flink_jepsen.checks import section

        for a in results.get("anomalies", [])[:20]:
            log.info("anomaly: %s", json.dumps(a))
        for kind, r in (section(results, "availability").get("recovery") or {}).items():
            log.info("recovery after %s: %s", kind, json.dumps(r))
        log.info("results in %s", self.store.dir)


def run_test(options: TestOptions) -> Result:
    return TestRun(options).run()


def run_tests(options: TestOptions) -> list[Result]:
    """--test-count N: N runs one after another, each its own store directory."""
    return [run_test(options) for _ in range(options.test_count)]
