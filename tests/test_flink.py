"""The main job for real: ZooKeeper and a Flink HA cluster on the local nodes, the allround job
submitted, faults injected, availability polled and checked. Each checker verdict here comes from
a real cluster, and the negative controls show the checker flags real anomalies."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import TEST_PREFIX, cli
from flink_jepsen.checks import section
from flink_jepsen.checks.verdict import INVALID, UNKNOWN, VALID
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun

pytestmark = pytest.mark.integration


def options(tmp_path: Path, **kw) -> TestOptions:
    base = dict(store=str(tmp_path / "store"), job_recovery_grace_period=60, seed=7,
                time_limit=30)
    base.update(kw)
    return TestOptions(**base)


def history(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def java_left_on_nodes(local_nodes) -> str:
    """Java processes on the test's own nodes (other namespaces on the machine are not ours)."""
    r = local_nodes.remotes("netns")["n1"].exec(
        f"for ns in $(ip netns list | awk '{{print $1}}' | grep '^{TEST_PREFIX}-'); do "
        "ip netns pids $ns; done | xargs -r ps -o pid=,args= -p | grep -E '[j]ava' || true",
        timeout=30)
    return r.out.strip()


@pytest.fixture(scope="module")
def utopia_run(local_nodes, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    store = tmp_path_factory.mktemp("utopia") / "store"
    r = cli("test", "--nemesis-gen", "utopia", "--job-recovery-grace-period", "60",
            "--store", str(store), "--seed", "3", timeout=900)
    return r, store / "latest"


def test_utopia_passes_through_the_cli(utopia_run, local_nodes) -> None:
    r, run_dir = utopia_run
    assert r.stdout.strip().splitlines()[-1] == VALID, r.stderr[-3000:]
    assert r.returncode == 0
    assert "[workload]" in r.stderr  # the progress line
    results = json.loads((run_dir / "results.json").read_text())
    assert results["valid?"] is True and results["anomalies"] == []
    assert java_left_on_nodes(local_nodes) == ""


def test_the_poller_polls_at_10_hz_and_records_every_answer(utopia_run) -> None:
    _, run_dir = utopia_run
    ops = history(run_dir)
    polls = [o for o in ops if o["f"] == "job-running?" and o["type"] != "invoke"]
    running = [o for o in polls if o["type"] == "ok" and o["value"]["running"]]
    span = (polls[-1]["time"] - polls[0]["time"]) / 1e9
    assert span > 50
    assert len(polls) / span >= 9.0, f"{len(polls)} polls in {span:.1f} s"
    assert len(running) > 0.9 * len(polls)
    assert [o["index"] for o in ops] == list(range(len(ops)))


def test_the_store_has_every_processs_logs(utopia_run) -> None:
    _, run_dir = utopia_run
    names = {p.name for p in (run_dir / "nodes").rglob("*") if p.is_file()}
    assert {"jobmanager.out", "taskmanager.out", "server.out"} <= names
    assert any(n.startswith("flink-") and n.endswith(".log") for n in names)
    test = json.loads((run_dir / "test.json").read_text())
    assert test["versions"]["flink"]["version"] == "2.3.0"
    assert (run_dir / "jepsen.log").stat().st_size > 0


def test_every_run_writes_its_report(utopia_run) -> None:
    _, run_dir = utopia_run
    report = (run_dir / "report.html").read_text()
    assert "valid" in report and "utopia" in report
    assert (run_dir / "timeline.png").stat().st_size > 1000
    # every node's log files are linked from the report, relative to the run
    some_log = next(p for p in (run_dir / "nodes").rglob("*.out"))
    assert str(some_log.relative_to(run_dir)) in report


def test_analyze_of_the_stored_history_gives_the_same_verdict(utopia_run) -> None:
    _, run_dir = utopia_run
    r = cli("analyze", str(run_dir))
    assert (r.returncode, r.stdout.strip().splitlines()[-1]) == (0, VALID)


def test_kill_task_managers_passes_on_a_healthy_flink(local_nodes, tmp_path) -> None:
    # The original's default grace period, as the healthy controls use it: an outage spanning
    # several kills may outlast 60 s after the last kill that hit (seen: 46 s).
    result = TestRun(options(tmp_path, nemesis_gen="kill-task-managers",
                             job_recovery_grace_period=180)).run()
    assert result.valid is True, result.results
    ops = history(result.store)
    kills = [o for o in ops if o["process"] == "nemesis" and o["type"] == "info"]
    assert len(kills) >= 3
    # A kill that counts hit a process; one that hit none is recorded as such (fail).
    assert all(any(pids for pids in o["value"]["killed"].values()) for o in kills)
    assert all(not any(o["value"]["killed"].values()) for o in ops
               if o["process"] == "nemesis" and o["type"] == "fail")
    rec = section(result.results, "availability")["recovery"]["kill-task-managers"]
    assert rec["count"] == len(kills) and rec["recovered"] >= 1
    assert 0 < rec["min_s"] <= rec["median_s"] <= rec["max_s"] < 60


def test_killing_task_managers_without_supervision_is_invalid(local_nodes, tmp_path,
                                                              pytester) -> None:
    # Through the pytest plugin, as a user's test matrix runs it: the negative control must
    # fail its test, with the anomalies and the run's directory in the failure message.
    pytester.makepyfile(test_unsupervised="""
        def test_tm_kills_without_supervision(flink_jepsen):
            flink_jepsen.run(nemesis_gen="kill-task-managers", supervision=False, seed=7,
                             job_recovery_grace_period=60)
    """)
    store = tmp_path / "store"
    outcome = pytester.runpytest("--fj-store", str(store),
                                 "--fj-time-limit", "10")
    outcome.assert_outcomes(failed=1)
    report = outcome.stdout.str()
    assert "flink-jepsen: verdict invalid" in report
    assert "job-not-running" in report and "not-healthy-at-end" in report
    runs = [p for p in store.glob("*/2*") if p.is_dir()]  # store/<test>/<time>
    assert len(runs) == 1 and str(runs[0]) in report
    results = json.loads((runs[0] / "results.json").read_text())
    assert results["valid?"] is False
    r = cli("analyze", str(runs[0]))
    assert (r.returncode, r.stdout.strip().splitlines()[-1]) == (1, INVALID)
    assert java_left_on_nodes(local_nodes) == ""


def test_a_job_cancelled_behind_the_clients_back_is_flagged(local_nodes, tmp_path) -> None:
    run = TestRun(options(tmp_path, nemesis_gen="utopia"))
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("result", run.run()))
    t.start()
    deadline = time.monotonic() + 300
    while not (run.jobs and run.parts) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.jobs, "the job was never submitted"
    time.sleep(5)
    run.flink.client.cancel(run.jobs[0])  # not through the poller: no cancel-job op recorded
    t.join(timeout=600)
    result = out["result"]
    assert result.valid is False
    anomaly = next(a for a in result.anomalies if a["type"] == "job-not-running")
    assert anomaly["job"] == run.jobs[0] and anomaly["first"].startswith("state CANCEL")


def test_cancel_jobs_client_is_valid_when_the_job_stops(local_nodes, tmp_path) -> None:
    result = TestRun(options(tmp_path, nemesis_gen="utopia", client_gen="cancel-jobs")).run()
    assert result.valid is True, result.results
    ops = history(result.store)
    assert any(o["f"] == "cancel-job" and o["type"] == "ok" for o in ops)
    jobs = section(result.results, "availability")["jobs"]
    job = jobs[next(iter(jobs))]
    assert job["cancelled"] is True and job["cancel_attempts"] >= 1


@pytest.mark.parametrize(("args", "needle"), [
    (["--nemesis-gen", "kill-everything"], "--nemesis-gen 'kill-everything' is unknown"),
    (["--client-gen", "poke"], "--client-gen 'poke' is unknown"),
    (["--job-recovery-grace-period", "30"], "at least 60 seconds"),
])
def test_bad_test_input_is_an_unknown_run_with_a_clear_error(local_nodes, tmp_path, args,
                                                            needle) -> None:
    r = cli("test", "--store", str(tmp_path / "store"), *args)
    assert r.returncode == 2
    assert r.stdout.strip().splitlines()[-1] == UNKNOWN
    results = json.loads((tmp_path / "store" / "latest" / "results.json").read_text())
    assert results["valid?"] == "unknown" and needle in results["error"]


def test_a_spec_naming_a_missing_jar_is_refused(local_nodes, tmp_path) -> None:
    spec = tmp_path / "spec.edn"
    spec.write_text('{:dbs [:zookeeper :flink-standalone-session] '
                    ':jobs [{:job-jar "/nonexistent/job.jar"}]}')
    r = cli("test", "--store", str(tmp_path / "store"), "--test-spec", str(spec))
    assert r.returncode == 2 and "/nonexistent/job.jar does not exist" in r.stderr


def test_a_corrupt_tarball_ends_unknown_and_leaves_nothing_running(local_nodes, tmp_path) -> None:
    bad = tmp_path / "flink-broken.tgz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 not gzip")
    r = cli("test", "--store", str(tmp_path / "store"), "--tarball", f"file://{bad}")
    assert r.returncode == 2
    assert "flink-broken.tgz is not a readable tar archive" in r.stderr
    assert java_left_on_nodes(local_nodes) == ""


def test_a_flink_that_never_becomes_ready_is_named_with_its_log(local_nodes, tmp_path) -> None:
    spec = tmp_path / "spec.edn"
    spec.write_text('{:dbs [:zookeeper :flink-standalone-session] '
                    ':jobs [{:job-jar "builtin:allround"}] '
                    ':flink-config {:taskmanager.memory.process.size "64m"}}')
    result = TestRun(options(tmp_path, test_spec=str(spec), ready_timeout=25)).run()
    assert result.valid == "unknown"
    assert "not ready after 25 s" in result.error and "jobmanager.out" in result.error
    assert list((result.store / "nodes").rglob("taskmanager.out")), "logs were not collected"
    assert java_left_on_nodes(local_nodes) == ""
