"""flink_jepsen.analysis against real stored runs (tests/data, see its README): loading through
the C++ reader, faults and polls, recovery times (the checker's, from results.json or the
history), plots, the
interactive timeline, the report, and sweeps. Nothing here needs root or starts a process,
except the browser test (headless Chromium, skipped when it is not installed)."""

from __future__ import annotations

import json
import math
import random
import shutil
import struct
import warnings
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from flink_jepsen import _core
from flink_jepsen.analysis import exactly_once, load_run, parse_values
from flink_jepsen.analysis.events import STATUSES, polls_from_history
from flink_jepsen.analysis.html_timeline import timeline_html, write_timeline_html
from flink_jepsen.analysis.load import NotARunError, read_history_frame
from flink_jepsen.analysis.plots import plot_recovery, plot_timeline
from flink_jepsen.analysis.recovery import fault_recoveries, recovery_by_kind
from flink_jepsen.analysis.report import write_report
from flink_jepsen.analysis.sweep import (
    SweepError,
    load_sweep,
    parameter_columns,
    plot_recovery_distribution,
    plot_verdicts,
    recovery_distribution,
    verdict_counts,
)
from flink_jepsen.analysis.sweep import fault_recoveries as sweep_fault_recoveries
from flink_jepsen.analysis.timeline import segments
from flink_jepsen.errors import FlinkJepsenError
from flink_jepsen.run.options import TestOptions

DATA = Path(__file__).parent / "data"
RUNS = DATA / "runs"
KILL = RUNS / "flink-standalone-session-kill-task-managers/20261126T003401.316"
PARTITION = RUNS / "flink-yarn-session-partition-random-halves/20261126T004302.972"
FAILED = RUNS / "flink-yarn-session-kill-task-managers/20261126T004031.781"
SHORT = RUNS / "flink-standalone-session-kill-task-managers/20261126T010000.000"
EXACTLY_ONCE = RUNS / "flink-standalone-session-exactly-once/20261126T011000.000"
SWEEP = DATA / "sweep" / "sweep.jsonl"
PNG = b"\x89PNG\r\n\x1a\n"


def results_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def copy_run(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.parent.name / src.name
    shutil.copytree(src, dst)
    return dst


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG, "not a PNG"
    return struct.unpack(">II", data[16:24])


# ---- loading ---------------------------------------------------------------------------------

def test_history_frame_of_a_real_run() -> None:
    run = load_run(KILL)
    h = run.history
    assert list(h.columns) == ["index", "time", "time_s", "process", "type", "f", "value",
                               "error"]
    assert len(h) == 1398 == sum(1 for _ in (KILL / "history.jsonl").open())
    assert h["index"].is_monotonic_increasing and h["index"].iloc[-1] == 1397
    assert np.allclose(h["time_s"], h["time"] / 1e9)
    assert set(h["process"].astype(str)) == {"0", "nemesis"}
    assert set(h["f"].astype(str)) == {"job-running?", "kill-task-managers"}
    assert h["value"].dtype == object and isinstance(h["value"].iloc[0], str)
    assert json.loads(h["value"].iloc[0]) == "63b059785e059209f5431901c4df25c1"
    assert run.bad_lines == []
    assert run.valid is True and run.test["options"]["nemesis_gen"] == "kill-task-managers"
    assert run.jobs == ["63b059785e059209f5431901c4df25c1"]
    values = parse_values(h["value"].iloc[:3])
    assert values.iloc[1]["job"] == "63b059785e059209f5431901c4df25c1"
    assert values.iloc[1]["running"] is False


def test_instant_faults_and_polls_match_the_checker() -> None:
    run = load_run(KILL)
    results = results_of(KILL)
    f = run.faults
    assert len(f) == 7 == len(results["faults"])
    assert set(f["kind"]) == {"kill-task-managers"} and f["instant"].all() and f["healed"].all()
    assert f["start_s"].tolist() == pytest.approx([x["start_s"] for x in results["faults"]])
    assert f["end_s"].tolist() == pytest.approx([x["end_s"] for x in results["faults"]])
    assert f["nodes"].iloc[0] == ["n3", "n4", "n5"]
    assert f["value"].iloc[0]["killed"] == {"n3": [3812], "n4": [3874], "n5": [3903]}
    p = run.polls
    job = results["jobs"]["63b059785e059209f5431901c4df25c1"]
    assert len(p) == results["polls"] == job["polls"] == 692
    assert int(p["running"].sum()) == job["running_polls"] == 422
    assert int((~p["ok"]).sum()) == job["failed_polls"] == 0
    assert p["time"].is_monotonic_increasing
    assert set(p["state"]) == {"RUNNING"}


def test_lasting_faults_and_failed_polls() -> None:
    run = load_run(PARTITION)
    results = results_of(PARTITION)
    f = run.faults
    assert f["kind"].tolist() == ["partition-random-halves"] * 2
    assert not f["instant"].any()
    assert f["start_s"].tolist() == pytest.approx([102.989805863, 126.282219448])
    assert f["end_s"].tolist() == pytest.approx([x["end_s"] for x in results["faults"]])
    assert f["detail"].iloc[0] == "halves [['n3', 'n4'], ['n1', 'n2', 'n5']]"
    p = run.polls
    job = results["jobs"]["8d24610c715a0d99535c8f19d1bbe9e9"]
    assert len(p) == job["polls"] == 1395
    counts = p["status"].value_counts()
    assert counts["unreachable"] == job["failed_polls"] == 527
    assert counts["running"] == job["running_polls"] == 506
    assert counts["not running"] == 1395 - 527 - 506
    assert set(p.loc[~p["ok"], "error"]) >= {"http 503"}


def test_a_run_that_failed_in_setup_loads() -> None:
    run = load_run(FAILED)
    assert run.valid == "unknown"
    assert "IllegalConfigurationException" in run.results["error"]
    assert run.history.empty and run.polls.empty and run.faults.empty
    assert list(run.history.columns)[:3] == ["index", "time", "time_s"]
    assert run.jobs == []


def test_corrupt_lines_are_reported_with_their_numbers(tmp_path: Path) -> None:
    run_dir = copy_run(KILL, tmp_path)
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    lines[4] = "{not json at all"
    lines[9] = lines[9][:40]  # a torn line
    (run_dir / "history.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match=r"2 line\(s\).*line 5: .*line 10: "):
        run = load_run(run_dir)
    assert [n for n, _ in run.bad_lines] == [5, 10]
    assert all(why for _, why in run.bad_lines)
    assert len(run.history) == 1396
    assert 4 not in set(run.history["index"]) and 9 not in set(run.history["index"])
    assert len(run.faults) == 7 and len(run.polls) == 691  # line 10 was a completion


@pytest.mark.parametrize("kind", ["empty", "missing", "file", "results-only"])
def test_a_directory_that_is_not_a_run_is_refused(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "not-a-run"
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("hello")
    elif kind == "results-only":
        target.mkdir()
        shutil.copy(KILL / "results.json", target / "results.json")
    with pytest.raises(NotARunError) as e:
        load_run(target)
    assert str(target) in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, FlinkJepsenError)
    expected = {"empty": "no test.json", "results-only": "no test.json",
                "missing": "no such directory", "file": "is a file"}[kind]
    assert expected in str(e.value)


def test_unreadable_parameters_are_refused(tmp_path: Path) -> None:
    run_dir = copy_run(KILL, tmp_path)
    (run_dir / "test.json").write_text("{truncated")
    with pytest.raises(NotARunError, match="test.json"):
        load_run(run_dir)


def test_latest_links_are_followed(tmp_path: Path) -> None:
    run_dir = copy_run(KILL, tmp_path)
    (run_dir.parent / "latest").symlink_to(run_dir.name)
    assert load_run(run_dir.parent).path == run_dir.resolve()


def test_a_run_without_results_or_history_loads(tmp_path: Path) -> None:
    run_dir = copy_run(KILL, tmp_path)
    (run_dir / "results.json").unlink()
    (run_dir / "history.jsonl").unlink()
    run = load_run(run_dir)
    assert run.results == {} and run.valid == "unknown" and run.history.empty


# ---- recovery --------------------------------------------------------------------------------

def checked(run_dir: Path) -> dict:
    """The availability checker over a stored run's history, with the run's parameters."""
    test = json.loads((run_dir / "test.json").read_text())
    options = TestOptions.from_json(test.get("options") or {})
    return _core.check_availability(str(run_dir / "history.jsonl"),
                                    **options.checker_parameters(test.get("jobs")))


@pytest.mark.parametrize("run_dir", [KILL, PARTITION, SHORT, EXACTLY_ONCE])
def test_recovery_and_faults_are_the_checker_s(run_dir: Path, tmp_path: Path) -> None:
    # These runs' results.json predate outages: the checker is run over their history.
    run = load_run(run_dir)
    expected = checked(run_dir)
    faults = fault_recoveries(run)
    assert faults.attrs["source"] == "checked from the history"
    assert faults["kind"].tolist() == [f["kind"] for f in expected["faults"]]
    assert faults["recovery_s"].tolist() == pytest.approx(
        [math.nan if f["recovery_s"] is None else f["recovery_s"] for f in expected["faults"]],
        nan_ok=True)
    kinds = recovery_by_kind(run).set_index("kind")
    for kind, r in expected["recovery"].items():
        assert (kinds.loc[kind, "count"], kinds.loc[kind, "recovered"]) == (r["count"],
                                                                            r["recovered"])
        for k in ("min_s", "median_s", "max_s"):
            assert kinds.loc[kind, k] == pytest.approx(r[k])
    assert len(run.outages) == len(expected["outages"])
    # A run whose results.json has today's shape is read from it, not checked again.
    copy = copy_run(run_dir, tmp_path)
    marked = dict(expected, recovery={"marker": {"count": 1, "recovered": 0}})
    (copy / "results.json").write_text(json.dumps(marked))
    again = load_run(copy)
    assert fault_recoveries(again).attrs["source"] == "results.json"
    assert recovery_by_kind(again)["kind"].tolist() == ["marker"]


def synthetic_history(path: Path, seed: int) -> None:
    """Three jobs polled in turn with kills, partitions (the last may stay open), failed
    polls, polls whose value does not name the job, and a cancelled job."""
    rng = random.Random(seed)
    jobs = [c * 32 for c in "abc"]
    ops: list[dict] = []
    now = [0]

    def op(process: object, typ: str, f: str, value: object, **extra: object) -> None:
        now[0] += rng.randint(1, 80_000_000)
        ops.append({"index": len(ops), "time": now[0], "process": process, "type": typ,
                    "f": f, "value": value, **extra})

    down = [0, 0, 0]
    partitioned = False
    for step in range(500):
        r = rng.random()
        if r < 0.03:
            op("nemesis", "invoke", "kill-task-managers", {"nodes": ["n3"]})
            op("nemesis", "info", "kill-task-managers", {"nodes": ["n3"], "killed": {}})
            down = [step + rng.randint(0, 40) for _ in jobs]
        elif r < 0.05:
            f = "stop-partition-random-halves" if partitioned else "start-partition-random-halves"
            op("nemesis", "invoke", f, None)
            op("nemesis", "info", f, None)
            partitioned = not partitioned
        if step == 350:
            op(2, "invoke", "cancel-job", jobs[2])
            op(2, "ok", "cancel-job", {"job": jobs[2]})
        for p, job in enumerate(jobs):
            op(p, "invoke", "job-running?", job)
            if partitioned and rng.random() < 0.3:
                value = {"endpoint": "n1:8081"} if rng.random() < 0.5 else {"job": job}
                op(p, "fail", "job-running?", value, error="http 503")
            else:
                running = step >= down[p] or (p == 2 and step > 350 and rng.random() < 0.5)
                op(p, "ok", "job-running?", {"job": job, "running": running, "state": "RUNNING"})
    path.write_text("".join(json.dumps(o) + "\n" for o in ops))


@pytest.mark.parametrize("seed", range(6))
def test_loaded_polls_faults_and_outages_are_the_checker_s(tmp_path: Path, seed: int) -> None:
    run_dir = tmp_path / "t" / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "test.json").write_text("{}")
    synthetic_history(run_dir / "history.jsonl", seed)
    expected = checked(run_dir)
    run = load_run(run_dir)
    assert run.results == {}
    assert len(run.polls) == expected["polls"]
    for job, j in expected["jobs"].items():
        mine = run.polls[run.polls["job"] == job]
        assert (len(mine), int(mine["running"].sum()), int((~mine["ok"]).sum())) == (
            j["polls"], j["running_polls"], j["failed_polls"])
    assert run.faults["kind"].tolist() == [f["kind"] for f in expected["faults"]]
    assert run.faults["end_s"].tolist() == pytest.approx([f["end_s"] for f in expected["faults"]])
    assert run.faults["healed"].tolist() == [f.get("healed", True) for f in expected["faults"]]
    assert run.outages["start_s"].tolist() == pytest.approx(
        [o["start_s"] for o in expected["outages"]])
    assert run.outages["job"].tolist() == [o["job"] for o in expected["outages"]]


def test_job_missing_from_a_completion_comes_from_its_invoke(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    job = "f" * 32
    ops = [(0, "invoke", job), (0, "fail", {"endpoint": "n1:8081"}), (0, "invoke", job),
           (0, "ok", {"job": job, "running": True, "state": "RUNNING"})]
    path.write_text("".join(json.dumps({"index": i, "time": i * 10, "process": p, "type": t,
                                        "f": "job-running?", "value": v}) + "\n"
                            for i, (p, t, v) in enumerate(ops)))
    frame, bad = read_history_frame(path)
    polls = polls_from_history(frame)
    assert bad == [] and polls["job"].tolist() == [job, job]
    assert polls["status"].tolist() == ["unreachable", "running"]


def _python_history_frame(path: Path) -> list[tuple]:
    """The rows the history frame should hold, read with nothing but json: every line that is
    an op, its value as compact JSON text with sorted keys, its error as text."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            op = json.loads(line)
        except ValueError:
            continue
        if not isinstance(op, dict) or not all(k in op for k in ("index", "time", "process",
                                                                 "type", "f")):
            continue
        if op["type"] not in ("invoke", "ok", "fail", "info") or isinstance(op["process"], bool):
            continue
        error = op.get("error")
        rows.append((op["index"], op["time"], str(op["process"]), op["type"], op["f"],
                     json.dumps(op.get("value"), sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False),
                     error if error is None or isinstance(error, str) else
                     json.dumps(error, sort_keys=True, separators=(",", ":"))))
    return sorted(rows, key=lambda r: r[0])


ODD_OPS = [
    {"index": 0, "time": 5, "process": 0, "type": "invoke", "f": "job-running?", "value": "j1"},
    {"index": 1, "time": 6, "process": 0, "type": "ok", "f": "job-running?",
     "value": {"job": "j1", "running": True, "state": "RUNNING"}},
    {"f": "job-running?", "type": "ok", "process": 0, "time": 7, "index": 2,      # unsorted
     "value": {"state": "RUNNING", "running": True, "job": "j1"}},
    {"index": 3, "time": 8, "process": "nemesis", "type": "info", "f": "kill-node",
     "value": {"nodes": ["nœud-1", "ü"], "note": "a \"quoted\"\nline"}},            # unicode
    {"index": 4, "time": 9, "process": "nemesis", "type": "info", "f": "start-clock",
     "value": {"offset": 2.5, "nodes": ["n1"]}},
    {"index": 5, "time": 10, "process": 1, "type": "fail", "f": "job-running?",       # no value
     "error": "connect: connection refused"},
    {"index": 6, "time": 11, "process": 1, "type": "info", "f": "cancel-job", "value": "j1",
     "error": {"code": 7, "why": "timeout"}},
    {"index": 7, "time": 12, "process": 1, "type": "ok", "f": "x", "value": [], "error": None,
     "node": "n1"},
    {"index": 9, "time": 14, "process": 2, "type": "ok", "f": "x", "value": {}},
    {"index": 8, "time": 13, "process": 2, "type": "invoke", "f": "x", "value": None},  # order
]


def test_history_frame_equals_a_plain_json_reading(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [json.dumps(op, ensure_ascii=False) for op in ODD_OPS]
    for i in (0, 1, 2, 5, 7, 8):   # compact, as the recorder writes (2: but keys unsorted)
        lines[i] = json.dumps(ODD_OPS[i], ensure_ascii=False, separators=(",", ":"))
    lines.insert(4, "   ")                                             # blank
    lines.insert(6, "{not json")                                       # corrupt
    lines.insert(7, json.dumps({"index": 99, "time": 1, "process": 0, "type": "ok"}))  # no f
    lines.append('{"index":10,"time":15,"process":0,"type":"ok","f":"job-run')  # torn last line
    path.write_text("\n".join(lines), encoding="utf-8")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        frame, bad = read_history_frame(path)
    assert [line for line, _ in bad] == [7, 8, 14]
    assert "truncated" in bad[-1][1] and "missing field 'f'" in bad[1][1]
    got = list(zip(frame["index"], frame["time"], frame["process"].astype(object),
                   frame["type"].astype(object), frame["f"].astype(object), frame["value"],
                   frame["error"]))
    assert got == _python_history_frame(path)
    assert frame["index"].dtype == np.int64 and frame["time"].dtype == np.int64
    assert frame["value"].dtype == object and frame["error"].dtype == object
    assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in ("process", "type", "f"))
    assert np.allclose(frame["time_s"], frame["time"] / 1e9)
    # Equal value texts are one category of codes, whatever form their lines had.
    assert frame["value"].iloc[1] == frame["value"].iloc[2]


def test_polls_from_the_readers_codes_equal_polls_from_the_texts(tmp_path: Path) -> None:
    from flink_jepsen.analysis.load import _read_history

    path = tmp_path / "history.jsonl"
    ops, index = [], 0
    rng = random.Random(5)
    for i in range(400):
        p = i % 3
        job = f"{p:032x}"
        invoke = job if i % 17 else {"job": job}
        done = rng.choice([{"job": job, "running": True, "state": "RUNNING"},
                           {"job": job, "running": False, "state": "RESTARTING"},
                           {"endpoint": "n1:8081"},                    # the job from the invoke
                           {"running": False}])
        typ = rng.choice(["ok", "ok", "fail", "info"])
        for t, v in (("invoke", invoke), (typ, done)):
            ops.append({"index": index, "time": index * 10, "process": p, "type": t,
                        "f": "job-running?", "value": v})
            index += 1
    ops.insert(0, {"index": index, "time": 1, "process": 9, "type": "ok", "f": "job-running?",
                   "value": {"running": True}})                       # no job anywhere
    path.write_text("".join(json.dumps(op) + "\n" for op in ops))
    frame, _, codes = _read_history(path)
    with_codes, without = polls_from_history(frame, codes), polls_from_history(frame)
    pd.testing.assert_frame_equal(with_codes, without)
    assert len(without) == 400 and set(without["status"]) == {"running", "not running",
                                                              "unreachable"}
    # The job of a poll whose value does not name it is its invoke's.
    assert (without["job"] == [f"{p:032x}" for p in without["process"].astype(int)]).all()


# ---- plots -----------------------------------------------------------------------------------

def test_segments_merge_runs_of_one_status() -> None:
    run = load_run(KILL)
    seg = segments(run.polls)
    assert seg["status"].tolist() == ["not running", "running", "not running", "running"]
    assert seg["polls"].sum() == 692
    assert seg["start_s"].iloc[0] == pytest.approx(run.polls["time_s"].iloc[0])
    assert seg["end_s"].iloc[-1] == pytest.approx(run.polls["time_s"].iloc[-1])
    assert (seg["end_s"].iloc[:-1].to_numpy() == seg["start_s"].iloc[1:].to_numpy()).all()


def test_segments_equal_a_per_job_reference() -> None:
    """segments groups by hand and buckets without ufunc.at: it must equal the plain reading
    (groupby per job, np.maximum.at per bucket)."""
    rng = np.random.default_rng(11)
    n = 20_000
    polls = pd.DataFrame({"job": rng.choice(["j1", "j2", "j3"], n),
                          "time_s": np.sort(rng.random(n) * 1000),
                          "status": pd.Categorical.from_codes(rng.integers(0, 3, n) *
                                                              (rng.random(n) < 0.2),
                                                              categories=list(STATUSES))})
    for max_per_job in (None, 7, 300):
        seg = segments(polls, max_per_job=max_per_job)
        for job, g in polls.groupby("job"):
            mine = seg[seg["job"] == job]
            t, code = g["time_s"].to_numpy(), g["status"].cat.codes.to_numpy()
            if max_per_job:
                width = (t[-1] - t[0]) / max_per_job
                b = np.minimum(((t - t[0]) / width).astype(np.int64), max_per_job - 1)
                worst = np.full(max_per_job, -1)
                np.maximum.at(worst, b, code)
                present = worst[worst >= 0]
                runs = present[np.concatenate(([True], np.diff(present) != 0))]
            else:
                runs = code[np.concatenate(([True], np.diff(code) != 0))]
            assert mine["status"].tolist() == [STATUSES[c] for c in runs], (job, max_per_job)
            assert mine["polls"].sum() == len(g)


def test_downsampling_keeps_the_worst_status() -> None:
    n = 10_000
    status = np.zeros(n, dtype=np.int64)
    status[1::2] = 1  # flapping between running and not running
    status[5000] = 2  # one unreachable poll
    polls = pd.DataFrame({"job": "j", "time_s": np.arange(n) / 10.0,
                          "status": pd.Categorical.from_codes(
                              status, categories=["running", "not running", "unreachable"])})
    assert len(segments(polls)) == n
    seg = segments(polls, max_per_job=100)
    assert len(seg) <= 100 and seg["downsampled"].all()
    assert seg["polls"].sum() == n
    assert "unreachable" in set(seg["status"]) and "running" not in set(seg["status"])


def test_timeline_and_recovery_pngs(tmp_path: Path) -> None:
    for run_dir in (KILL, PARTITION):
        run = load_run(run_dir)
        fig = plot_timeline(run, tmp_path / "t.png")
        width, height = png_size((tmp_path / "t.png").read_bytes())
        assert width > 1000 and height > 100
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        kind = run.faults["kind"].iloc[0]
        assert f"{kind} ({len(run.faults)})" in labels and "unreachable" in labels
        plot_recovery(run, tmp_path / "r.png")
        png_size((tmp_path / "r.png").read_bytes())
    empty = load_run(FAILED)
    plot_timeline(empty, tmp_path / "e.png")
    plot_recovery(empty, tmp_path / "f.png")
    assert png_size((tmp_path / "e.png").read_bytes())[0] > 0


def test_interactive_timeline_is_self_contained(tmp_path: Path) -> None:
    run = load_run(PARTITION)
    page = write_timeline_html(run, tmp_path / "t.html").read_text()
    seg = segments(run.polls, max_per_job=3000)
    assert page.count('height="0.6"') == len(seg)  # one bar per span
    assert page.count('fill-opacity="0.2"') == 2    # one band per partition
    assert "partition-random-halves" in page and "halves [[&#x27;n3&#x27;" in page
    for external in ("<script src", "<link", "@import", "https://", "url("):
        assert external not in page
    assert page.count("http://") == page.count("http://www.w3.org/2000/svg")
    kills = timeline_html(load_run(KILL))
    assert kills.count('stroke-width="1.5"') == 7  # one line per kill
    assert "No availability polls" in timeline_html(load_run(FAILED))


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def test_interactive_timeline_in_a_browser(tmp_path: Path) -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"needs Debian's chromium and chromium-driver: {', '.join(missing)}")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    page = write_timeline_html(load_run(PARTITION), tmp_path / "t.html")
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,600"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        driver.get(page.as_uri())
        view = "return document.querySelector('.fjtl-plot').getAttribute('viewBox')"
        whole = driver.execute_script(view)
        zoom = """var p=document.querySelector('.fjtl-plot'),r=p.getBoundingClientRect();
            p.dispatchEvent(new WheelEvent('wheel',{deltaY:-100,clientX:r.left+r.width/2,
            clientY:r.top+5,bubbles:true,cancelable:true}));"""
        for _ in range(5):
            driver.execute_script(zoom)
        zoomed = driver.execute_script(view)
        assert float(zoomed.split()[2]) == pytest.approx(float(whole.split()[2]) * 0.8 ** 5)
        hover = """var e=document.querySelector('.fjtl-plot rect[data-tip]'),
            r=e.getBoundingClientRect();
            e.dispatchEvent(new MouseEvent('mousemove',{clientX:r.left+1,clientY:r.top+1,
            bubbles:true}));
            var t=document.querySelector('.fjtl-tip');return [t.style.display,t.textContent];"""
        shown, text = driver.execute_script(hover)
        assert shown == "block" and "s to" in text and "t = " in text
        driver.execute_script("document.querySelector('.fjtl-plot').dispatchEvent("
                              "new MouseEvent('dblclick',{bubbles:true}))")
        assert driver.execute_script(view) == whole
        ticks = driver.execute_script("return document.querySelectorAll('.fjtl-axis text')"
                                      ".length")
        assert ticks >= 3
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()


# ---- report ----------------------------------------------------------------------------------

def node_files(run_dir: Path) -> list[str]:
    return sorted(p.relative_to(run_dir).as_posix() for p in (run_dir / "nodes").rglob("*")
                  if p.is_file())


def test_report_of_a_valid_run(tmp_path: Path) -> None:
    run_dir = copy_run(KILL, tmp_path)
    out = write_report(run_dir)
    assert out == run_dir.resolve() / "report.html"
    page = out.read_text()
    assert 'style="background:#1a7f37">valid</span>' in page
    assert "Everything looks good!" in page
    # parameters: options, spec and versions
    assert "<td>nemesis_gen</td><td>kill-task-managers</td>" in page
    assert "<td>time_limit</td>" in page and "builtin:allround" in page and "17.0.15" in page
    assert "<img" in page and "data:image/png;base64," in page and "<svg" in page
    assert "<td>kill-task-managers</td><td class=\"n\">7</td><td class=\"n\">7</td>" in page
    assert "24.064" in page  # the slowest recovery
    assert "No availability anomalies." in page
    files = node_files(run_dir)
    assert len(files) == 4
    for rel in [*files, "history.jsonl", "results.json", "jepsen.log", "test.json"]:
        assert f'href="{quote(rel)}"' in page, rel
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<script src" not in page
    for name in ("timeline.png", "recovery.png"):
        png_size((run_dir / name).read_bytes())
    assert "<svg" in (run_dir / "timeline.html").read_text()


def test_report_of_a_run_that_failed_in_setup(tmp_path: Path) -> None:
    run_dir = copy_run(FAILED, tmp_path)
    page = write_report(run_dir).read_text()
    assert 'style="background:#d97706">unknown</span>' in page
    assert "failed in phase setup" in page
    assert "IllegalConfigurationException: TaskManager memory configuration failed" in page
    assert "No availability polls in the history" in page and "No faults" in page
    for rel in node_files(run_dir):
        assert f'href="{quote(rel)}"' in page, rel
    assert "could not be drawn" not in page
    assert not (run_dir / "timeline.png").exists()


def test_report_of_an_invalid_exactly_once_run(tmp_path: Path) -> None:
    run_dir = copy_run(EXACTLY_ONCE, tmp_path)
    page = write_report(run_dir, plots=False).read_text()
    assert 'style="background:#cf222e">invalid</span>' in page
    assert "Exactly-once: lost 1, duplicated 1, order 1, state 2" in page
    assert "records 1 lost, 1 duplicated" in page  # the checker's reason
    assert "<h3>Examples: lost</h3>" in page and "<h3>Examples: duplicated</h3>" in page
    assert "<td>send</td><td>ok</td><td class=\"n\">27</td><td class=\"n\">108</td>" in page
    assert not (run_dir / "timeline.png").exists()


def test_report_without_results_and_with_a_broken_section(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    run_dir = copy_run(SHORT, tmp_path)
    (run_dir / "results.json").unlink()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no canvas today")

    monkeypatch.setattr("flink_jepsen.analysis.report.plot_recovery", broken)
    page = write_report(run_dir).read_text()
    assert "No results.json" in page and ">unknown</span>" in page
    assert "This section could not be drawn: RuntimeError: no canvas today" in page
    assert "<h2>Files</h2>" in page and "<svg" in page


def test_report_refuses_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(NotARunError, match=str(tmp_path)):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


# ---- exactly-once ----------------------------------------------------------------------------

def test_exactly_once_tables() -> None:
    run = load_run(EXACTLY_ONCE)
    counts = exactly_once.counts(run.results).set_index("category")["count"]
    assert counts.to_dict() == {"lost": 1, "duplicated": 1, "unexpected": 0, "order": 1,
                                "state": 2}
    detail = exactly_once.counts(run.results).set_index("category")["detail"]
    assert detail["state"] == "count backwards 1, count skips 1, wrong prev seq 2"
    examples = exactly_once.examples(run.results)
    assert set(examples) == {"lost", "duplicated", "order", "state"}
    assert examples["lost"][["id", "key", "seq"]].values.tolist() == [[17, 1, 4]]
    assert examples["state"]["count.found"].tolist() == [6, 8]
    totals = exactly_once.totals(run.results).set_index("what")["value"]
    assert (totals["sent ok"], totals["read"], totals["unknown delivered"]) == (108, 112, 4)
    sent = exactly_once.send_outcomes(run.history).set_index(["f", "type"])
    assert sent.loc[("send", "ok"), "records"] == 108 and sent.loc[("send", "info"), "ops"] == 1
    assert sent.loc[("poll", "ok"), "records"] == 112
    assert exactly_once.counts(results_of(KILL))["count"].sum() == 0


# ---- sweeps ----------------------------------------------------------------------------------

def test_load_sweep() -> None:
    s = load_sweep(SWEEP.parent)
    assert len(s) == 6
    assert parameter_columns(s) == ["flink_version", "deployment_mode", "nemesis_gen", "workload"]
    assert s["valid"].tolist() == ["true", "false", "true", "unknown", "false", "true"]
    assert s["run_dir"].iloc[0] == str(KILL.resolve())
    assert s["run_exists"].tolist() == [True] * 5 + [False]
    assert s["recovery_max_s"].iloc[0] == pytest.approx(24.063541475)


def test_verdict_counts() -> None:
    s = load_sweep(SWEEP)
    by_nemesis = verdict_counts(s, "nemesis_gen").set_index("nemesis_gen")
    assert by_nemesis.loc["kill-task-managers", ["runs", "true", "false", "unknown"]].tolist() \
        == [5, 2, 2, 1]
    assert by_nemesis.loc["partition-random-halves", ["runs", "true"]].tolist() == [1, 1]
    combos = verdict_counts(s)
    assert len(combos) == 5 and combos["runs"].sum() == 6
    row = combos[(combos["flink_version"] == "1.20.5")].iloc[0]
    assert (row["false"], row["anomalies"]) == (1, 1)
    with pytest.raises(KeyError, match="no_such_parameter"):
        verdict_counts(s, "no_such_parameter")


def test_recovery_distribution_over_every_fault() -> None:
    s = load_sweep(SWEEP)
    faults = sweep_fault_recoveries(s)
    assert faults.groupby("nemesis_gen").size().to_dict() == {"kill-task-managers": 11,
                                                               "partition-random-halves": 2}
    d = recovery_distribution(s, ["nemesis_gen", "flink_version"], faults=faults)
    part = d[d["nemesis_gen"] == "partition-random-halves"].iloc[0]
    expected = results_of(PARTITION)["recovery"]["partition-random-halves"]
    assert part["median_s"] == pytest.approx(expected["median_s"])
    assert part["max_s"] == pytest.approx(expected["max_s"])
    old = d[d["flink_version"] == "1.20.5"].iloc[0]
    assert (old["faults"], old["recovered"]) == (2, 2)


def test_recovery_distribution_without_the_runs(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in SWEEP.read_text().splitlines()]
    for r in rows:
        r["store"] = "/nonexistent/" + Path(r["store"]).name
    (tmp_path / "sweep.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows)
                                          + "{torn line\n")
    with pytest.warns(UserWarning, match="line 7"):
        s = load_sweep(tmp_path / "sweep.jsonl")
    assert s.attrs["bad_lines"][0][0] == 7 and not s["run_exists"].any()
    d = recovery_distribution(s, "nemesis_gen")
    assert set(d["kind"]) == {"(run medians)"}
    part = d[d["nemesis_gen"] == "partition-random-halves"].iloc[0]
    assert part["median_s"] == pytest.approx(27.659342903499997)
    plot_recovery_distribution(s, "nemesis_gen", tmp_path / "r.png")
    png_size((tmp_path / "r.png").read_bytes())


def test_sweep_plots(tmp_path: Path) -> None:
    s = load_sweep(SWEEP)
    fig = plot_recovery_distribution(s, ["nemesis_gen", "flink_version"], tmp_path / "r.png")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["kill-task-managers / 1.20.5", "kill-task-managers / 2.3.0",
                      "partition-random-halves / 2.3.0"]
    plot_verdicts(s, "deployment_mode", tmp_path / "v.png")
    png_size((tmp_path / "v.png").read_bytes())


def test_plots_draw_into_the_callers_axes() -> None:
    # A user's own figure: one row for the timeline, one for recovery, one for the sweep.
    from flink_jepsen.analysis.plots import new_figure

    fig = new_figure(12, 12)
    axes = fig.subplots(4, 2)
    run = load_run(KILL)
    assert plot_timeline(run, ax=axes[0][0]) is fig
    assert len(axes[0][0].collections) > 0  # the status spans
    assert [t.get_text() for t in axes[0][0].get_yticklabels()]
    assert plot_recovery(run, ax=axes[1]) is fig
    assert axes[1][0].get_ylabel() == "recovery (s)" and axes[1][1].get_xlabel()
    s = load_sweep(SWEEP)
    assert plot_recovery_distribution(s, "nemesis_gen", ax=axes[2][0]) is fig
    assert plot_verdicts(s, "deployment_mode", ax=axes[2][1]) is fig
    assert axes[2][1].get_xlabel() == "runs"
    assert len(fig.axes) == 8  # nothing added beside the caller's axes
    with pytest.raises(ValueError, match="two Axes"):
        plot_recovery(run, ax=[axes[3][0]])


def test_missing_or_empty_sweep_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SweepError, match=str(tmp_path / "sweep.jsonl")):
        load_sweep(tmp_path)
    (tmp_path / "sweep.jsonl").write_text("\n")
    with pytest.raises(SweepError, match="no runs"):
        load_sweep(tmp_path)


def test_nothing_here_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = load_run(PARTITION)
        plot_timeline(run)
        plot_recovery(run)
        load_sweep(SWEEP)


def test_loading_a_run_does_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom flink_jepsen.analysis import load_run\n"
            f"load_run({str(KILL)!r})\nassert 'matplotlib' not in sys.modules\n"
            "from flink_jepsen.analysis import load_sweep, write_report\n"
            "assert callable(write_report) and callable(load_sweep)\n"
            "assert 'matplotlib' in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_report_points_to_the_job_lifecycle_in_the_logs_and_other_checkers_anomalies(
        tmp_path: Path) -> None:
    run_dir = copy_run(SHORT, tmp_path)
    job = "63b059785e059209f5431901c4df25c1"
    logs = run_dir / "nodes" / "n1" / "log" / "flink"
    logs.mkdir(parents=True)
    # A rotated log (the JobManager was restarted) and the current one; task lines are noise.
    (logs / "flink--standalonesession-0-n1.log.1").write_text(
        f"2026-11-26 01:00:10,000 INFO ExecutionGraph [] - Job allround ({job}) switched from "
        "state CREATED to RUNNING.\n"
        "2026-11-26 01:00:11,000 INFO ExecutionGraph [] - Source (1/1) switched from state "
        "DEPLOYING to RUNNING.\n"
        f"2026-11-26 01:00:20,000 INFO AdaptiveScheduler [] - Job {job} reached terminal state "
        "CANCELED.\n")
    (logs / "flink--standalonesession-0-n1.log").write_text(
        f"2026-11-26 01:00:30,000 INFO Runner [] - Runner for job {job} was granted leadership\n"
        "2026-11-26 01:00:31,000 INFO Other [] - Job ffff switched from state A to B.\n")
    results = results_of(run_dir)
    results["anomalies"].append({"checker": "finished-once", "type": "ran-after-finished",
                                 "job": job, "ops": [{"index": 7}]})
    (run_dir / "results.json").write_text(json.dumps(results))
    page = write_report(run_dir, plots=False).read_text()
    section = page.split("<h2>Job lifecycle in the JobManager logs</h2>")[1].split("<h2>")[0]
    assert section.count("\n") >= 2 and "Source (1/1)" not in section and "ffff" not in section
    lines = [line for line in section.split("\n") if job in line]
    assert [("CANCELED" in x, "granted" in x, "CREATED to RUNNING" in x) for x in lines] == [
        (False, False, True), (True, False, False), (False, True, False)]   # in time order
    assert 'href="nodes/n1/log/flink/flink--standalonesession-0-n1.log.1"' in section
    assert "n1/log/flink/flink--standalonesession-0-n1.log.1:3" in section
    assert "<td>finished-once</td><td>ran-after-finished</td>" in page


def test_teardown_prewarms_the_report_libraries_the_runner_itself_does_not_load() -> None:
    # The runner starts no plotting library on import (every CLI call would pay for it); its
    # teardown thread loads the report's (pandas, matplotlib) while the nodes stop.
    import subprocess
    import sys

    code = ("import sys\nfrom flink_jepsen.run import runner\n"
            "assert 'matplotlib' not in sys.modules and 'pandas' not in sys.modules\n"
            "runner._prewarm_analysis()\n"
            "assert 'flink_jepsen.analysis.report' in sys.modules\n"
            "assert 'matplotlib' in sys.modules and 'pandas' in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
