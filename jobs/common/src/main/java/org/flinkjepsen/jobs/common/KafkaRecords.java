package org.flinkjepsen.jobs.common;

import org.apache.flink.api.java.tuple.Tuple2;

import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/** The one record format every Kafka sink shim writes. */
public final class KafkaRecords {

    private KafkaRecords() {}

    /**
     * (key, text) -> a Kafka record with the key as decimal text and the text as value. No
     * partition is set, so Kafka's partitioner hashes the key: all of a key's records go to one
     * partition, in the order they were written.
     */
    public static ProducerRecord<byte[], byte[]> keyedText(String topic, Tuple2<Long, String> element) {
        return new ProducerRecord<>(
                topic,
                Long.toString(element.f0).getBytes(StandardCharsets.UTF_8),
                element.f1.getBytes(StandardCharsets.UTF_8));
    }
}
