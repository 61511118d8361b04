"""A standalone application cluster on real local nodes, and the finished-once checker flagging
a real anomaly: on 1.14.6 (no job result store) the standby JobManager runs the finished
application again when the leader's cluster shuts down (FLINK-11813), which the JobManagers' logs
show as two ends of one job. The first fixed release (1.15.0) runs it once: the control, by hand
(FJ_LONG=1), as the other controls."""

from __future__ import annotations

from pathlib import Path

import pytest

from flink_jepsen.checks import section
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun

pytestmark = pytest.mark.integration


def spec(tmp_path: Path) -> str:
    # 2000 records at 200 a second: each run of the job takes about 10 s.
    path = tmp_path / "app.edn"
    path.write_text(
        '{:dbs [:zookeeper :flink-standalone-application]\n'
        ' :jobs [{:job-jar "builtin:allround" :main-class "org.flinkjepsen.jobs.AllroundJob"\n'
        '         :job-args "--parallelism 2 --keys 16 --rate 200 --max-records 2000"}]\n'
        ' :flink-config {"job-result-store.delete-on-commit" false}}\n')
    return str(path)


def run(tmp_path: Path, version: str):
    return TestRun(TestOptions(
        store=str(tmp_path / "store"), flink_version=version, test_spec=spec(tmp_path),
        deployment_mode="standalone-application", workload="bounded", nemesis_gen="utopia",
        time_limit=10, job_recovery_grace_period=150, seed=3)).run()


def test_the_standby_runs_a_finished_application_again_on_1_14(local_nodes, tmp_path) -> None:
    """The standby JobManager runs the finished application again. Whether that second run
    finishes too is Flink's race: it needs TaskManagers, which the first end shuts down. So the
    checker flags one of two anomalies: the job finished twice (both ends in the JobManagers'
    logs), or, when the second run never gets its slots, it ran again after it had finished."""
    result = run(tmp_path, "1.14.6")
    fo = section(result.results, "finished-once")
    assert result.valid is False, result.results
    found = set(fo["anomaly_types"]) & {"finished-more-than-once", "ran-after-finished"}
    assert found, fo
    if "finished-more-than-once" in found:
        ends = next(a for a in result.anomalies if a["type"] == "finished-more-than-once")["ops"]
        # Two ends of the one job, logged by the two JobManagers (the leader, then the standby).
        assert len(ends) == 2 and {e["where"].split("/")[0] for e in ends} == {"n1", "n2"}, ends
        assert all("switched from state RUNNING to FINISHED" in e["line"] for e in ends)
    else:
        again = next(a for a in result.anomalies if a["type"] == "ran-after-finished")["ops"]
        # The poll that saw the end, then later polls that saw the job scheduled or running.
        assert len(again) >= 2 and all(o["f"] == "job-running?" for o in again), again
        assert all(o["index"] > again[0]["index"] for o in again[1:]), again
    page = (result.store / "report.html").read_text()
    assert "Job lifecycle in the JobManager logs" in page
    assert any(t in page for t in found)


@pytest.mark.long  # the control, by hand (CI's time): FJ_LONG=1
def test_the_first_fixed_release_runs_it_once(local_nodes, tmp_path) -> None:
    result = run(tmp_path, "1.15.0")
    fo = section(result.results, "finished-once")
    assert result.valid is True, result.results
    assert [j["ends_logged"] for j in fo["jobs"].values()] == [1]
