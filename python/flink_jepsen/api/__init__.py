"""The scripting API: build a test from a template, run it, read its result. The command line,
the sweeps and the pytest plugin are thin layers over this module.

    from flink_jepsen import api
    result = api.standalone_session(nemesis_gen="kill-job-managers", time_limit=60).run()
    print(result.verdict, result.anomalies, result.recovery, result.store)

Parameters are the command line's options with underscores (`--nemesis-gen` is `nemesis_gen`);
an unknown parameter or a bad value is refused with the parameter's name before anything
starts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen.checks import section
from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.remotes import SshOptions
from flink_jepsen.run.options import TestOptions

PARAMETERS = tuple(f.name for f in dataclasses.fields(TestOptions))
SSH_PARAMETERS = tuple(f.name for f in dataclasses.fields(SshOptions))


def options(**params) -> TestOptions:
    """TestOptions from keyword parameters; `ssh` may be a dict or SshOptions."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise UsageError(f"unknown test parameter(s) {', '.join(unknown)}; known: "
                         f"{', '.join(PARAMETERS)}")
    ssh = params.pop("ssh", None)
    if isinstance(ssh, dict):
        bad = sorted(set(ssh) - set(SSH_PARAMETERS))
        if bad:
            raise UsageError(f"unknown ssh parameter(s) {', '.join(bad)}; known: "
                             f"{', '.join(SSH_PARAMETERS)}")
        ssh = SshOptions(**ssh)
    if "nodes" in params and isinstance(params["nodes"], str):
        params["nodes"] = [h for h in params["nodes"].split(",") if h]
    return TestOptions(**params) if ssh is None else TestOptions(ssh=ssh, **params)


@dataclass(frozen=True)
class RunResult:
    """What a run found: the verdict, the anomalies, recovery times and where the evidence is."""
    valid: bool | str          # True, False or "unknown" (Jepsen's three outcomes)
    results: dict              # results.json
    store: Path                # the run's directory in the store
    error: str | None = None   # why the run could not be checked (unknown verdicts)

    @property
    def verdict(self) -> str:
        return {True: "valid", False: "invalid"}.get(self.valid, "unknown")  # type: ignore[arg-type]

    @property
    def anomalies(self) -> list[dict]:
        return list(self.results.get("anomalies") or [])

    @property
    def recovery(self) -> dict:
        """Per fault kind: count, recovered, min_s, median_s, max_s."""
        return dict(section(self.results, "availability").get("recovery") or {})

    @property
    def outages(self) -> list[dict]:
        """Each stretch in which a job was unavailable: job, start_s, end_s, length_s, the
        faults inside it and the last fault before it."""
        return list(section(self.results, "availability").get("outages") or [])

    @property
    def exactly_once(self) -> dict | None:
        return section(self.results, "exactly-once") or None

    @property
    def exit_status(self) -> int:
        from flink_jepsen.checks import verdict

        return verdict.exit_status(self.valid if self.valid in (True, False) else "unknown")

    def describe(self) -> str:
        """One paragraph for a failure message: verdict, error, the first anomalies, store."""
        import json

        lines = [f"verdict {self.verdict}" + (f": {self.error}" if self.error else "")]
        lines += [f"  anomaly {json.dumps(a)[:400]}" for a in self.anomalies[:10]]
        if len(self.anomalies) > 10:
            lines.append(f"  ... and {len(self.anomalies) - 10} more")
        lines.append(f"  evidence: {self.store}")
        return "\n".join(lines)


class Test:
    """A test ready to run: its options, validated; run() may be called more than once (each
    call is its own run in the store)."""
    __test__ = False  # not a pytest test class

    def __init__(self, opts: TestOptions, validate: bool = True) -> None:
        """validate=False leaves bad parameters to the run, which records them in the store as
        a run with verdict unknown (what the command line does)."""
        self.options = opts
        if validate:
            self.validate()

    def validate(self) -> None:
        """Checks the parameters and the spec without starting anything."""
        from flink_jepsen.run.runner import TestRun

        TestRun(self.options).validate()

    def replace(self, **params) -> Test:
        """The same test with some parameters changed."""
        current = {f.name: getattr(self.options, f.name) for f in dataclasses.fields(TestOptions)}
        return Test(options(**{**current, **params}))  # options() names unknown parameters

    def run(self, schedule=None, checkers=()) -> RunResult:
        """One run. schedule: a generator of fault ops written in Python (faults/ops.py), run
        instead of --nemesis-gen; checkers: your own (`name`, `check(history_path) -> dict`
        with valid?, anomalies), composed with the workload's into the verdict."""
        from flink_jepsen.run.runner import TestRun

        r = TestRun(self.options, schedule=schedule, checkers=checkers).run()
        return RunResult(r.valid, r.results, r.store, r.error)

    def runs(self) -> Iterator[RunResult]:
        """test_count runs, one after another."""
        for _ in range(self.options.test_count):
            yield self.run()


# templates: the deployments this project knows, with the CLI's parameters --------------------
def test(**params) -> Test:
    """Any test, from the command line's parameters."""
    return Test(options(**params))


def standalone_session(**params) -> Test:
    """ZooKeeper and a standalone Flink session cluster with ZooKeeper HA (the default)."""
    return test(deployment_mode="standalone-session", **params)


def yarn_session(**params) -> Test:
    """HDFS, YARN and ZooKeeper, a Flink session cluster on YARN."""
    return test(deployment_mode="yarn-session", **params)


def yarn_application(**params) -> Test:
    """A Flink application cluster on YARN (the job's own cluster)."""
    params.setdefault("test_spec", _spec_file("yarn-application"))
    return test(deployment_mode="yarn-application", **params)


def yarn_job(**params) -> Test:
    """Flink 1.x's per-job mode on YARN."""
    params.setdefault("test_spec", _spec_file("yarn-job"))
    params.setdefault("flink_version", "1.20.5")
    return test(deployment_mode="yarn-job", **params)


def standalone_application(**params) -> Test:
    """A standalone application cluster (JobManagers started with the job) running a bounded
    job: does it finish, and only once?"""
    params.setdefault("workload", "bounded")
    return test(deployment_mode="standalone-application", **params)


def exactly_once(**params) -> Test:
    """Kafka in and out of a standalone cluster: did every record arrive exactly once?"""
    return test(workload="exactly-once", **params)


def kafka_two_jobs(**params) -> Test:
    """The original's Kafka scenario: two jobs sharing a topic, TaskManagers killed in bursts."""
    params.setdefault("test_spec", _spec_file("kafka-two-jobs"))
    params.setdefault("nemesis_gen", "kill-task-managers-bursts")
    params.setdefault("job_running_healthy_threshold", 15)
    return test(**params)


TEMPLATES = {"standalone-session": standalone_session,
             "standalone-application": standalone_application, "yarn-session": yarn_session,
             "yarn-application": yarn_application, "yarn-job": yarn_job,
             "exactly-once": exactly_once, "kafka-two-jobs": kafka_two_jobs}


def _spec_file(name: str) -> str:
    """A spec of test-specs/ (the source tree's), or the package's copy."""
    from importlib import resources

    here = Path(__file__).resolve().parents[3] / "test-specs" / f"{name}.edn"
    if here.is_file():
        return str(here)
    packaged = resources.files("flink_jepsen").joinpath(f"resources/specs/{name}.edn")
    if packaged.is_file():
        return str(packaged)
    raise UsageError(f"no test spec {name}.edn (neither test-specs/ nor the package has it)")
