"""The exactly-once workload's producers against three real Kafka brokers on local nodes: every
record sent is in exactly one completion of the history, the acknowledged ones are exactly what
the topic holds, and records that cannot be written (a topic that does not exist) end as `fail`
or `info`, never `ok` and never missing. Both producers run, so the C++ one is held to what the
Python one does."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from flink_jepsen import _core
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.systems.kafka import Kafka
from flink_jepsen.workloads.kafka_producer import sequenced_producer


def test_a_bad_producer_setting_is_named(tmp_path: Path) -> None:
    history = _core.HistoryRecorder(str(tmp_path / "h.jsonl"))
    with pytest.raises(ValueError, match="keys must be at least 1, got 0"):
        _core.KafkaProducer("127.0.0.1:1", "fj-input", history, keys=0)
    with pytest.raises(ValueError, match="topic 'a b' has ' '"):
        _core.KafkaProducer("127.0.0.1:1", "a b", history)
    with pytest.raises(ValueError, match="property 'acks' is the producer's own"):
        _core.KafkaProducer("127.0.0.1:1", "fj-input", history, properties={"acks": "1"})
    with pytest.raises(ValueError, match="unknown Kafka producer 'java'"):
        sequenced_producer("java", "127.0.0.1:1", "fj-input", history, keys=1, rate=1)
    history.close()


@pytest.fixture(scope="module")
def kafka(local_nodes, fj_home: Path):
    nodes = local_nodes.nodes()[:3]
    cluster = Cluster(nodes, local_nodes.remotes("netns"), True, fj_home / "shared")
    cluster.on(nodes, "mkdir -p " + " ".join(n.path(d) for n in nodes
                                            for d in ("run", "log", "tmp", "data")))
    k = Kafka(cluster)
    k.install()
    k.start()
    try:
        k.wait_ready(180)
        yield k
    finally:
        k.stop()


def completions(history: Path) -> tuple[set[int], dict[str, list[list[int]]]]:
    """The ids of the send invokes (a batch's, and those that open a second completion of some
    of its records), and the records of each kind of send completion."""
    invoked: set[int] = set()
    done: dict[str, list[list[int]]] = {"ok": [], "fail": [], "info": []}
    for line in history.read_text().splitlines():
        op = json.loads(line)
        if op["f"] != "send":
            continue
        if op["type"] == "invoke":
            invoked.update(r[0] for r in op["value"])
        else:
            done[op["type"]] += op["value"]
    return invoked, done


def topic_records(bootstrap: str, topic: str) -> list[list[int]]:
    """Every record the topic holds, as [id, key, seq] from its value (checked against its key)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"fj-test-{time.time_ns()}",
                  "enable.auto.commit": False, "log_level": 3})
    try:
        parts = c.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in parts}
        c.assign([TopicPartition(topic, p, 0) for p in parts])
        got: list[list[int]] = []
        read = Counter()
        deadline = time.monotonic() + 60
        while any(read[p] < ends[p] for p in parts) and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.5):
                assert m.error() is None, m.error()
                rec = [int(x) for x in m.value().decode().split(",")]
                assert m.key() == str(rec[1]).encode()
                got.append(rec)
                read[m.partition()] += 1
        assert all(read[p] == ends[p] for p in parts), (read, ends)
        return got
    finally:
        c.close()


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["core", "python"])
def test_every_record_sent_has_one_outcome_and_the_acknowledged_are_in_the_topic(
        kafka, tmp_path: Path, kind: str) -> None:
    topic = f"producer-{kind}"
    kafka.create_topics([topic], 4)
    path = tmp_path / "history.jsonl"
    history = _core.HistoryRecorder(str(path))
    producer = sequenced_producer(kind, kafka.bootstrap_servers(), topic, history, keys=8,
                                  rate=5000)
    producer.start()
    time.sleep(4)
    producer.stop()
    history.close()
    assert producer.error is None
    invoked, done = completions(path)
    ended = Counter(r[0] for rs in done.values() for r in rs)
    assert producer.sent > 5000
    assert invoked == set(range(producer.sent)), "an id skipped, or one not invoked"
    assert ended == Counter(invoked), "a record without exactly one outcome"
    assert len(done["ok"]) == producer.acked == producer.sent  # healthy brokers take them all
    held = topic_records(kafka.bootstrap_servers(), topic)
    assert sorted(map(tuple, held)) == sorted(map(tuple, done["ok"]))
    # per key, seq numbers 0, 1, 2 ... in id order, in the topic's order within the key
    by_key: dict[int, list[int]] = {}
    for rec in sorted(held):
        by_key.setdefault(rec[1], []).append(rec[2])
    assert all(seqs == list(range(len(seqs))) for seqs in by_key.values())


@pytest.mark.integration
def test_records_that_cannot_be_written_end_unacknowledged(kafka, tmp_path: Path) -> None:
    # The brokers do not create topics on demand: nothing sent here can be written, and every
    # record must still end in the history, as fail (never sent) or info.
    path = tmp_path / "history.jsonl"
    history = _core.HistoryRecorder(str(path))
    producer = _core.KafkaProducer(kafka.bootstrap_servers(), "no-such-topic", history, keys=4,
                                   rate=1000, delivery_timeout_s=2.0)
    producer.start()
    time.sleep(1)
    producer.stop()
    history.close()
    invoked, done = completions(path)
    assert producer.sent > 100 and producer.acked == 0 and not done["ok"]
    assert producer.not_written + producer.unknown == producer.sent
    ended = Counter(r[0] for rs in done.values() for r in rs)
    assert invoked == set(range(producer.sent)) and ended == Counter(invoked)
    assert done["fail"], "records never sent are recorded as not written"
