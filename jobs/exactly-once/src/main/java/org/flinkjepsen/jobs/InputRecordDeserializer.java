package org.flinkjepsen.jobs;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;

import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.IOException;

/**
 * Kafka record -> {@link InputRecord}. A malformed record fails the job with its topic,
 * partition and offset in the message instead of being skipped: a skipped record would look
 * exactly like the lost records the tests are looking for.
 */
final class InputRecordDeserializer implements KafkaRecordDeserializationSchema<InputRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<InputRecord> out)
            throws IOException {
        InputRecord parsed;
        try {
            parsed = InputRecord.parse(record.key(), record.value());
        } catch (IllegalArgumentException e) {
            throw new IOException(
                    "malformed input record at "
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
    public TypeInformation<InputRecord> getProducedType() {
        // Types.POJO fails at job construction if InputRecord stops being a valid POJO.
        return Types.POJO(InputRecord.class);
    }
}
