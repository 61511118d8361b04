"""flink-jepsen: fault-injection tests for Apache Flink's distributed coordination."""

__version__ = "0.1.0"
