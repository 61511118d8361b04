package org.flinkjepsen.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

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
 * <p>Only APIs present in both Flink 1.20 and 2.x are used (FLIP-27 source, sink v2,
 * org.apache.flink.core.execution.CheckpointingMode, open(OpenContext)); arguments are parsed
 * here because ParameterTool moved packages in 2.0.
 */
public final class AllroundJob {

    private static final Logger LOG = LoggerFactory.getLogger(AllroundJob.class);

    private static final Set<String> KNOWN_ARGS =
            new HashSet<>(
                    Arrays.asList(
                            "parallelism",
                            "keys",
                            "rate",
                            "max-records",
                            "checkpoint-interval",
                            "checkpointing-mode",
                            "restart-attempts",
                            "job-name",
                            "payload-bytes",
                            // Hidden, for testing the checker: key 0 skips one seq from index N.
                            "inject-gap-at"));

    private AllroundJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> params = parseArgs(args);

        int keys = intArg(params, "keys", 100);
        double rate = Double.parseDouble(params.getOrDefault("rate", "1000"));
        long maxRecords = longArg(params, "max-records", Long.MAX_VALUE);
        long checkpointInterval = longArg(params, "checkpoint-interval", 1000L);
        String modeArg = params.getOrDefault("checkpointing-mode", "exactly_once");
        String jobName = params.getOrDefault("job-name", "flink-jepsen-allround");
        int payloadBytes = intArg(params, "payload-bytes", 0);
        long injectGapAt = longArg(params, "inject-gap-at", -1L);
        if (keys < 1) {
            throw new IllegalArgumentException("--keys must be >= 1");
        }
        if (maxRecords < 1) {
            throw new IllegalArgumentException("--max-records must be >= 1");
        }
        CheckpointingMode mode;
        switch (modeArg.toLowerCase().replace('-', '_')) {
            case "exactly_once":
                mode = CheckpointingMode.EXACTLY_ONCE;
                break;
            case "at_least_once":
                mode = CheckpointingMode.AT_LEAST_ONCE;
                break;
            default:
                throw new IllegalArgumentException(
                        "--checkpointing-mode must be exactly_once or at_least_once, got "
                                + modeArg);
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // DataGeneratorSource always reports itself BOUNDED; keep streaming (checkpointed)
        // execution even if the cluster sets execution.runtime-mode: AUTOMATIC.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        if (params.containsKey("parallelism")) {
            env.setParallelism(intArg(params, "parallelism", 1));
        }
        env.enableCheckpointing(checkpointInterval, mode);
        if (params.containsKey("restart-attempts")) {
            // Otherwise the cluster's restart strategy applies. Plain keys: the
            // RestartStrategies API is gone in 2.x, these keys work in 1.20 and 2.x.
            Configuration conf = new Configuration();
            conf.setString("restart-strategy.type", "fixed-delay");
            conf.setString(
                    "restart-strategy.fixed-delay.attempts",
                    String.valueOf(intArg(params, "restart-attempts", Integer.MAX_VALUE)));
            conf.setString("restart-strategy.fixed-delay.delay", "1 s");
            env.configure(conf);
        }

        TypeInformation<Tuple2<Integer, Long>> type = Types.TUPLE(Types.INT, Types.LONG);
        DataGeneratorSource<Tuple2<Integer, Long>> source =
                new DataGeneratorSource<>(
                        new SequenceGenerator(keys, injectGapAt),
                        maxRecords,
                        rate > 0 ? RateLimiterStrategy.perSecond(rate) : RateLimiterStrategy.noOp(),
                        type);

        DataStream<Tuple2<Integer, Long>> records =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "sequence-source", type)
                        .uid("sequence-source")
                        // One source subtask: a key's sequence comes from one ordered stream.
                        .setParallelism(1);

        records.keyBy(r -> r.f0, Types.INT)
                .process(new SequenceChecker(payloadBytes))
                .uid("sequence-checker")
                .name("sequence-checker")
                .sinkTo(new DiscardingSink<>())
                .uid("discarding-sink")
                .name("discarding-sink");

        LOG.info(
                "Submitting {}: keys={} rate={} maxRecords={} checkpointInterval={} mode={}"
                        + " payloadBytes={} injectGapAt={}",
                jobName,
                keys,
                rate,
                maxRecords,
                checkpointInterval,
                mode,
                payloadBytes,
                injectGapAt);
        env.execute(jobName);
    }

    /** Record i -> (i % keys, i / keys); optionally skips one seq of key 0 from index N on. */
    static final class SequenceGenerator implements GeneratorFunction<Long, Tuple2<Integer, Long>> {
        private static final long serialVersionUID = 1L;
        private final int keys;
        private final long injectGapAt;

        SequenceGenerator(int keys, long injectGapAt) {
            this.keys = keys;
            this.injectGapAt = injectGapAt;
        }

        @Override
        public Tuple2<Integer, Long> map(Long index) {
            long i = index;
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
            extends KeyedProcessFunction<Integer, Tuple2<Integer, Long>, Tuple2<Integer, Long>> {
        private static final long serialVersionUID = 1L;
        private final int payloadBytes;
        private transient ValueState<Long> lastSeq;
        private transient ValueState<byte[]> payload;
        private transient Counter checked;

        SequenceChecker(int payloadBytes) {
            this.payloadBytes = payloadBytes;
        }

        @Override
        public void open(OpenContext openContext) {
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
                    getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                    getRuntimeContext().getTaskInfo().getAttemptNumber());
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

    // ---- argument parsing (ParameterTool changed packages between 1.20 and 2.x) ----

    static Map<String, String> parseArgs(String[] args) {
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("unexpected argument: " + a);
            }
            String name = a.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                value = args[++i];
            } else {
                throw new IllegalArgumentException("missing value for --" + name);
            }
            if (!KNOWN_ARGS.contains(name)) {
                throw new IllegalArgumentException(
                        "unknown argument --" + name + "; known: " + KNOWN_ARGS);
            }
            params.put(name, value);
        }
        return params;
    }

    private static int intArg(Map<String, String> params, String name, int dflt) {
        String v = params.get(name);
        return v == null ? dflt : Integer.parseInt(v.trim());
    }

    private static long longArg(Map<String, String> params, String name, long dflt) {
        String v = params.get(name);
        return v == null ? dflt : Long.parseLong(v.trim());
    }
}
