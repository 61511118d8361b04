"""Measures the exactly-once check of a large run: a history of 10 M records written as the
exactly-once workload writes it (workloads/kafka_client.py: producer batches of up to 1000
[id, key, seq] records, `send` invoke then ok, a partly failed batch's rest as an info; the
drain's `poll`s of up to 1000 [id, key, seq, count, prev_seq] output records, read from 8
partitions), with planted anomalies (lost, duplicated, never sent, unknown outcomes), then the
C++ check from the file (_core.check_exactly_once) is timed, and the same check written with
pandas and with DuckDB, each reading the same file. Every peer's counts must equal the C++
check's. Goal: the C++ check under 1 s on a 2-core machine.

    python benchmarks/bench_exactly_once.py [--records 10000000] [--repeat 3] [--keep DIR]
        [--no-pandas] [--no-duckdb]

DuckDB is optional (pip install 'flink-jepsen[bench]'); without it that peer is skipped, said
so, and the pandas peer still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from flink_jepsen import _core

BATCH = 1000          # records per send or poll op, as kafka_client.BATCH_RECORDS
PRODUCERS = 4         # producer processes in flight (kafka_client.PRODUCER_PROCESS_BASE + i)
PRODUCER_BASE = 1000
DRAIN = 999           # kafka_client.DRAIN_PROCESS
KEYS = 16             # the --keys default
PARTITIONS = 8
COMPARED = ("sent_ok", "sent_info", "sent_fail", "resent", "read", "distinct_read", "lost",
            "duplicated", "extra_copies", "never_sent", "send_failed", "fields_differ", "order",
            "state", "unknown_delivered", "unknown_missing", "polls_ok")


# ---- the history ---------------------------------------------------------------------------

def write_history(path: Path, n: int) -> dict[str, int]:
    """Writes the workload's history of n records through the C++ recorder; returns what was
    planted. Batch 7 is fully unknown (no delivery report; the job got its even ids), batch 13
    half acknowledged and half failed (an info op; the job got none of those)."""
    ids = np.arange(n, dtype=np.int64)
    keys, seqs = ids % KEYS, ids // KEYS
    batches = (n + BATCH - 1) // BATCH
    info_batch, split_batch = 7 % batches, 13 % batches
    delivered = np.ones(n, dtype=bool)
    b7 = slice(info_batch * BATCH, min(n, (info_batch + 1) * BATCH))
    delivered[b7] = ids[b7] % 2 == 0
    half = split_batch * BATCH + BATCH // 2
    delivered[half:min(n, (split_batch + 1) * BATCH)] = False

    # The job's state per key after each record it saw: its count and the seq seen before.
    rows = (n + KEYS - 1) // KEYS
    grid = np.zeros(rows * KEYS, dtype=bool)
    grid[:n] = delivered
    grid = grid.reshape(rows, KEYS)
    count = np.cumsum(grid, axis=0).reshape(-1)[:n]
    seen = np.where(grid, np.arange(rows)[:, None], -1)
    last = np.maximum.accumulate(seen, axis=0)
    prev = np.vstack((np.full((1, KEYS), -1), last[:-1])).reshape(-1)[:n]
    out = np.column_stack((ids, keys, seqs, count, prev))[delivered]

    # Each partition in production order; then the anomalies: 3 acknowledged records lost (the
    # job counted them), 2 read twice, 1 never sent.
    parts = [out[out[:, 1] % PARTITIONS == p] for p in range(PARTITIONS)]
    p0 = parts[0]
    parts[0] = np.delete(p0, [len(p0) // 4, len(p0) // 2, len(p0) * 3 // 4], axis=0)
    p1 = parts[1]
    k1, k2 = len(p1) // 3, len(p1) * 2 // 3
    parts[1] = np.insert(p1, [k1 + 1, k2 + 1], p1[[k1, k2]], axis=0)
    parts[2] = np.vstack((parts[2], [[n + 1_000_000, KEYS * 10 + 2, 0, 1, -1]]))

    sent = np.column_stack((ids, keys, seqs))
    with _core.HistoryRecorder(str(path), flush_interval=1.0) as rec:
        for b in range(batches):
            process = PRODUCER_BASE + b % PRODUCERS
            batch = sent[b * BATCH:(b + 1) * BATCH]
            records = batch.tolist()
            rec.record(process, "invoke", "send", records)
            if b == info_batch:
                rec.record(process, "info", "send", records, {"error": "no delivery report"})
            elif b == split_batch:
                acked, failed = records[:BATCH // 2], records[BATCH // 2:]
                rec.record(process, "ok", "send", acked)
                rec.record(process, "invoke", "send", failed)
                rec.record(process, "info", "send", failed,
                           {"error": "KafkaError{code=_MSG_TIMED_OUT}"})
            else:
                rec.record(process, "ok", "send", records)
            if b % 100 == 50:  # the availability poller and the nemesis go on meanwhile
                rec.record(0, "invoke", "job-running?", "a1b2c3d4")
                rec.record(0, "ok", "job-running?", {"job": "a1b2c3d4", "running": True})
                rec.record("nemesis", "invoke", "kill-task-managers", None)
                rec.record("nemesis", "info", "kill-task-managers", {"nodes": ["n3"]})
        # The drain: polls of up to BATCH records, the partitions taken in turn.
        at = [0] * PARTITIONS
        while any(at[p] < len(parts[p]) for p in range(PARTITIONS)):
            for p in range(PARTITIONS):
                chunk = parts[p][at[p]:at[p] + BATCH // 4]
                at[p] += len(chunk)
                if len(chunk):
                    rec.record(DRAIN, "invoke", "poll", None)
                    rec.record(DRAIN, "ok", "poll", chunk.tolist())
    return {"read": sum(len(p) for p in parts), "lost": 3, "duplicated": 2}


# ---- the check, three ways -----------------------------------------------------------------

def ours(path: Path) -> dict[str, int]:
    r = _core.check_exactly_once(str(path), 5)
    return {"sent_ok": r["sent"]["ok"], "sent_info": r["sent"]["info"],
            "sent_fail": r["sent"]["fail"], "resent": r["sent"]["resent"], "read": r["read"],
            "distinct_read": r["distinct_read"], "lost": r["lost"]["count"],
            "duplicated": r["duplicated"]["count"],
            "extra_copies": r["duplicated"]["extra_copies"],
            "never_sent": r["unexpected"]["never_sent"],
            "send_failed": r["unexpected"]["send_failed"],
            "fields_differ": r["unexpected"]["fields_differ"], "order": r["order"]["count"],
            "state": r["state"]["count"], "unknown_delivered": r["unknown_delivered"],
            "unknown_missing": r["unknown_missing"], "polls_ok": r["polls"]["ok"]}


def _records(values: pd.Series, width: int) -> np.ndarray:
    lists = [np.asarray(v, dtype=np.int64).reshape(-1, width) for v in values
             if isinstance(v, list) and v]
    return np.concatenate(lists) if lists else np.empty((0, width), dtype=np.int64)


def with_pandas(path: Path) -> dict[str, int]:
    """The checker's semantics (cpp/check/exactly_once.hpp) in pandas, from the same file."""
    raw = pd.read_json(path, lines=True, dtype=False)
    done = raw[(raw["type"] != "invoke") & raw["f"].isin(["send", "poll"])]
    sends, polls = done[done["f"] == "send"], done[(done["f"] == "poll")]
    status = {"ok": 3, "info": 2, "fail": 1}
    parts = []
    for typ, st in status.items():
        rec = _records(sends.loc[sends["type"] == typ, "value"], 3)
        parts.append(pd.DataFrame({"id": rec[:, 0], "skey": rec[:, 1], "sseq": rec[:, 2],
                                   "st": st}))
    sent = pd.concat(parts, ignore_index=True)
    sent["order"] = np.arange(len(sent))
    best = (sent.sort_values(["id", "st", "order"], ascending=[True, False, True], kind="stable")
            .drop_duplicates("id"))
    rec = _records(polls.loc[polls["type"] == "ok", "value"], 5)
    reads = pd.DataFrame(rec, columns=["id", "key", "seq", "count", "prev_seq"])
    copies = reads.groupby("id").size().rename("copies")
    ids = best.set_index("id")[["st", "skey", "sseq"]].join(copies, how="outer")
    ids["copies"] = ids["copies"].fillna(0)
    dup = ids["copies"] > 1
    joined = reads.merge(best[["id", "st", "skey", "sseq"]], on="id", how="left")
    known = joined["st"] >= 2
    reads = reads.assign(pos=np.arange(len(reads))).sort_values(["key", "pos"], kind="stable")
    by_key = reads.groupby("key", sort=False)
    before_seq, before_count = by_key["seq"].shift(), by_key["count"].shift()
    first = before_seq.isna()
    order = ~first & (reads["seq"] <= before_seq)
    state = ((reads["count"] != before_count.fillna(0) + 1)
             | (reads["prev_seq"] != before_seq.fillna(-1)))
    return {"sent_ok": int((best["st"] == 3).sum()), "sent_info": int((best["st"] == 2).sum()),
            "sent_fail": int((best["st"] == 1).sum()), "resent": len(sent) - len(best),
            "read": len(reads), "distinct_read": len(copies),
            "lost": int(((ids["st"] == 3) & (ids["copies"] == 0)).sum()),
            "duplicated": int(dup.sum()), "extra_copies": int((ids["copies"][dup] - 1).sum()),
            "never_sent": int(joined["st"].isna().sum()),
            "send_failed": int((joined["st"] == 1).sum()),
            "fields_differ": int((known & ((joined["key"] != joined["skey"])
                                           | (joined["seq"] != joined["sseq"]))).sum()),
            "order": int(order.sum()), "state": int(state.sum()),
            "unknown_delivered": int(((ids["st"] == 2) & (ids["copies"] > 0)).sum()),
            "unknown_missing": int(((ids["st"] == 2) & (ids["copies"] == 0)).sum()),
            "polls_ok": int((polls["type"] == "ok").sum())}


DUCKDB_CHECK = """
CREATE TEMP TABLE ops AS
  SELECT "index" AS line, type, f, CAST(value AS BIGINT[][]) AS records
  FROM read_json(?, format = 'newline_delimited', records = true,
                 columns = {"index": 'BIGINT', type: 'VARCHAR', f: 'VARCHAR', value: 'JSON'})
  WHERE type <> 'invoke' AND f IN ('send', 'poll');
CREATE TEMP TABLE sent AS
  SELECT r[1] AS id, r[2] AS skey, r[3] AS sseq,
         CASE type WHEN 'ok' THEN 3 WHEN 'info' THEN 2 ELSE 1 END AS st, line, i
  FROM (SELECT type, line, unnest(records) AS r, unnest(range(len(records))) AS i
        FROM ops WHERE f = 'send');
CREATE TEMP TABLE reads AS
  SELECT row_number() OVER (ORDER BY line, i) AS pos, r[1] AS id, r[2] AS key, r[3] AS seq,
         r[4] AS count, r[5] AS prev_seq
  FROM (SELECT line, unnest(records) AS r, unnest(range(len(records))) AS i
        FROM ops WHERE f = 'poll' AND type = 'ok');
CREATE TEMP TABLE best AS
  SELECT id, max(st) AS st, arg_min(skey, (-st, line, i)) AS skey,
         arg_min(sseq, (-st, line, i)) AS sseq, count(*) AS sends
  FROM sent GROUP BY id;
CREATE TEMP TABLE copies AS SELECT id, count(*) AS copies FROM reads GROUP BY id;
CREATE TEMP TABLE ids AS
  SELECT coalesce(b.id, c.id) AS id, b.st, coalesce(c.copies, 0) AS copies
  FROM best b FULL OUTER JOIN copies c ON b.id = c.id;
CREATE TEMP TABLE walked AS
  SELECT seq, count, prev_seq,
         lag(seq) OVER (PARTITION BY key ORDER BY pos) AS before_seq,
         lag(count) OVER (PARTITION BY key ORDER BY pos) AS before_count
  FROM reads;
"""

DUCKDB_COUNTS = """
SELECT
  (SELECT count(*) FILTER (st = 3) FROM best), (SELECT count(*) FILTER (st = 2) FROM best),
  (SELECT count(*) FILTER (st = 1) FROM best), (SELECT sum(sends - 1) FROM best),
  (SELECT count(*) FROM reads), (SELECT count(*) FROM copies),
  (SELECT count(*) FILTER (st = 3 AND copies = 0) FROM ids),
  (SELECT count(*) FILTER (copies > 1) FROM ids),
  (SELECT coalesce(sum(copies - 1) FILTER (copies > 1), 0) FROM ids),
  (SELECT count(*) FILTER (b.st IS NULL) FROM reads r LEFT JOIN best b USING (id)),
  (SELECT count(*) FILTER (b.st = 1) FROM reads r LEFT JOIN best b USING (id)),
  (SELECT count(*) FILTER (b.st >= 2 AND (r.key <> b.skey OR r.seq <> b.sseq))
     FROM reads r LEFT JOIN best b USING (id)),
  (SELECT count(*) FILTER (before_seq IS NOT NULL AND seq <= before_seq) FROM walked),
  (SELECT count(*) FILTER (count <> coalesce(before_count + 1, 1)
                           OR prev_seq <> coalesce(before_seq, -1)) FROM walked),
  (SELECT count(*) FILTER (st = 2 AND copies > 0) FROM ids),
  (SELECT count(*) FILTER (st = 2 AND copies = 0) FROM ids),
  (SELECT count(*) FROM ops WHERE f = 'poll' AND type = 'ok')
"""


def with_duckdb(path: Path) -> dict[str, int]:
    """The checker's semantics in DuckDB SQL, from the same file."""
    import duckdb

    con = duckdb.connect()
    try:
        for statement in DUCKDB_CHECK.split(";"):
            if not statement.strip():
                continue
            if "?" in statement:
                con.execute(statement, [str(path)])
            else:
                con.execute(statement)
        row = con.execute(DUCKDB_COUNTS).fetchone()
    finally:
        con.close()
    return {k: int(v or 0) for k, v in zip(COMPARED, row)}


# ---- the run -------------------------------------------------------------------------------

def timed(what, *args):
    """(what(*args), wall seconds, CPU seconds of this process, every thread)."""
    w, c = time.perf_counter(), time.process_time()
    out = what(*args)
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="passes of the C++ check")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--keep", help="write the history here and keep it (default: temporary)")
    args = ap.parse_args()
    run_dir = Path(args.keep or tempfile.mkdtemp(prefix="fj-bench-exactly-once-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "history.jsonl"
    try:
        if args.keep and path.exists():
            print(f"history: kept from before, {path}")
        else:
            t = time.perf_counter()
            planted = write_history(path, args.records)
            print(f"history: {args.records} records sent, written in "
                  f"{time.perf_counter() - t:.1f} s; planted {json.dumps(planted)}")
        print(f"history: {path.stat().st_size / 1e6:.0f} MB")
        runs = [timed(ours, path) for _ in range(args.repeat)]
        result = runs[0][0]
        walls, cpus = [r[1] for r in runs], [r[2] for r in runs]
        best, median = min(walls), statistics.median(walls)
        print(f"C++ check from the file, {args.repeat} passes: best {best:.3f} s, median "
              f"{median:.3f} s wall; median {statistics.median(cpus):.3f} s CPU (all threads)")
        print(f"  {json.dumps(result)}")
        print(f"goal: under 1 s: {'met' if best < 1 else 'missed'} (best; load average "
              f"{os.getloadavg()[0]:.1f})")
        peers = []
        if not args.no_pandas:
            peers.append(("pandas", with_pandas))
        if not args.no_duckdb:
            try:
                import duckdb  # noqa: F401
                peers.append(("DuckDB", with_duckdb))
            except ImportError:
                print("DuckDB peer: SKIPPED, duckdb is not installed "
                      "(pip install 'flink-jepsen[bench]')")
        for name, check in peers:
            found, wall, cpu = timed(check, path)
            differs = {k: (result[k], found[k]) for k in COMPARED if result[k] != found[k]}
            verdict = ("the same counts" if not differs
                       else f"DIFFERENT counts (C++, {name}): {differs}")
            print(f"{name} peer: {wall:.2f} s wall, {cpu:.2f} s CPU; {verdict}")
            print(f"  ratio {name} / C++ = {wall / best:.1f}x wall (best of ours), "
                  f"{wall / median:.1f}x (median of ours)")
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
