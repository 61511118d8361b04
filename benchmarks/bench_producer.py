#!/usr/bin/env python3
"""Benchmark: the exactly-once workload's producers, the C++ core's (librdkafka's C API, delivery
reports recorded in C++) against the Python one (confluent-kafka, a Python callback per record),
in the same run against the same three Kafka brokers on local nodes: idempotent, acks=all, every
record's outcome in a history. Each round runs both, one after the other (order alternating),
for --seconds each, on a topic of its own. Prints records acknowledged per second of each and
the ratio (core / python), best and median over the rounds, and checks each history: every
record sent has exactly one completion, and the ok records are as many as the topic holds.

Needs root: it brings up 3 local nodes under --prefix in --subnet and removes them afterwards.

    .venv/bin/python benchmarks/bench_producer.py [--seconds 15] [--rate 400000] [--rounds 3]
        [--warmup 10] [--prefix fjb --subnet 10.213.17.0/24]            (after bin/install.sh)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

KINDS = ("python", "core")


@dataclass
class Result:
    kind: str
    sent: int
    acked: int
    elapsed: float
    ops: int
    problems: list[str]

    @property
    def rate(self) -> float:
        return self.acked / self.elapsed


def check_history(path: Path, sent: int, acked: int, held: int) -> list[str]:
    """What is wrong with a producer's history: a record sent without exactly one completion,
    an ok count that is not what the producer counted, or not what the topic holds."""
    outcomes = bytearray(sent)
    oks = 0
    with path.open() as f:
        for line in f:
            op = json.loads(line)
            if op["f"] != "send" or op["type"] == "invoke":
                continue
            for rec in op["value"]:
                outcomes[rec[0]] += 1
            if op["type"] == "ok":
                oks += len(op["value"])
    problems = []
    missing = outcomes.count(0)
    extra = sum(1 for n in outcomes if n > 1)
    if missing or extra:
        problems.append(f"{missing} records without a completion, {extra} with more than one")
    if oks != acked:
        problems.append(f"{oks} ok records in the history, the producer counted {acked}")
    if oks != held:
        problems.append(f"{oks} ok records in the history, the topic holds {held}")
    return problems


def run_one(kind: str, topic: str, kafka, home: Path, args) -> Result:
    from flink_jepsen import _core
    from flink_jepsen.workloads.kafka_client import topic_size
    from flink_jepsen.workloads.kafka_producer import sequenced_producer

    kafka.create_topics([topic], 4)
    path = home / f"history-{topic}.jsonl"
    history = _core.HistoryRecorder(str(path))
    producer = sequenced_producer(kind, kafka.bootstrap_servers(), topic, history,
                                  keys=args.keys, rate=args.rate)
    started = time.perf_counter()
    producer.start()
    time.sleep(args.seconds)
    producer.stop()
    elapsed = time.perf_counter() - started
    history.close()
    if producer.error:
        raise SystemExit(f"{kind} producer failed: {producer.error}")
    held = topic_size(kafka.bootstrap_servers(), topic)
    result = Result(kind, producer.sent, producer.acked, elapsed, len(history),
                    check_history(path, producer.sent, producer.acked, held))
    path.unlink()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=15.0, help="each producer's run")
    ap.add_argument("--rate", type=float, default=400_000.0, help="records/s asked of each")
    ap.add_argument("--keys", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=10.0,
                    help="seconds of both producers before the rounds, not counted: the "
                         "brokers' JVMs compile their hot paths in the first seconds")
    ap.add_argument("--prefix", default="fjb", help="the local nodes' name prefix")
    ap.add_argument("--subnet", default="10.213.17.0/24", help="the local nodes' subnet")
    args = ap.parse_args()
    if args.seconds <= 0 or args.rate <= 0 or args.keys < 1 or args.rounds < 1 or args.warmup < 0:
        ap.error("--seconds, --rate, --keys and --rounds must be positive, --warmup not negative")
    home = Path(tempfile.mkdtemp(prefix="fj-bench-"))
    os.environ.update({"FLINK_JEPSEN_HOME": str(home), "FLINK_JEPSEN_PREFIX": args.prefix})
    os.environ.setdefault("FLINK_JEPSEN_CACHE", "/var/lib/flink-jepsen/cache")
    from flink_jepsen import log as fjlog
    from flink_jepsen.nodes.cluster import Cluster
    from flink_jepsen.nodes.local import LocalNodes
    from flink_jepsen.systems.kafka import Kafka

    fjlog.setup("warn")
    local = LocalNodes(prefix=args.prefix)
    nodes = local.up(3, args.subnet)
    kafka = None
    results: list[Result] = []
    try:
        cluster = Cluster(nodes, local.remotes("netns"), True, home / "shared")
        cluster.on(nodes, "mkdir -p " + " ".join(n.path(d) for n in nodes
                                                for d in ("run", "log", "tmp", "data")))
        kafka = Kafka(cluster)
        kafka.install()
        kafka.start()
        kafka.wait_ready(180)
        if args.warmup > 0:
            for kind in KINDS:
                run_one(kind, f"warmup-{kind}", kafka, home,
                        argparse.Namespace(**{**vars(args), "seconds": args.warmup / 2}))
        for round_ in range(args.rounds):
            for kind in KINDS if round_ % 2 == 0 else reversed(KINDS):
                r = run_one(kind, f"bench-{kind}-{round_}", kafka, home, args)
                results.append(r)
                print(f"round {round_ + 1} {kind:6}: {r.sent:,} sent, {r.acked:,} acknowledged "
                      f"in {r.elapsed:.1f} s = {r.rate:,.0f} records/s; history {r.ops:,} ops; "
                      f"{'; '.join(r.problems) or 'history checked'}", flush=True)
    finally:
        if kafka is not None:
            kafka.stop()
        local.down()
    rates = {k: [r.rate for r in results if r.kind == k] for k in KINDS}
    best = {k: max(v) for k, v in rates.items()}
    median = {k: statistics.median(v) for k, v in rates.items()}
    print(f"asked for {args.rate:,.0f} records/s each, {args.seconds:g} s, {args.keys} keys, "
          f"{args.rounds} rounds")
    for k in reversed(KINDS):
        print(f"{k:6} producer: best {best[k]:,.0f} acknowledged/s, median {median[k]:,.0f}")
    print(f"ratio core/python: best {best['core'] / best['python']:.2f}x, "
          f"median {median['core'] / median['python']:.2f}x")
    bad = [r for r in results if r.problems]
    if bad:
        print(f"{len(bad)} histories failed the check", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
