package org.flinkjepsen.jobs;

import java.nio.charset.StandardCharsets;

/**
 * One event of one address, as written to Kafka: key = address (decimal text), value
 * "address,EVENT,intent" where intent is "valid" or "invalid": whether the generator meant the
 * transition to be valid. The state machine job does not need the intent to find invalid
 * transitions; it uses it to tell the generator's deliberate ones from those that only appear
 * because state or events were lost or duplicated on the way. A Flink POJO.
 */
public class SessionEvent {
    public long address;
    public Sessions.Event event;
    public boolean intendedInvalid;

    public SessionEvent() {}

    SessionEvent(long address, Sessions.Event event, boolean intendedInvalid) {
        this.address = address;
        this.event = event;
        this.intendedInvalid = intendedInvalid;
    }

    String toText() {
        return address + "," + event.name() + "," + (intendedInvalid ? "invalid" : "valid");
    }

    /** Parses a record's value; throws {@link IllegalArgumentException} saying what is wrong. */
    static SessionEvent parse(byte[] kafkaKey, byte[] value) {
        if (value == null) {
            throw new IllegalArgumentException("value is null (expected \"address,EVENT,intent\")");
        }
        String text = new String(value, StandardCharsets.UTF_8);
        String[] f = text.split(",", -1);
        if (f.length != 3) {
            throw new IllegalArgumentException(
                    "value '" + text + "' has " + f.length + " fields (expected \"address,EVENT,intent\")");
        }
        long address;
        try {
            address = Long.parseLong(f[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "address of value '" + text + "' is not a decimal integer");
        }
        Sessions.Event event;
        try {
            event = Sessions.Event.valueOf(f[1]);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown event in value '" + text + "'");
        }
        boolean invalid;
        if ("invalid".equals(f[2])) {
            invalid = true;
        } else if ("valid".equals(f[2])) {
            invalid = false;
        } else {
            throw new IllegalArgumentException(
                    "intent of value '" + text + "' is neither valid nor invalid");
        }
        if (kafkaKey != null && !new String(kafkaKey, StandardCharsets.UTF_8).equals(f[0])) {
            // The key decides the partition, and so that an address's events stay in order.
            throw new IllegalArgumentException(
                    "Kafka key '"
                            + new String(kafkaKey, StandardCharsets.UTF_8)
                            + "' is not the address of value '"
                            + text
                            + "'");
        }
        return new SessionEvent(address, event, invalid);
    }

    @Override
    public String toString() {
        return toText();
    }
}
