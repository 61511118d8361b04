"""The original project's specs run unchanged but for the jar (test-specs/original/): its
standalone spec deploys HDFS beside the standalone cluster, and the allround job understands the
original's arguments (RocksDB, incremental checkpoints into hdfs:///checkpoints). A submission
Flink refuses ends the run with Flink's own reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun

pytestmark = pytest.mark.integration
ORIGINAL = Path(__file__).resolve().parents[1] / "test-specs" / "original"


def test_the_original_standalone_spec_checkpoints_into_hdfs_with_rocksdb(local_nodes,
                                                                        tmp_path) -> None:
    result = TestRun(TestOptions(test_spec=str(ORIGINAL / "standalone-session.edn"),
                                 store=str(tmp_path / "store"), time_limit=20, seed=5,
                                 job_recovery_grace_period=120)).run()
    assert result.valid is True, result.error or result.anomalies
    test = json.loads((result.store / "test.json").read_text())
    assert test["dbs"] == ["hadoop", "zookeeper", "flink-standalone-session"]
    logs = "\n".join(p.read_text(errors="replace") for p in
                     (result.store / "nodes").rglob("*") if p.is_file() and "flink" in p.parts)
    assert "EmbeddedRocksDBStateBackend" in logs            # --state_backend rocks
    assert "hdfs:///checkpoints" in logs                    # --state_backend.checkpoint_directory
    assert "Completed checkpoint" in logs


def test_a_refused_submission_ends_the_run_with_flink_s_reason(local_nodes, tmp_path) -> None:
    spec = tmp_path / "bad.edn"
    spec.write_text('{:dbs [:zookeeper :flink-standalone-session] :jobs [{:job-jar '
                    '"builtin:allround" :job-args "--environment.parallelism 1 --bogus 3"}]}')
    result = TestRun(TestOptions(test_spec=str(spec), store=str(tmp_path / "store"),
                                 time_limit=10)).run()
    assert result.valid == "unknown"
    assert "unknown argument --bogus" in result.error
    assert "RestHandlerException" not in result.error and "\tat " not in result.error
