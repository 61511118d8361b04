"""Application clusters and bounded jobs: a JobManager whose application ended cleanly is not
restarted (restarting it would run the job again by design), a restarted one that failed is;
the finished-once checker flags a job seen scheduled after it ended, and passes one that ended
once; the application mode's spec and workload fit together."""

from __future__ import annotations

import json
import subprocess
import time
from importlib import resources
from pathlib import Path

import pytest

from flink_jepsen.checks.finished_once import FinishedOnceChecker
from flink_jepsen.run import spec as testspec

SUPERVISE = str(resources.files("flink_jepsen").joinpath("resources/supervise.sh"))


def supervise(*args: str, seconds: float) -> tuple[int | None, str]:
    """Runs supervise.sh for at most `seconds`; (its exit status or None if still running, log)."""
    p = subprocess.Popen(["bash", SUPERVISE, *args], stdout=subprocess.PIPE, text=True,
                         start_new_session=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.1)
    rc = p.poll()
    if rc is None:
        p.terminate()
    out, _ = p.communicate(timeout=10)
    return rc, out


def test_on_failure_a_clean_exit_is_final_and_a_failure_is_restarted() -> None:
    rc, out = supervise("jm", "--on-failure", "--", "bash", "-c", "exit 0", seconds=5)
    assert rc == 0 and out.count("started pid") == 1 and "status 0; done" in out, out
    rc, out = supervise("jm", "--on-failure", "--", "bash", "-c", "exit 3", seconds=2.6)
    assert rc is None and out.count("started pid") >= 2 and "status 3; restarting" in out, out
    # Without the flag (session clusters, TaskManagers), even a clean exit is restarted.
    rc, out = supervise("tm", "--", "bash", "-c", "exit 0", seconds=2.6)
    assert rc is None and out.count("started pid") >= 2, out


def test_a_restart_waits_a_second_only_after_a_run_shorter_than_one() -> None:
    """runit's rule (runsv): a process that ran a second or more is started again at once; one
    that ended sooner waits a second, so a command that cannot start is no busy loop."""
    rc, out = supervise("tm", "--", "bash", "-c", "sleep 1.2", seconds=3.3)
    assert rc is None and "restarting in 1 s" not in out, out
    assert out.count("started pid") >= 3, out  # 0, 1.2, 2.4 s
    rc, out = supervise("tm", "--", "bash", "-c", "exit 1", seconds=2.5)
    assert rc is None and out.count("restarting in 1 s") >= 2, out
    assert out.count("started pid") <= 3, out


def write_history(path: Path, polls: list[tuple[str, bool]]) -> Path:
    lines = []
    for i, (state, running) in enumerate(polls):
        value = {"job": "j1", "running": running, "state": state}
        lines.append(json.dumps({"index": 2 * i, "time": i * 10**8, "process": 0,
                                 "type": "invoke", "f": "job-running?", "value": "j1"}))
        lines.append(json.dumps({"index": 2 * i + 1, "time": i * 10**8 + 1, "process": 0,
                                 "type": "ok", "f": "job-running?", "value": value}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_finished_job_seen_running_again_is_invalid_and_one_finish_is_valid(tmp_path) -> None:
    once = write_history(tmp_path / "once.jsonl", [("RUNNING", True), ("FINISHED", False),
                                                   ("FINISHED", False)])
    assert FinishedOnceChecker(["j1"]).check(once)["valid?"] is True
    twice = write_history(tmp_path / "twice.jsonl", [("RUNNING", True), ("FINISHED", False),
                                                     ("INITIALIZING", False),
                                                     ("RUNNING", True), ("FINISHED", False)])
    r = FinishedOnceChecker(["j1"]).check(twice)
    assert r["valid?"] is False and r["anomaly_types"] == ["ran-after-finished"]
    shown = r["anomalies"][0]["ops"]
    assert [o["value"]["state"] for o in shown] == ["FINISHED", "INITIALIZING", "RUNNING",
                                                    "FINISHED"][: len(shown)]
    never = write_history(tmp_path / "never.jsonl", [("RUNNING", True)] * 3)
    assert FinishedOnceChecker(["j1"]).check(never)["anomaly_types"] == ["never-finished"]


def test_the_application_spec_is_one_bounded_job_and_the_bounded_workload_exists() -> None:
    from flink_jepsen import workloads

    s = testspec.default(testspec.default_name("standalone-application", "bounded"))
    assert s.dbs == ("zookeeper", "flink-standalone-application") and len(s.jobs) == 1
    assert "--max-records" in s.jobs[0].args
    part = workloads.get("bounded").parts[0]
    assert part.name == "bounded"
    checkers = part(workloads.Context(None, None, None, ["j1"], {})).checkers()
    assert [c.name for c in checkers] == ["finished-once"] and checkers[0].jobs == ["j1"]


@pytest.mark.parametrize(("mode", "workload", "bounded"), [
    ("standalone-application", "availability", False),
    ("standalone-application", "bounded", True),
    ("standalone-session", "availability", False),
    ("standalone-session", "bounded", True),
    ("yarn-session", "bounded", False),  # no bounded spec of its own: the mode's
])
def test_the_default_spec_fits_the_workload(mode, workload, bounded) -> None:
    # Found by a hunt: an application cluster judged by the availability workload ran the
    # bounded spec, and the job's own end was a cluster down at the end.
    from flink_jepsen.run.options import TestOptions
    from flink_jepsen.run.runner import TestRun

    run = TestRun(TestOptions(deployment_mode=mode, workload=workload))
    run.validate()
    assert run.spec.dbs[-1].endswith(mode.split("-", 1)[1]) or mode.startswith("yarn")
    assert any("--max-records" in j.args for j in run.spec.jobs) is bounded


@pytest.mark.parametrize("jobs", [0, 2])
def test_an_application_cluster_refuses_other_than_one_job(jobs) -> None:
    from flink_jepsen.errors import UsageError
    from flink_jepsen.systems.flink_application import FlinkApplication

    app = FlinkApplication.__new__(FlinkApplication)
    with pytest.raises(UsageError, match=f"exactly one job per cluster; the spec has {jobs}"):
        app.submit([(None, Path("x.jar"), [])] * jobs, 1)


def test_two_logged_ends_of_one_job_are_flagged_though_the_polls_saw_one(tmp_path) -> None:
    from flink_jepsen.checks.finished_once import logged_ends

    history = write_history(tmp_path / "history.jsonl", [("RUNNING", True), ("RUNNING", True),
                                                         ("FINISHED", False)])
    logs = tmp_path / "nodes"
    (logs / "n2" / "log" / "flink").mkdir(parents=True)
    (logs / "n1" / "log" / "flink").mkdir(parents=True)
    end = "Job flink-jepsen-allround (j1) switched from state RUNNING to FINISHED."
    (logs / "n2" / "log" / "flink" / "flink--standalonejob-0-n2.log").write_text(
        "2026-12-02 01:31:24,615 INFO x - Job flink-jepsen-allround (j1) switched from state "
        "CREATED to RUNNING.\n"
        f"2026-12-02 01:31:57,242 INFO x - {end}\n")
    assert FinishedOnceChecker(["j1"]).check(history)["valid?"] is True   # one end: valid
    (logs / "n1" / "log" / "flink" / "flink--standalonejob-0-n1.log.1").write_text(
        "2026-12-02 01:33:14,732 INFO x - Source (1/1) switched from state RUNNING to "
        "FINISHED.\n"
        f"2026-12-02 01:33:14,733 INFO x - {end}\n")
    ends = logged_ends(tmp_path, ["j1"])["j1"]
    assert [e["where"] for e in ends] == ["n2/log/flink/flink--standalonejob-0-n2.log:2",
                                          "n1/log/flink/flink--standalonejob-0-n1.log.1:2"]
    r = FinishedOnceChecker(["j1"]).check(history)
    assert r["valid?"] is False and r["anomaly_types"] == ["finished-more-than-once"]
    assert r["anomalies"][0]["ops"] == ends and r["jobs"]["j1"]["ends_logged"] == 2
