"""Flink on YARN with HDFS, for real: Hadoop's daemons from Maven Central's jars on the local
nodes, a Flink session cluster on YARN with HA storage and checkpoints in HDFS, TaskManager
containers killed, the NameNode stopped during recovery, and a broken set-up reported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from flink_jepsen.checks import section
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun

pytestmark = pytest.mark.integration


def options(tmp_path: Path, **kw) -> TestOptions:
    # The original's default grace period: YARN may take a minute to replace a container.
    base = dict(store=str(tmp_path / "store"), job_recovery_grace_period=180, seed=5,
                time_limit=20, deployment_mode="yarn-session")
    base.update(kw)
    return TestOptions(**base)


def nemesis_infos(run_dir: Path) -> list[dict]:
    ops = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return [o for o in ops if o["process"] == "nemesis" and o["type"] == "info"]


def test_yarn_session_survives_task_manager_kills(local_nodes, tmp_path) -> None:
    result = TestRun(options(tmp_path, nemesis_gen="kill-task-managers")).run()
    assert result.valid is True, result.results
    killed = [pids for o in nemesis_infos(result.store) for pids in o["value"]["killed"].values()]
    assert any(killed), "no TaskManager container was killed"
    names = {p.name for p in (result.store / "nodes").rglob("*") if p.is_file()}
    assert {"namenode.out", "resourcemanager.out", "nodemanager.out"} <= names
    assert "taskmanager.log" in names and "jobmanager.log" in names  # YARN container logs


@pytest.mark.long   # the original's timing: 60 s + 20 s + 60 s of faults, ~9 minutes in all
def test_fail_name_node_during_recovery(local_nodes, tmp_path) -> None:
    result = TestRun(options(tmp_path, nemesis_gen="fail-name-node-during-recovery")).run()
    assert result.valid is True, result.results
    fs = [o["f"] for o in nemesis_infos(result.store)]
    assert fs == ["start-partition-random-halves", "start-fail-name-node",
                  "stop-partition-random-halves", "stop-fail-name-node"]
    recovery = section(result.results, "availability")["recovery"]
    assert set(recovery) == {"partition-random-halves", "fail-name-node"}


def test_ha_storage_the_jobmanager_cannot_use_is_reported(local_nodes, tmp_path) -> None:
    # A NameNode port where nothing listens: the JobManager cannot write its HA data.
    result = TestRun(options(tmp_path, nemesis_gen="utopia", ready_timeout=60,
                             ha_storage_dir="hdfs://n1:9/flink/ha")).run()
    assert result.valid == "unknown"
    # The JobManager cannot start its HA services: either YARN never sees the application run,
    # or it runs without a JobManager that answers. Either way the error says where to look.
    assert ("no Flink YARN application reached RUNNING" in result.error
            or "its JobManager does not serve: see its container logs" in result.error), \
        result.error
    logs = list((result.store / "nodes").rglob("jobmanager.log"))
    assert logs and any("n1:9" in p.read_text(errors="replace") or
                        "Connection refused" in p.read_text(errors="replace") for p in logs)


def java_processes_on(nodes) -> list[str]:
    """Every JVM still running in the local nodes' network namespaces."""
    found = []
    for node in nodes.specs():
        pids = subprocess.run(["ip", "netns", "pids", node.netns], capture_output=True,
                              text=True).stdout.split()
        for pid in pids:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "java" in cmd.split(" ")[0]:
                found.append(f"{node.name}: {cmd[:120]}")
    return found


@pytest.mark.long  # by hand (CI's time): FJ_LONG=1
def test_container_memory_yarn_cannot_give_is_reported(local_nodes, tmp_path) -> None:
    # Each NodeManager offers 4096 MB; an 8 GB TaskManager container can never be allocated.
    spec = tmp_path / "big-tm.edn"
    spec.write_text('{:dbs [:hadoop :zookeeper :flink-yarn-session]\n'
                    ' :jobs [{:job-jar "builtin:allround"}]\n'
                    ' :flink-config {"taskmanager.memory.process.size" "8g"}}\n')
    result = TestRun(options(tmp_path, nemesis_gen="utopia", test_spec=str(spec))).run()
    assert result.valid == "unknown"
    assert "the Flink YARN client (yarn-session)" in result.error, result.error
    assert "Maximum Memory: 4096 Requested: 8192MB" in result.error, result.error
    assert "yarn-session.out" in result.error
    assert result.results["phase"] == "setup"
    assert java_processes_on(local_nodes) == []
