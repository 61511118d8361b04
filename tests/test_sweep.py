"""Sweeps: the grid is validated before anything runs (an unknown parameter or value is named),
every run is a row written as soon as it ends, and running the sweep again resumes it. The runs
here are real but end at once: their hosts refuse SSH (a closed port on loopback), so each is a
stored run with verdict unknown, which is all a sweep needs to be tested."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import cli
from flink_jepsen.api import sweep
from flink_jepsen.api.sweep import anomaly_types, parse_grid_arg, plan, run_sweep, summary
from flink_jepsen.errors import UsageError

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def base(tmp_path: Path) -> dict:
    # Port 1 on loopback: nothing listens, so the nodes phase fails at once.
    return {"remote": "ssh", "nodes": HOSTS, "ssh": {"port": 1}, "ha_storage_dir": "file:///x",
            "store": str(tmp_path / "store")}


def stored_runs(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "store").glob("*/2*") if p.is_dir())


def test_unknown_parameters_and_values_are_refused_before_anything_runs(tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown parameter.*nemesis_genn"):
        plan({"nemesis_genn": ["kill-task-managers"]}, base(tmp_path))
    with pytest.raises(UsageError, match="nemesis_gen='kill-all'.*--nemesis-gen 'kill-all' is "
                                         "unknown"):
        plan({"nemesis_gen": ["kill-task-managers", "kill-all"]}, base(tmp_path))
    with pytest.raises(UsageError, match="flink_version='3.0'"):
        plan({"flink_version": ["2.3.0", "3.0"]}, base(tmp_path))
    with pytest.raises(UsageError, match="non-empty list"):
        plan({"seed": []}, base(tmp_path))
    with pytest.raises(UsageError, match="'x' is not a valid time_limit"):
        parse_grid_arg("time-limit=30,x")
    assert not (tmp_path / "store").exists()


def test_rows_are_written_per_run_and_a_sweep_resumes(tmp_path) -> None:
    out = tmp_path / "sweep.jsonl"
    first = run_sweep({"seed": [1, 2]}, out, base(tmp_path))
    assert list(first["seed"]) == [1, 2] and set(first["valid"]) == {"unknown"}
    assert all("connect" in (e or "").lower() for e in first["error"]), list(first["error"])
    assert len(stored_runs(tmp_path)) == 2
    # An interrupted write leaves a torn line; the sweep goes on from the rows it has.
    with out.open("a") as f:
        f.write('{"seed": 3, "repet')
    second = run_sweep({"seed": [1, 2, 3]}, out, base(tmp_path), repetitions=1)
    assert list(second["seed"]) == [1, 2, 3]
    assert len(stored_runs(tmp_path)) == 3  # only seed 3 ran
    assert [Path(s) for s in second["store"]] == stored_runs(tmp_path)


def test_the_cli_sweep_prints_a_row_per_run_and_exits_unknown(tmp_path) -> None:
    out = tmp_path / "cli.jsonl"
    r = cli("sweep", "--grid", "seed=5,6", "--repetitions", "2", "--out", str(out),
            "--remote", "ssh", "--nodes", ",".join(HOSTS), "--ssh-port", "1",
            "--ha-storage-dir", "file:///x", "--store", str(tmp_path / "store"))
    assert r.returncode == 2, r.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(row["seed"], row["repetition"]) for row in rows] == [(5, 1), (5, 2), (6, 1), (6, 2)]
    runs, _, table = r.stdout.partition("\n\n")
    assert runs.count("unknown") == 4
    assert table.splitlines()[0].split()[:4] == ["seed", "runs", "verdict", "recovery_median_s"]
    # Jepsen's test-all summary ends it: the runs not valid, where they are, then the counts.
    assert "# Unknown runs" in r.stdout
    assert all(row["store"] in r.stdout for row in rows)
    assert r.stdout.rstrip().splitlines()[-4:] == ["0 valid", "0 invalid", "4 unknown",
                                                   "0 crashed"]
    bad = cli("sweep", "--grid", "nemesis-gen=nope", "--out", str(out))
    assert bad.returncode == 254 and "--nemesis-gen 'nope' is unknown" in bad.stderr


def test_the_summary_is_version_by_nemesis_with_verdict_recovery_and_anomalies() -> None:
    import pandas as pd

    def row(version, gen, valid, median, kinds):
        return {"flink_version": version, "nemesis_gen": gen, "valid": valid,
                "recovery_median_s": median, "anomalies": len(kinds),
                "anomaly_types": anomaly_types([{"type": k} for k in kinds])}

    frame = pd.DataFrame([
        row("1.18.1", "kill-task-managers", "true", 10.0, []),
        row("1.18.1", "kill-task-managers", "false", 30.0, ["Job is not running."] * 2),
        row("1.18.1", "kill-job-managers", "true", 12.0, []),
        row("2.3.0", "kill-task-managers", "true", 8.0, []),
        row("2.3.0", "kill-job-managers", "unknown", None, []),
    ])
    text = summary(frame, ["flink-version", "nemesis-gen"])
    lines = [line.strip() for line in text.splitlines()]
    first = next(line for line in lines if line.startswith("1.18.1") and "kill-task" in line)
    assert first.split()[2:6] == ["2", "false/true", "20.0", "2"], first
    assert "Job is not running. x2" in first
    grid = [line.strip() for line in
            text.split("verdict, median recovery, anomalies:")[1].splitlines()]
    assert "kill-job-managers" in grid[1] and "kill-task-managers" in grid[1]
    v118 = next(line for line in grid if line.startswith("1.18.1"))
    assert "false/true 20s 2" in v118 and "true 12s 0" in v118
    assert "unknown - 0" in next(line for line in grid if line.startswith("2.3.0"))
    assert anomaly_types([{"type": "lost"}, {"type": "lost"}, {}]) == "lost x2, anomaly x1"


def test_a_matrix_exits_with_its_worst_run_crashed_unknown_invalid_valid() -> None:
    import pandas as pd

    def frame(*valids, crashed=()):
        return pd.DataFrame([{"valid": v, "crashed": i in crashed, "store": f"store/t/{i}",
                              "error": None, "key": str(i)} for i, v in enumerate(valids)])

    assert sweep.exit_status(frame("true", "true")) == 0
    assert sweep.exit_status(frame("true", "false")) == 1
    assert sweep.exit_status(frame("false", "unknown", "true")) == 2   # unknown beats invalid
    assert sweep.exit_status(frame("false", "unknown", "true", crashed={0})) == 255
    assert sweep.exit_status(pd.DataFrame()) == 0
    assert sweep.counts(frame("true", "false", "unknown", "true", crashed={3})) == {
        "valid": 1, "invalid": 1, "unknown": 1, "crashed": 1}
    text = sweep.outcome_summary(frame("true", "false", "unknown"))
    assert text.splitlines()[:3] == ["# Invalid runs", "", "store/t/1"]
    assert "# Unknown runs" in text and "store/t/0" not in text  # valid runs: counted only
    assert text.splitlines()[-4:] == ["1 valid", "1 invalid", "1 unknown", "0 crashed"]
    # test --test-count N: the same order over its runs' verdicts
    assert sweep.worst_exit_status([True, False]) == 1
    assert sweep.worst_exit_status([False, "unknown"]) == 2
    assert sweep.worst_exit_status([]) == 0


def test_a_run_that_crashes_is_a_crashed_row_and_the_sweep_goes_on(tmp_path,
                                                                   monkeypatch) -> None:
    from flink_jepsen.api import Test

    real = Test.run

    def run(self, *a, **k):
        if self.options.seed == 1:
            raise RuntimeError("boom")
        return real(self, *a, **k)

    monkeypatch.setattr(Test, "run", run)
    frame = run_sweep({"seed": [1, 2]}, tmp_path / "s.jsonl", base(tmp_path))
    assert list(frame["seed"]) == [1, 2]
    assert list(frame["crashed"].fillna(False)) == [True, False]
    assert frame["error"][0] == "harness crash: RuntimeError: boom"
    assert sweep.counts(frame) == {"valid": 0, "invalid": 0, "unknown": 1, "crashed": 1}
    assert sweep.exit_status(frame) == 255
    assert "# Crashed runs" in sweep.outcome_summary(frame)
    assert "harness crash: RuntimeError: boom" in sweep.outcome_summary(frame)


def test_run_tests_sh_ends_with_test_alls_summary_and_the_worst_status(tmp_path) -> None:
    """bin/run-tests.sh with a stand-in for bin/flink-jepsen that exits as told."""
    import shutil
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "bin").mkdir()
    shutil.copy(repo / "bin" / "run-tests.sh", tmp_path / "bin" / "run-tests.sh")
    fake = tmp_path / "bin" / "flink-jepsen"
    fake.write_text("""#!/usr/bin/env bash
n=$(cat .count 2>/dev/null || echo 0); n=$((n+1)); echo $n > .count
read -ra st <<< "$FAKE_STATUSES"; rc=${st[$((n-1))]}
if [ "$rc" != 254 ]; then mkdir -p store/run$n; ln -sfn "$PWD/store/run$n" store/latest; fi
exit $rc
""")
    fake.chmod(0o755)

    def matrix(statuses: str) -> subprocess.CompletedProcess:
        work = tmp_path / f"w{statuses.replace(' ', '')}"
        work.mkdir()
        return subprocess.run(["bash", str(tmp_path / "bin" / "run-tests.sh"), "2"], cwd=work,
                              env={"PATH": "/usr/bin:/bin", "FJ_MATRIX": "standalone",
                                   "FAKE_STATUSES": statuses},
                              capture_output=True, text=True, timeout=60)

    r = matrix("0 1 2 254")
    assert r.returncode == 255, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-4:] == ["1 valid", "1 invalid", "1 unknown", "1 crashed"]
    assert "# Invalid runs" in lines and any(line.endswith("store/run2") for line in lines)
    assert any("(exit status 254)" in line for line in lines)
    assert matrix("0 2 1 0").returncode == 2
    assert matrix("0 0 1 0").returncode == 1
    assert matrix("0 0 0 0").returncode == 0
    interrupted = matrix("0 130 1 0")
    assert interrupted.returncode == 130 and interrupted.stdout.splitlines()[-4] == "1 valid"


def test_parallel_runs_each_take_a_free_node_group(tmp_path, monkeypatch) -> None:
    # Two groups of loopback hosts where nothing listens (port 1): each run claims a group,
    # reaches the nodes phase and fails there, unknown. Two workers at once: the four runs
    # are spread over both groups, and never two at once on one (the claim's file says who).
    monkeypatch.setenv("FLINK_JEPSEN_HOME", str(tmp_path / "home"))
    groups = {"a": ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
              "b": ["127.0.0.5", "127.0.0.6", "127.0.0.7"]}
    params = {**base(tmp_path), "nodes": [], "node_groups": groups, "group_wait": 60.0}
    out = tmp_path / "sweep.jsonl"
    frame = run_sweep({"seed": [1, 2, 3, 4]}, out, params, parallel=2)
    assert sorted(frame["seed"]) == [1, 2, 3, 4] and set(frame["valid"]) == {"unknown"}
    assert all("connect" in (e or "").lower() for e in frame["error"]), list(frame["error"])
    spans = []  # (start, end, hosts) of each run: its directory's birth, its results' write
    for store in frame["store"]:
        test = json.loads((Path(store) / "test.json").read_text())
        hosts = tuple(test["options"]["nodes"])
        assert hosts in {tuple(h) for h in groups.values()}, hosts
        born = datetime.strptime(Path(store).name, "%Y%m%dT%H%M%S.%f").replace(
            tzinfo=timezone.utc).timestamp()
        spans.append((born, (Path(store) / "results.json").stat().st_mtime, hosts))
    overlapping = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:]
                   if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, f"no two runs were under way at once: {spans}"
    assert all(a[2] != b[2] for a, b in overlapping), "two runs at once on one group"
    with pytest.raises(UsageError, match="at least 1"):
        run_sweep({"seed": [1]}, out, params, parallel=0)


def test_node_groups_are_refused_without_ssh_or_with_small_groups(tmp_path) -> None:
    with pytest.raises(UsageError, match="group b has 2 host"):
        plan({"seed": [1]}, {**base(tmp_path), "nodes": [],
                             "node_groups": {"a": HOSTS, "b": ["h1", "h2"]}})
    with pytest.raises(UsageError, match="add --remote ssh"):
        plan({"seed": [1]}, {"node_groups": {"a": HOSTS}})
