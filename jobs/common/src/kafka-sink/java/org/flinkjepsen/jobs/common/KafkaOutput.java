package org.flinkjepsen.jobs.common;

import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.sink.KafkaSinkBuilder;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;

/**
 * The jobs' Kafka sink for Flink 1.16 and later: a KafkaSink (vertices "NAME: Writer" and, with
 * transactions, "NAME: Committer"). Its twins in src/kafka-sink-1.14 (1.14, 1.15) and
 * src/kafka-producer (1.13) have the same member; the pom adds one (-Dkafka.api).
 */
public final class KafkaOutput {

    private KafkaOutput() {}

    /**
     * Writes (key, text) records to {@code topic}, keyed by the key as decimal text. With
     * EXACTLY_ONCE, in transactions named after {@code transactionalIdPrefix} and committed when
     * a checkpoint completes, each open at most {@code transactionTimeoutMs}; both are ignored
     * otherwise. The caller sets uid and name on the returned sink.
     */
    public static DataStreamSink<Tuple2<Long, String>> write(
            DataStream<Tuple2<Long, String>> stream,
            String bootstrapServers,
            String topic,
            SinkGuarantee guarantee,
            String transactionalIdPrefix,
            long transactionTimeoutMs) {
        KafkaSinkBuilder<Tuple2<Long, String>> sink =
                KafkaSink.<Tuple2<Long, String>>builder()
                        .setBootstrapServers(bootstrapServers)
                        .setRecordSerializer(new KeyedTextSerializer(topic))
                        .setDeliveryGuarantee(DeliveryGuarantee.valueOf(guarantee.name()));
        if (guarantee == SinkGuarantee.EXACTLY_ONCE) {
            sink.setTransactionalIdPrefix(transactionalIdPrefix)
                    .setProperty("transaction.timeout.ms", Long.toString(transactionTimeoutMs));
        }
        return stream.sinkTo(sink.build());
    }
}
