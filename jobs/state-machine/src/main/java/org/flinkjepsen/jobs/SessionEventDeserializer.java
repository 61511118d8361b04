package org.flinkjepsen.jobs;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.IOException;

/**
 * Kafka record -> {@link SessionEvent}. A malformed record fails the job (with topic, partition
 * and offset) rather than being skipped: a skipped event changes what counts as valid next.
 */
final class SessionEventDeserializer implements KafkaRecordDeserializationSchema<SessionEvent> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<SessionEvent> out)
            throws IOException {
        SessionEvent parsed;
        try {
            parsed = SessionEvent.parse(record.key(), record.value());
        } catch (IllegalArgumentException e) {
            throw new IOException(
                    "malformed event at "
                            + record.topic()
                            + "-"
                            + record.partition()
                            + " offset "
                            + record.offset()
                            + ": "
                            + e.getMessage(),
                    e);
        }
        out.collect(parsed);
    }

    @Override
    public TypeInformation<SessionEvent> getProducedType() {
        return Types.POJO(SessionEvent.class);
    }
}
