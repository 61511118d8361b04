package org.flinkjepsen.jobs.common;

import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;

import org.apache.kafka.clients.producer.ProducerRecord;

/** KafkaSink's serializer of (key, text) records: {@link KafkaRecords#keyedText}. */
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
        return KafkaRecords.keyedText(topic, element);
    }
}
