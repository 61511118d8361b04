"""What runs against the systems and records ops: Flink jobs polled, Kafka records sent and read."""
