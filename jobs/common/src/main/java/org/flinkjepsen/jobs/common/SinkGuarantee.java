package org.flinkjepsen.jobs.common;

/**
 * A Kafka sink's delivery guarantee, as the jobs' arguments name it. The jobs' own type rather
 * than the connector's DeliveryGuarantee, which Flink 1.13 lacks; each KafkaOutput shim maps it
 * onto its sink (KafkaSink's DeliveryGuarantee, FlinkKafkaProducer's Semantic).
 */
public enum SinkGuarantee {
    EXACTLY_ONCE,
    AT_LEAST_ONCE,
    /** No flush on checkpoints: records may be lost. */
    NONE
}
