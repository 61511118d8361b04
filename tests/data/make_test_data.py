"""Rebuilds tests/data from real runs in the store (see README.md here): copies three real runs
with their logs trimmed, derives two small runs from them, and writes the sweep file. Run it
from the repository's root: `.venv/bin/python tests/data/make_test_data.py [STORE]`."""

from __future__ import annotations

import json
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path

from flink_jepsen import _core

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
STANDALONE = "flink-standalone-session-kill-task-managers/20261126T003401.316"
PARTITION = "flink-yarn-session-partition-random-halves/20261126T004302.972"
FAILED = "flink-yarn-session-kill-task-managers/20261126T004031.781"
NODE_LOGS = {
    STANDALONE: ("n1/log/flink/flink--standalonesession-0-n1.log",
                 "n1/log/zookeeper/server.out",
                 "n3/log/flink/flink--taskexecutor-0-n3.log",
                 "n3/log/flink/flink--taskexecutor-0-n3.log.1"),
    PARTITION: ("n2/log/flink/yarn-session.out",
                "n3/log/hadoop/containers/application_1795653818711_0001/"
                "container_1795653818711_0001_01_000001/jobmanager.log"),
    FAILED: ("n2/log/flink/yarn-session.out", "n1/log/hadoop/namenode.out"),
}
# Lines that might carry configuration values we do not want to copy around.
SKIP = re.compile(r"passw|secret|token|key", re.I)
ERROR = re.compile(r"\berror\b|Exception", re.I)


def trimmed(text: str, head: int, tail: int, width: int = 300) -> str:
    """The first and last lines, and the first few errors with the lines after them."""
    lines = [line[:width] for line in text.splitlines() if not SKIP.search(line)]
    keep = set(range(min(head, len(lines)))) | set(range(max(0, len(lines) - tail), len(lines)))
    errors = [i for i, line in enumerate(lines) if ERROR.search(line)][:5]
    keep |= {j for i in errors for j in range(i, min(i + 4, len(lines)))}
    out, last = [], -1
    for i in sorted(keep):
        if i > last + 1:
            out.append(f"[... {i - last - 1} lines cut for the test data ...]")
        out.append(lines[i])
        last = i
    if last < len(lines) - 1:
        out.append(f"[... {len(lines) - 1 - last} lines cut for the test data ...]")
    return "\n".join(out) + "\n"


def copy_run(store: Path, rel: str) -> Path:
    src, dst = store / rel, RUNS / rel
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for name in ("test.json", "results.json", "history.jsonl"):
        shutil.copyfile(src / name, dst / name)
    (dst / "jepsen.log").write_text(trimmed((src / "jepsen.log").read_text(), 25, 25))
    for log in NODE_LOGS[rel]:
        out = dst / "nodes" / log
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(trimmed((src / "nodes" / log).read_text(errors="replace"), 12, 12))
    return dst


def check(history: Path, test: dict, extra: dict) -> dict:
    o = test["options"]
    results = _core.check_availability(
        str(history), float(o["job_recovery_grace_period"]),
        5.0 * o["job_running_healthy_threshold"], 10.0)
    results.update(extra)
    return results


def derive_old_flink(store_copy: Path) -> Path:
    """The standalone run cut short after 200 ops, labelled Flink 1.20.5: an invalid run (its
    job had not been running long enough at the end)."""
    dst = RUNS / "flink-standalone-session-kill-task-managers/20261126T010000.000"
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    test = json.loads((store_copy / "test.json").read_text())
    test["options"]["flink_version"] = "1.20.5"
    test["versions"]["flink"].update(version="1.20.5", source="pypi:1.20.5")
    (dst / "test.json").write_text(json.dumps(test, indent=2, sort_keys=True) + "\n")
    lines = (store_copy / "history.jsonl").read_text().splitlines()[:200]
    (dst / "history.jsonl").write_text("\n".join(lines) + "\n")
    results = check(dst / "history.jsonl", test, {
        "test": "flink-standalone-session-kill-task-managers", "nemesis-gen": "kill-task-managers",
        "deployment-mode": "standalone-session"})
    (dst / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (dst / "jepsen.log").write_text("derived test data: see tests/data/README.md\n")
    return dst


def derive_exactly_once(store_copy: Path) -> Path:
    """A synthetic exactly-once run: a minute of polls (2 a second) of one job, two TaskManager
    kills, records sent in batches and read back with one record lost and one read twice; its
    results.json as the runner writes it, with the C++ checkers' findings."""
    dst = RUNS / "flink-standalone-session-exactly-once/20261126T011000.000"
    before = dst / "results.json"
    kept = json.loads(before.read_text()).get("exactly-once") if before.is_file() else None
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    test = json.loads((store_copy / "test.json").read_text())
    test["options"].update(workload="exactly-once", producer_rate=50.0, keys=4)
    test["spec"]["dbs"] = ["zookeeper", "kafka", "flink-standalone-session"]
    (dst / "test.json").write_text(json.dumps(test, indent=2, sort_keys=True) + "\n")
    job = "5f0c2d9e4b7a41c3a8e6d1f2b3c4d5e6"
    ops: list[dict] = []

    def op(t: float, process: object, typ: str, f: str, value: object, **extra: object) -> None:
        ops.append({"index": len(ops), "time": int(t * 1e9), "process": process, "type": typ,
                    "f": f, "value": value, **extra})

    down = [(10.0, 14.5), (25.0, 31.2)]  # the job restarts after each kill
    sent: list[list] = []
    seq = [0, 0, 0, 0]
    for i in range(110):
        t = 5.0 + i * 0.5
        for start, _ in down:
            if abs(t - start) < 0.25:
                op(t + 0.01, "nemesis", "invoke", "kill-task-managers", {"nodes": ["n3", "n4"]})
                op(t + 0.08, "nemesis", "info", "kill-task-managers",
                   {"nodes": ["n3", "n4"], "killed": {"n3": [4242], "n4": [4343]}})
        running = not any(start <= t < end for start, end in down)
        op(t, 0, "invoke", "job-running?", job)
        op(t + 0.004, 0, "ok", "job-running?", {
            "endpoint": "10.213.7.11:8081", "job": job, "parallelism_total": 2,
            "running": running, "state": "RUNNING", "tasks_running": 2 if running else 0,
            "vertices": 2, "vertices_running": 2 if running else 0})
        if i % 4 == 0:
            batch = []
            for k in range(4):
                batch.append([len(sent) + len(batch), k, seq[k]])
                seq[k] += 1
            process = 1000 + (i // 4) % 2
            op(t + 0.02, process, "invoke", "send", batch)
            op(t + 0.05, process, "ok" if i != 48 else "info", "send", batch)
            sent += batch
    # Read back in order, as the job writes [id, key, seq, count, prev_seq]; then one record
    # goes missing and another is read twice.
    read = [[r[0], r[1], r[2], r[2] + 1, r[2] - 1] for r in sent]
    del read[17]
    read.insert(30, list(read[29]))
    op(61.0, 999, "invoke", "poll", None)
    op(62.5, 999, "ok", "poll", read)
    with (dst / "history.jsonl").open("w") as f:
        for o in ops:
            f.write(json.dumps(o, separators=(",", ":")) + "\n")
    results = check(dst / "history.jsonl", test, {
        "test": "flink-standalone-session-exactly-once", "nemesis-gen": "kill-task-managers",
        "deployment-mode": "standalone-session"})
    results["exactly-once"] = exactly_once_section(dst / "history.jsonl", kept)
    results["availability-valid?"] = results["valid?"]
    results["valid?"] = merge(results["valid?"], results["exactly-once"]["valid"])
    (dst / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (dst / "jepsen.log").write_text("derived test data: see tests/data/README.md\n")
    return dst


def exactly_once_section(history: Path, kept: dict | None) -> dict:
    """The exactly-once checker's result for the history: from the binding when _core has it,
    else the one kept from the last time (the history is made the same way every time)."""
    check_eo = getattr(_core, "check_exactly_once", None)
    if check_eo is not None:
        return check_eo(str(history), 5)
    if kept is None:
        raise SystemExit("flink_jepsen._core has no check_exactly_once: rebuild it "
                         "(.venv/bin/pip install -e .)")
    return kept


def merge(*valids: object) -> object:
    """Jepsen's composition (flink_jepsen.checks.verdict.merge): false beats unknown beats true."""
    if any(v is False for v in valids):
        return False
    return True if all(v is True for v in valids) else "unknown"


def duration(run: Path) -> float | None:
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ",
                        (run / "jepsen.log").read_text(), re.M)
    if len(stamps) < 2:
        return None
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    return round((datetime.strptime(stamps[-1], fmt) - datetime.strptime(stamps[0], fmt))
                 .total_seconds(), 3)


def sweep_row(run: Path | None, point: dict, repetition: int, **override: object) -> dict:
    """A row as the sweep runner writes it (flink_jepsen/sweep.py, row_of), store relative."""
    results = json.loads((run / "results.json").read_text()) if run else {}
    recovery = results.get("recovery") or {}
    medians = [r["median_s"] for r in recovery.values() if r.get("median_s") is not None]
    maxima = [r["max_s"] for r in recovery.values() if r.get("max_s") is not None]
    valid = results.get("valid?", "unknown")
    row = {**point, "repetition": repetition,
           "key": json.dumps({"point": point, "repetition": repetition}, sort_keys=True),
           "valid": {True: "true", False: "false"}.get(valid, "unknown"),
           "store": f"../runs/{run.relative_to(RUNS).as_posix()}" if run else None,
           "error": results.get("error"), "duration_s": duration(run) if run else None,
           "faults": sum(int(r.get("count", 0)) for r in recovery.values()),
           "recovery_median_s": max(medians) if medians else None,
           "recovery_max_s": max(maxima) if maxima else None,
           "anomalies": len(results.get("anomalies") or [])}
    row.update(override)
    return row


def main() -> None:
    store = Path(sys.argv[1] if len(sys.argv) > 1 else "store").resolve()
    standalone = copy_run(store, STANDALONE)
    partition = copy_run(store, PARTITION)
    failed = copy_run(store, FAILED)
    old = derive_old_flink(standalone)
    eo = derive_exactly_once(standalone)

    def point(version: str, mode: str, nemesis: str, workload: str = "availability") -> dict:
        return {"flink_version": version, "deployment_mode": mode, "nemesis_gen": nemesis,
                "workload": workload}

    rows = [
        sweep_row(standalone, point("2.3.0", "standalone-session", "kill-task-managers"), 1),
        sweep_row(old, point("1.20.5", "standalone-session", "kill-task-managers"), 1,
                  duration_s=70.2),
        sweep_row(partition, point("2.3.0", "yarn-session", "partition-random-halves"), 1),
        sweep_row(failed, point("2.3.0", "yarn-session", "kill-task-managers"), 1),
        sweep_row(eo, point("2.3.0", "standalone-session", "kill-task-managers", "exactly-once"),
                  1, duration_s=95.0),
        # A run whose directory is gone from the store: only the row's figures remain.
        sweep_row(None, point("2.3.0", "standalone-session", "kill-task-managers"), 2,
                  valid="true", store="../runs/gone/20260101T000000.000", duration_s=118.4,
                  faults=6, recovery_median_s=0.21, recovery_max_s=19.5, anomalies=0),
    ]
    out = HERE / "sweep" / "sweep.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
