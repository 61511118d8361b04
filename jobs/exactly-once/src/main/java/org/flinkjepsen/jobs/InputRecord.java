package org.flinkjepsen.jobs;

import java.nio.charset.StandardCharsets;

/**
 * One input record as the harness writes it: value "id,key,seq" (decimal integers), where seq
 * numbers the key's records. A Flink POJO (public fields, no-arg constructor), so it is
 * serialized without Kryo.
 */
public class InputRecord {
    public long id;
    public long key;
    public long seq;

    public InputRecord() {}

    InputRecord(long id, long key, long seq) {
        this.id = id;
        this.key = key;
        this.seq = seq;
    }

    /**
     * Parses a record's value; {@code kafkaKey} (may be null) must then be the key field as
     * text. Throws {@link IllegalArgumentException} saying what is wrong.
     */
    static InputRecord parse(byte[] kafkaKey, byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("value is null (expected \"id,key,seq\")");
        }
        String text = new String(value, StandardCharsets.UTF_8);
        String[] fields = text.split(",", -1);
        if (fields.length != 3) {
            throw new IllegalArgumentException(
                    "value '" + text + "' has " + fields.length + " fields (expected \"id,key,seq\")");
        }
        InputRecord r =
                new InputRecord(
                        field(text, "id", fields[0]),
                        field(text, "key", fields[1]),
                        field(text, "seq", fields[2]));
        if (kafkaKey != null) {
            String k = new String(kafkaKey, StandardCharsets.UTF_8);
            if (!k.equals(Long.toString(r.key))) {
                // The key decides the partition, and so the order the job sees a key's records in.
                throw new IllegalArgumentException(
                        "Kafka key '" + k + "' is not the key field of value '" + text + "'");
            }
        }
        return r;
    }

    private static long field(String text, String name, String field) {
        try {
            return Long.parseLong(field);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "field " + name + " of value '" + text + "' is not a decimal integer");
        }
    }

    @Override
    public String toString() {
        return id + "," + key + "," + seq;
    }
}
