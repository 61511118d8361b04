package org.flinkjepsen.jobs;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * A checkpointed job whose keyed state is checked on every record, in the spirit of Flink's
 * DataStreamAllroundTestProgram.
 *
 * <p>A deterministic, replayable source (DataGeneratorSource, parallelism 1) emits record i as
 * (key = i % keys, seq = i / keys). After keyBy(key), a KeyedProcessFunction keeps the last seq
 * per key in ValueState and throws {@link SequenceViolation} when a record is not exactly
 * last + 1: a gap (lost state or records) or a repeat (duplicates after recovery). The job then
 * fails and restarts from its last checkpoint, so state inconsistency shows up as unavailability.
 * Records end in a discarding sink.
 *
 * <p>What differs between Flink releases (the source, the sink, checkpointing mode, how a
 * function opens) is in {@link Compat}: src/modern/java for 1.20 and 2.x (FLIP-27 source, sink
 * v2, open(OpenContext)), src/legacy/java for 1.13 to 1.19. Arguments, including
 * DataStreamAllroundTestProgram's names as the original flink-jepsen specs pass them, are parsed
 * by {@link AllroundOptions} (ParameterTool moved packages in 2.0).
 */
public final class AllroundJob {

    private static final Logger LOG = LoggerFactory.getLogger(AllroundJob.class);

    private AllroundJob() {}

    public static void main(String[] args) throws Exception {
        AllroundOptions options = AllroundOptions.parse(args);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        options.applyTo(env);

        TypeInformation<Tuple2<Integer, Long>> type = Types.TUPLE(Types.INT, Types.LONG);
        DataStream<Tuple2<Integer, Long>> records =
                Compat.sequenceSource(
                                env,
                                new SequenceGenerator(options.keys, options.injectGapAt),
                                options.maxRecords,
                                options.rate,
                                type)
                        .uid("sequence-source")
                        // One source subtask: a key's sequence comes from one ordered stream.
                        .setParallelism(1);

        Compat.discard(
                records.keyBy(r -> r.f0, Types.INT)
                        .process(new SequenceChecker(options.payloadBytes))
                        .uid("sequence-checker")
                        .name("sequence-checker"));

        LOG.info("Submitting {}: {}", options.jobName, options);
        env.execute(options.jobName);
    }

    /** Record i -> (i % keys, i / keys); optionally skips one seq of key 0 from index N on. */
    static final class SequenceGenerator implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final int keys;
        private final long injectGapAt;

        SequenceGenerator(int keys, long injectGapAt) {
            this.keys = keys;
            this.injectGapAt = injectGapAt;
        }

        Tuple2<Integer, Long> at(long i) {
            int key = (int) (i % keys);
            long seq = i / keys;
            if (injectGapAt >= 0 && key == 0 && i >= injectGapAt) {
                seq += 1;
            }
            return Tuple2.of(key, seq);
        }
    }

    /** Checks that each key's seq runs 0, 1, 2, ... without gaps or repeats. */
    static final class SequenceChecker
            extends Compat.OpeningKeyedProcessFunction<
                    Integer, Tuple2<Integer, Long>, Tuple2<Integer, Long>> {
        private static final long serialVersionUID = 1L;
        private final int payloadBytes;
        private transient ValueState<Long> lastSeq;
        private transient ValueState<byte[]> payload;
        private transient Counter checked;

        SequenceChecker(int payloadBytes) {
            this.payloadBytes = payloadBytes;
        }

        @Override
        protected void setUp() {
            lastSeq = getRuntimeContext().getState(new ValueStateDescriptor<>("last-seq", Types.LONG));
            if (payloadBytes > 0) {
                payload =
                        getRuntimeContext()
                                .getState(
                                        new ValueStateDescriptor<>(
                                                "payload",
                                                PrimitiveArrayTypeInfo
                                                        .BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            }
            checked = getRuntimeContext().getMetricGroup().counter("sequenceRecordsChecked");
            LOG.info(
                    "sequence-checker subtask {} attempt {} opened",
                    subtaskIndex(),
                    attemptNumber());
        }

        @Override
        public void processElement(
                Tuple2<Integer, Long> record, Context ctx, Collector<Tuple2<Integer, Long>> out)
                throws Exception {
            Long last = lastSeq.value();
            long expected = last == null ? 0L : last + 1;
            long got = record.f1;
            if (got != expected) {
                throw new SequenceViolation(
                        "sequence violation: key "
                                + record.f0
                                + " expected "
                                + expected
                                + " got "
                                + got
                                + (got < expected ? " (repeat)" : " (gap)"));
            }
            if (payloadBytes > 0) {
                byte[] old = payload.value();
                if (last != null
                        && (old == null
                                || old.length != payloadBytes
                                || old[0] != (byte) (long) last)) {
                    throw new SequenceViolation(
                            "sequence violation: key "
                                    + record.f0
                                    + " payload state does not match last seq "
                                    + last);
                }
                byte[] next = new byte[payloadBytes];
                Arrays.fill(next, (byte) got);
                payload.update(next);
            }
            lastSeq.update(got);
            checked.inc();
            out.collect(record);
        }
    }

    /** Thrown on a gap or repeat in a key's sequence; fails the job. */
    public static final class SequenceViolation extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public SequenceViolation(String message) {
            super(message);
        }
    }
}
