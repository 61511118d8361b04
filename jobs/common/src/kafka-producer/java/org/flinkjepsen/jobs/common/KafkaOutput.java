package org.flinkjepsen.jobs.common;

import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.connectors.kafka.FlinkKafkaProducer;
import org.apache.flink.streaming.connectors.kafka.KafkaSerializationSchema;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Properties;

/**
 * The jobs' Kafka sink for Flink 1.13, which has no KafkaSink: FlinkKafkaProducer, a
 * TwoPhaseCommitSinkFunction (Semantic.EXACTLY_ONCE: a Kafka transaction per checkpoint,
 * committed when the checkpoint completes, as KafkaSink does). One vertex, "Sink: NAME", chained
 * to the operator before it. Its transactional ids derive from the task name and the operator
 * uid: 1.13's producer has no setter for a prefix, so {@code transactionalIdPrefix} is unused.
 */
public final class KafkaOutput {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaOutput.class);

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
        producer.setProperty("bootstrap.servers", bootstrapServers);
        // The producer's own default (1 h) is above what brokers accept (15 min); it is set for
        // every semantic, and only transactional producers use it.
        producer.setProperty("transaction.timeout.ms", Long.toString(transactionTimeoutMs));
        FlinkKafkaProducer.Semantic semantic;
        switch (guarantee) {
            case EXACTLY_ONCE:
                semantic = FlinkKafkaProducer.Semantic.EXACTLY_ONCE;
                LOG.info(
                        "Flink 1.13's FlinkKafkaProducer names its transactions after the task and"
                                + " the operator uid, not --transactional-id-prefix ({})",
                        transactionalIdPrefix);
                break;
            case AT_LEAST_ONCE:
                semantic = FlinkKafkaProducer.Semantic.AT_LEAST_ONCE;
                break;
            default:
                semantic = FlinkKafkaProducer.Semantic.NONE;
        }
        return stream.addSink(
                new FlinkKafkaProducer<>(topic, new Serializer(topic), producer, semantic));
    }

    private static final class Serializer
            implements KafkaSerializationSchema<Tuple2<Long, String>> {
        private static final long serialVersionUID = 1L;
        private final String topic;

        Serializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(Tuple2<Long, String> element, Long timestamp) {
            return KafkaRecords.keyedText(topic, element);
        }
    }
}
