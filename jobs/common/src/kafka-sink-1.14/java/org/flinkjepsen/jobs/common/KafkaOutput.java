package org.flinkjepsen.jobs.common;

import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;

import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.Properties;

/**
 * The jobs' Kafka sink for Flink 1.14 and 1.15: the KafkaSink of src/kafka-sink, whose builder
 * in these releases has only setDeliverGuarantee (sic) and setKafkaProducerConfig
 * (setDeliveryGuarantee and setProperty came with 1.16, and 2.x dropped the old names).
 */
public final class KafkaOutput {

    private KafkaOutput() {}

    /** As src/kafka-sink's KafkaOutput.write. */
    public static DataStreamSink<Tuple2<Long, String>> write(
            DataStream<Tuple2<Long, String>> stream,
            String bootstrapServers,
            String topic,
            SinkGuarantee guarantee,
            String transactionalIdPrefix,
            long transactionTimeoutMs) {
        Properties producer = new Properties();
        if (guarantee == SinkGuarantee.EXACTLY_ONCE) {
            producer.setProperty("transaction.timeout.ms", Long.toString(transactionTimeoutMs));
        }
        // The producer configuration first: it replaces what the other setters put there.
        KafkaSinkBuilder<Tuple2<Long, String>> sink =
                KafkaSink.<Tuple2<Long, String>>builder()
                        .setKafkaProducerConfig(producer)
                        .setBootstrapServers(bootstrapServers)
                        .setRecordSerializer(new KeyedTextSerializer(topic))
                        .setDeliverGuarantee(DeliveryGuarantee.valueOf(guarantee.name()));
        if (guarantee == SinkGuarantee.EXACTLY_ONCE) {
            sink.setTransactionalIdPrefix(transactionalIdPrefix);
        }
        return stream.sinkTo(sink.build());
    }

    /** As src/kafka-sink's KeyedTextSerializer (here only this class uses it). */
    static final class KeyedTextSerializer
            implements KafkaRecordSerializationSchema<Tuple2<Long, String>> {
        private static final long serialVersionUID = 1L;
        private final String topic;

        KeyedTextSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                Tuple2<Long, String> element, KafkaSinkContext context, Long timestamp) {
            return KafkaRecords.keyedText(topic, element);
        }
    }
}
