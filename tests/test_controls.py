"""The cheap controls on real local nodes (bin/run-controls.sh --cheap): each planted failure
must be flagged with its anomaly named. The full set, with the healthy controls repeated, runs
by hand (bin/run-controls.sh --runs 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flink_jepsen.api import controls
from flink_jepsen.run.options import TestOptions

pytestmark = pytest.mark.integration


def test_the_cheap_controls_come_out_as_expected(local_nodes, tmp_path: Path) -> None:
    cheap = [c for c in controls.controls(TestOptions(seed=11)) if c.cheap]
    assert {c.name for c in cheap} == {"subtasks-partly-running", "failure-after-heal"}
    outcomes = controls.run_controls(cheap, tmp_path / "store", 1, lambda _: None)
    assert [o.ok for o in outcomes] == [True] * len(cheap), "\n".join(o.line() for o in outcomes)
    after_heal = next(o for o in outcomes if o.scenario == "failure-after-heal")
    assert after_heal.got is False and "job-not-running" in after_heal.anomalies


def test_unknown_controls_are_refused(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        controls.main(["--only", "no-such-control"])
    assert e.value.code == 2
    assert "unknown control(s) no-such-control" in capsys.readouterr().err
