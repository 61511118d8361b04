"""The exactly-once workload's producer, chosen by name: `core` (the C++ core's librdkafka
producer, delivery reports served and recorded in C++ without the GIL) or `python` (the
confluent-kafka client of kafka_client.py, whose per-record callbacks hold the GIL and bound it
to a fraction of what the brokers take; kept as the benchmark's peer and as a fallback). Both
write the same records and record the same ops: an invoke per batch of records and completions
that give every record one outcome."""

from __future__ import annotations

import threading

from flink_jepsen import _core

PRODUCERS = ("core", "python")


class CoreSequencedProducer:
    """The C++ producer behind SequencedProducer's interface (start, stop, stop_event, sent,
    acked, unknown, error), so the workload can use either."""

    def __init__(self, bootstrap: str, topic: str, history, keys: int = 16, rate: float = 500,
                 delivery_timeout_s: float = 30.0, properties: dict[str, str] | None = None
                 ) -> None:
        self.core = _core.KafkaProducer(bootstrap, topic, history, keys=keys, rate=rate,
                                        delivery_timeout_s=delivery_timeout_s,
                                        properties=properties or {})
        self.stop_event = threading.Event()

    def start(self) -> None:
        self.core.start()

    def stop(self) -> None:
        """Stops producing and waits for the delivery reports of everything sent (the core
        records a record without one as unknown)."""
        self.stop_event.set()
        self.core.stop()

    @property
    def sent(self) -> int:
        return self.core.sent

    @property
    def acked(self) -> int:
        return self.core.acked

    @property
    def failed(self) -> int:
        """Records Kafka definitely did not write (`fail` in the history)."""
        return self.core.not_written

    @property
    def unknown(self) -> int:
        """Records that may or may not have been written (`info` in the history)."""
        return self.core.unknown

    @property
    def error(self) -> str | None:
        return self.core.error or None


def sequenced_producer(kind: str, bootstrap: str, topic: str, history, keys: int, rate: float):
    """The producer of that kind; ValueError names an unknown kind."""
    if kind == "core":
        return CoreSequencedProducer(bootstrap, topic, history, keys=keys, rate=rate)
    if kind == "python":
        from flink_jepsen.workloads.kafka_client import SequencedProducer

        return SequencedProducer(bootstrap, topic, history, keys=keys, rate=rate)
    raise ValueError(f"unknown Kafka producer {kind!r}: choose one of {', '.join(PRODUCERS)}")
