"""Kafka in and out: the harness writes sequenced records to fj-input while the faults run, the
project's exactly-once job writes one result per record to fj-output, and after recovery a
read_committed consumer reads everything back for the exactly-once checker. The jobs are polled
for availability as in every workload."""

from __future__ import annotations

from flink_jepsen.checks.exactly_once import ExactlyOnceChecker
from flink_jepsen.errors import SetupError
from flink_jepsen.workloads import Part, Workload, register
from flink_jepsen.workloads.availability import Availability
from flink_jepsen.workloads.checkpoints import CheckpointWatch

INPUT_TOPIC, OUTPUT_TOPIC = "fj-input", "fj-output"


class KafkaRecords(Part):
    name = "exactly-once"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.producer = None

    def bootstrap(self) -> str:
        return self.ctx.systems["kafka"].bootstrap_servers()

    def start(self) -> None:
        from flink_jepsen.workloads.kafka_producer import sequenced_producer

        o = self.ctx.options
        self.producer = sequenced_producer(o.producer, self.bootstrap(), INPUT_TOPIC,
                                           self.ctx.history, keys=o.keys, rate=o.producer_rate)
        self.producer.start()

    def stop(self) -> None:
        if self.producer is not None and not self.producer.stop_event.is_set():
            self.producer.stop()
            if self.producer.error is not None:
                raise SetupError(f"the Kafka producer failed: {self.producer.error}")

    def finish(self) -> None:
        """Everything the job committed, read back with read_committed."""
        from flink_jepsen.workloads.kafka_client import drain

        self.ctx.phase("drain")
        drain(self.bootstrap(), OUTPUT_TOPIC, self.ctx.history, expect=self.producer.acked)

    def close(self) -> None:
        self.stop()

    def checkers(self) -> list:
        return [ExactlyOnceChecker()]


register(Workload("exactly-once", (Availability, CheckpointWatch, KafkaRecords),
                  requires=("kafka",),
                  description="did every record arrive exactly once? (Kafka in and out)",
                  spec="exactly-once"))
