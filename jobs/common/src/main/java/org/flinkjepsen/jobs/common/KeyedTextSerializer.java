package org.flinkjepsen.jobs.common;

import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;

import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/**
 * (key, text) -> a Kafka record with the key as decimal text and the text as value. No
 * partition is set, so Kafka's partitioner hashes the key: all of a key's records go to one
 * partition, in the order they were written.
 */
public final class KeyedTextSerializer
        implements KafkaRecordSerializationSchema<Tuple2<Long, String>> {
    private static final long serialVersionUID = 1L;
    private final String topic;

    public KeyedTextSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            Tuple2<Long, String> element, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(
                topic,
                Long.toString(element.f0).getBytes(StandardCharsets.UTF_8),
                element.f1.getBytes(StandardCharsets.UTF_8));
    }
}
