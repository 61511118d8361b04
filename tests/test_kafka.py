"""Kafka and the exactly-once workload, for real: three KRaft brokers from Maven Central's jars on
the local nodes, the project's exactly-once job on a standalone Flink cluster, TaskManagers
killed while the harness writes sequenced records, and the output drained with read_committed.
A healthy set-up passes; a broken job variant (an at-least-once sink that also drops one record)
is caught with duplicates and with that record lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flink_jepsen.checks import section
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun

pytestmark = pytest.mark.integration

DROPPED_ID = 150


def options(tmp_path: Path, **kw) -> TestOptions:
    # Faults once the job's tasks run (a slow deployment under load once took the only kill).
    # Kills ~12 s apart: the job recovers and processes records between them, so every kill
    # lands on a job with open transactions and state to restore.
    # The original's default grace period: a slow but correct recovery is not an anomaly.
    base = dict(store=str(tmp_path / "store"), job_recovery_grace_period=180, seed=11,
                time_limit=40, workload="exactly-once", producer_rate=200,
                nemesis_gen="kill-task-managers", nemesis_interval=12,
                faults_after_running=True)
    base.update(kw)
    return TestOptions(**base)


def spec(tmp_path: Path, extra_args: str) -> str:
    path = tmp_path / "eo.edn"
    path.write_text(
        '{:dbs [:zookeeper :kafka :flink-standalone-session]\n'
        ' :jobs [{:job-jar "builtin:exactly-once"\n'
        '         :job-args "--bootstrap-servers ${KAFKA_BOOTSTRAP} --parallelism 2 '
        f'{extra_args}"}}]}}\n')
    return str(path)


def ops(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def kills_of_a_running_job(history: list[dict]) -> int:
    """Kills whose last poll before them saw the job running (with open transactions)."""
    running, hits = False, 0
    for o in history:
        if o["f"] == "job-running?" and o["type"] == "ok":
            running = bool(o["value"].get("running"))
        elif o["process"] == "nemesis" and o["type"] == "invoke" and running:
            hits += 1
    return hits


def test_exactly_once_holds_while_task_managers_are_killed(local_nodes, tmp_path) -> None:
    result = TestRun(options(tmp_path)).run()
    eo = section(result.results, "exactly-once")
    assert result.valid is True, json.dumps(result.results)[:3000]
    assert eo["sent"]["ok"] > 1000 and eo["lost"]["count"] == 0
    assert eo["duplicated"]["count"] == 0 and eo["state"]["count"] == 0
    history = ops(result.store)
    kills = [o for o in history if o["process"] == "nemesis" and o["type"] == "info"]
    assert any(any(v) for o in kills for v in o["value"]["killed"].values())
    assert kills_of_a_running_job(history) >= 1, "no kill hit the job while it was running"
    names = {p.name for p in (result.store / "nodes").rglob("*") if p.is_file()}
    assert "broker.out" in names  # the brokers' logs are in the store


def test_at_least_once_sink_and_a_dropped_record_are_caught(local_nodes, tmp_path) -> None:
    # Every TaskManager kill replays the records since the last checkpoint, which an
    # at-least-once sink writes a second time when they had already gone out. That needs a kill
    # while the job runs and writes: with 40 s (two kills) a run once saw none, so 80 s.
    broken = spec(tmp_path, f"--sink-guarantee at-least-once --drop-id {DROPPED_ID} "
                            "--checkpoint-interval 3000")
    result = TestRun(options(tmp_path, test_spec=broken, time_limit=80)).run()
    eo = section(result.results, "exactly-once")
    assert result.valid is False, json.dumps(result.results)[:3000]
    assert eo["duplicated"]["count"] > 0, eo
    assert eo["lost"]["count"] == 1, eo
    assert [e["id"] for e in eo["lost"]["examples"]] == [DROPPED_ID]
    kinds = {a["type"] for a in result.results["anomalies"]}
    assert {"lost", "duplicated"} <= kinds
