#!/usr/bin/env python3
"""Benchmark: the exactly-once workload's producer (librdkafka through confluent-kafka, idempotent,
acks=all) against three real Kafka brokers on local nodes, with every record's outcome recorded
in a history. Prints records sent, acknowledged per second, and the history's size.

Needs root (it brings up 3 local nodes under a private prefix and removes them afterwards).

    .venv/bin/python bin/bench-producer.py [--seconds 20] [--rate 200000]   (after bin/install.sh)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=200_000.0, help="records/s asked for")
    ap.add_argument("--keys", type=int, default=64)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="fj-bench-")
    os.environ.update({"FLINK_JEPSEN_HOME": home, "FLINK_JEPSEN_PREFIX": "fjp"})
    os.environ.setdefault("FLINK_JEPSEN_CACHE", "/var/lib/flink-jepsen/cache")
    from flink_jepsen import _core
    from flink_jepsen import log as fjlog
    from flink_jepsen.nodes.cluster import Cluster
    from flink_jepsen.nodes.local import LocalNodes
    from flink_jepsen.systems.kafka import Kafka
    from flink_jepsen.workloads.kafka_client import SequencedProducer

    fjlog.setup("warn")
    local = LocalNodes()
    nodes = local.up(3, "10.213.13.0/24")
    kafka = None
    try:
        cluster = Cluster(nodes, local.remotes("netns"), True, Path(home) / "shared")
        cluster.on(nodes, "mkdir -p " + " ".join(n.path(d) for n in nodes
                                                for d in ("run", "log", "tmp", "data")))
        kafka = Kafka(cluster)
        kafka.install()
        kafka.start()
        kafka.wait_ready(180)
        kafka.create_topics(["bench"], 4)
        history_path = Path(home) / "history.jsonl"
        history = _core.HistoryRecorder(str(history_path))
        producer = SequencedProducer(kafka.bootstrap_servers(), "bench", history,
                                     keys=args.keys, rate=args.rate)
        started = time.perf_counter()
        producer.start()
        time.sleep(args.seconds)
        producer.stop()
        elapsed = time.perf_counter() - started
        history.close()
        print(f"producer: {producer.sent} records sent in {elapsed:.1f} s "
              f"(asked for {args.rate:.0f}/s): {producer.acked / elapsed:,.0f} acknowledged/s, "
              f"{producer.unknown} unknown; history {len(history)} ops, "
              f"{history_path.stat().st_size / 1e6:.1f} MB")
    finally:
        if kafka is not None:
            kafka.stop()
        local.down()


if __name__ == "__main__":
    main()
