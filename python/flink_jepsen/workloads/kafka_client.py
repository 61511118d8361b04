"""The harness's side of the exactly-once workload, over Kafka's protocol (librdkafka through
confluent-kafka): admin calls, the producer of sequenced records and the read_committed drain of
the results. Both record what they saw in the history, Jepsen's way: the producer's ops are
batches of records whose completion says whether Kafka acknowledged them (`ok`) or the outcome
is unknown (`info`); the drain's ops are the output records in the order they were read.

Record formats (shared with jobs/exactly-once): input key = the key as text, value
"id,key,seq" (seq numbers one key's records 0, 1, 2... in send order); output value
"id,key,seq,count,prev_seq" (count and prev_seq are the job's keyed state after the record)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from flink_jepsen.errors import SetupError

log = logging.getLogger("flink_jepsen.kafka")

# History process numbers: the availability poller numbers its clients from 0 (one per job), so
# the Kafka clients live far above it.
PRODUCER_PROCESS_BASE = 1000
DRAIN_PROCESS = 999
BATCH_RECORDS = 1000   # records per history op at most
BATCH_SECONDS = 0.1    # and a batch's op is opened at most this long


def _quiet(conf: dict) -> dict:
    """librdkafka logs every broker disconnect; during a fault that is noise, not news."""
    return {"log_level": 3, "logger": logging.getLogger("flink_jepsen.kafka.librdkafka"), **conf}


def registered_brokers(bootstrap: str, timeout: float = 5.0) -> set[str]:
    """The hosts of the brokers in the cluster's metadata (a broker is there once it has
    registered with the controllers)."""
    admin = AdminClient(_quiet({"bootstrap.servers": bootstrap}))
    md = admin.list_topics(timeout=timeout)
    return {b.host for b in md.brokers.values()}


def create_topics(bootstrap: str, topics: list[str], partitions: int, replication: int,
                  min_isr: int, timeout: float = 60.0) -> None:
    admin = AdminClient(_quiet({"bootstrap.servers": bootstrap}))
    new = [NewTopic(t, num_partitions=partitions, replication_factor=replication,
                    config={"min.insync.replicas": str(min_isr)}) for t in topics]
    for topic, fut in admin.create_topics(new, request_timeout=timeout).items():
        try:
            fut.result(timeout)
        except KafkaException as e:
            if e.args and e.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise SetupError(f"creating Kafka topic {topic} at {bootstrap} failed: {e}") from e


def topic_size(bootstrap: str, topic: str, timeout: float = 30.0) -> int:
    """How many records the topic's partitions hold (high minus low watermark, summed): for a
    topic only a non-transactional producer wrote, the records it got acknowledged."""
    consumer = Consumer(_quiet({"bootstrap.servers": bootstrap,
                                "group.id": f"flink-jepsen-size-{time.time_ns()}"}))
    try:
        md = consumer.list_topics(topic, timeout=timeout)
        if topic not in md.topics or md.topics[topic].error is not None:
            raise SetupError(f"no Kafka topic {topic} at {bootstrap}: "
                             f"{md.topics.get(topic) and md.topics[topic].error}")
        total = 0
        for p in md.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            total += high - low
        return total
    finally:
        consumer.close()


@dataclass
class _Batch:
    process: int
    records: list[list[int]]
    acked: list[list[int]] = field(default_factory=list)
    failed: list[tuple[list[int], str]] = field(default_factory=list)
    closed: bool = False

    def settled(self) -> bool:
        return self.closed and len(self.acked) + len(self.failed) == len(self.records)


class SequencedProducer:
    """Writes records with unique ids and per-key sequence numbers at a steady rate, in a thread,
    until stopped; every record ends up in exactly one completed op of the history."""

    def __init__(self, bootstrap: str, topic: str, history, keys: int = 16, rate: float = 500,
                 delivery_timeout_s: float = 30.0) -> None:
        self.topic, self.history, self.keys, self.rate = topic, history, keys, rate
        self.producer = Producer(_quiet({
            "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
            "linger.ms": 5, "message.timeout.ms": int(delivery_timeout_s * 1000)}))
        self.delivery_timeout_s = delivery_timeout_s
        self.next_id = 0
        self.seqs = [0] * keys
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kafka-producer", daemon=True)
        self.lock = threading.Lock()
        self.open: list[_Batch] = []
        self.free_processes: list[int] = []
        self.processes = 0
        self.sent = self.acked = self.unknown = 0
        self.error: BaseException | None = None

    # batches ---------------------------------------------------------------------------------
    def _process(self) -> int:
        """Jepsen's rule: a process has one op in flight; a new batch takes a free one."""
        if self.free_processes:
            return self.free_processes.pop()
        self.processes += 1
        return PRODUCER_PROCESS_BASE + self.processes - 1

    def _new_batch(self) -> _Batch:
        b = _Batch(self._process(), [])
        self.open.append(b)
        return b

    def _complete(self, b: _Batch) -> None:
        """Records the batch's completion: ok with what Kafka acknowledged; what failed follows
        as an op of its own (invoke, then info: a failed send may still have been written)."""
        self.open.remove(b)
        error = b.failed[0][1] if b.failed else ""
        if b.acked:
            self.history.record(b.process, "ok", "send", b.acked)
            if b.failed:
                self.history.record(b.process, "invoke", "send", [r for r, _ in b.failed])
        if b.failed or not b.acked:
            self.history.record(b.process, "info", "send", [r for r, _ in b.failed] or b.records,
                                {"error": error or "no delivery report"})
        self.acked += len(b.acked)
        self.unknown += len(b.records) - len(b.acked)
        self.free_processes.append(b.process)

    def _on_delivery(self, b: _Batch, rec: list[int]):
        def report(err, _msg) -> None:
            with self.lock:
                if err is None:
                    b.acked.append(rec)
                else:
                    b.failed.append((rec, str(err)))
                if b.settled():
                    self._complete(b)
        return report

    def _close(self, b: _Batch) -> None:
        """No more records go into b: its invoke is recorded (before any completion can be)."""
        with self.lock:
            b.closed = True
            if b.settled():
                self._complete(b)

    # the loop --------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._produce()
        except BaseException as e:  # noqa: BLE001 - reported by the runner
            self.error = e
            log.exception("the producer crashed")

    def _produce(self) -> None:
        started = time.monotonic()
        while not self.stop_event.is_set():
            with self.lock:
                batch = self._new_batch()
            opened = time.monotonic()
            pending: list[list[int]] = []
            while (len(pending) < BATCH_RECORDS and time.monotonic() - opened < BATCH_SECONDS
                   and not self.stop_event.is_set()):
                due = int((time.monotonic() - started) * self.rate) - self.next_id
                for _ in range(min(due, BATCH_RECORDS - len(pending))):
                    key = self.next_id % self.keys
                    pending.append([self.next_id, key, self.seqs[key]])
                    self.seqs[key] += 1
                    self.next_id += 1
                if due <= 0:
                    time.sleep(min(0.005, 1.0 / self.rate))
            if not pending:  # stopped before anything was due: no op at all
                with self.lock:
                    self.open.remove(batch)
                    self.free_processes.append(batch.process)
                continue
            batch.records = pending
            self.history.record(batch.process, "invoke", "send", pending)
            for rec in pending:
                self._send(batch, rec)
            self.sent += len(pending)
            self._close(batch)
            self.producer.poll(0)

    def _send(self, batch: _Batch, rec: list[int]) -> None:
        value = f"{rec[0]},{rec[1]},{rec[2]}".encode()
        while True:
            try:
                self.producer.produce(self.topic, value, str(rec[1]).encode(),
                                      on_delivery=self._on_delivery(batch, rec))
                return
            except BufferError:  # the client's queue is full: let it deliver first
                self.producer.poll(0.05)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stops producing and waits for the delivery reports of everything sent; a record
        without one by then is recorded as unknown."""
        self.stop_event.set()
        self.thread.join(timeout=60)
        self.producer.flush(self.delivery_timeout_s + 5)
        with self.lock:
            for b in list(self.open):
                b.closed = True
                seen = {id(r) for r in b.acked} | {id(r) for r, _ in b.failed}
                b.failed += [(r, "no delivery report") for r in b.records if id(r) not in seen]
                self._complete(b)
        log.info("producer: %d records sent, %d acknowledged, %d unknown", self.sent,
                 self.acked, self.unknown)


def parse_output(value: bytes) -> list[int] | None:
    try:
        fields = [int(x) for x in value.decode().split(",")]
    except (UnicodeDecodeError, ValueError):
        return None
    return fields if len(fields) == 5 else None


def drain(bootstrap: str, topic: str, history, expect: int, quiet_s: float = 20.0,
          timeout_s: float = 300.0, poll_records: int = BATCH_RECORDS) -> int:
    """Reads the output topic from its beginning with isolation.level read_committed until
    `expect` distinct ids were seen and nothing new came for a few seconds, or nothing new came
    for quiet_s, or timeout_s passed. Returns the number of records read."""
    consumer = Consumer(_quiet({
        "bootstrap.servers": bootstrap, "group.id": f"flink-jepsen-drain-{time.time_ns()}",
        "isolation.level": "read_committed", "enable.auto.commit": False,
        "auto.offset.reset": "earliest", "enable.partition.eof": False}))
    try:
        md = consumer.list_topics(topic, timeout=30)
        if topic not in md.topics or md.topics[topic].error is not None:
            raise SetupError(f"cannot drain Kafka topic {topic} at {bootstrap}: "
                             f"{md.topics.get(topic) and md.topics[topic].error}")
        consumer.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
        seen: set[int] = set()
        read = 0
        started = last_new = time.monotonic()
        while True:
            now = time.monotonic()
            done_wait = 3.0 if len(seen) >= expect else quiet_s
            if now - last_new >= done_wait or now - started >= timeout_s:
                break
            msgs = consumer.consume(poll_records, timeout=0.5)
            batch = []
            for m in msgs:
                if m.error() is not None:
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("drain: %s", m.error())
                    continue
                rec = parse_output(m.value() or b"")
                if rec is None:
                    history.record(DRAIN_PROCESS, "invoke", "poll", None)
                    history.record(DRAIN_PROCESS, "fail", "poll", None, {
                        "error": f"unparseable output record at partition {m.partition()} "
                                 f"offset {m.offset()}: {m.value()!r}"})
                    continue
                batch.append(rec)
                seen.add(rec[0])
            if batch:
                history.record(DRAIN_PROCESS, "invoke", "poll", None)
                history.record(DRAIN_PROCESS, "ok", "poll", batch)
                read += len(batch)
                last_new = time.monotonic()
        log.info("drain: %d output records read (%d distinct ids; %d acknowledged inputs)",
                 read, len(seen), expect)
        return read
    finally:
        consumer.close()
