package org.flinkjepsen.jobs;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.CheckpointingMode;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.SourceFunction;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The same members as src/modern/java's Compat, for Flink 1.13 to 1.19: those releases have
 * neither DataGeneratorSource everywhere (1.17 on) nor open(OpenContext) (1.19 on) nor
 * org.apache.flink.core.execution.CheckpointingMode (1.20 on), so the source is a checkpointed
 * SourceFunction with the same replay behaviour (its next index is its only state, emitted and
 * advanced under the checkpoint lock) and the sink the old DiscardingSink.
 */
final class Compat {

    private Compat() {}

    static SingleOutputStreamOperator<Tuple2<Integer, Long>> sequenceSource(
            StreamExecutionEnvironment env,
            AllroundJob.SequenceGenerator generator,
            long maxRecords,
            double rate,
            TypeInformation<Tuple2<Integer, Long>> type) {
        return env.addSource(new SequenceSource(generator, maxRecords, rate), "sequence-source", type);
    }

    static void discard(DataStream<Tuple2<Integer, Long>> stream) {
        stream.addSink(new DiscardingSink<>()).uid("discarding-sink").name("discarding-sink");
    }

    static void enableCheckpointing(StreamExecutionEnvironment env, long interval, boolean exactlyOnce) {
        env.enableCheckpointing(
                interval, exactlyOnce ? CheckpointingMode.EXACTLY_ONCE : CheckpointingMode.AT_LEAST_ONCE);
    }

    /**
     * The configuration with each renamed key also under the name releases before its rename
     * read (1.17 renamed restart-strategy and state.backend, 1.20 the checkpointing keys). A
     * release takes the name it knows and ignores the other; both carry the same value.
     */
    static void configure(StreamExecutionEnvironment env, Configuration conf) {
        env.configure(forThisFlink(conf), AllroundJob.class.getClassLoader());
    }

    private static Configuration forThisFlink(Configuration conf) {
        Map<String, String> older = new LinkedHashMap<>();
        older.put("restart-strategy.type", "restart-strategy");
        older.put("state.backend.type", "state.backend");
        older.put("execution.checkpointing.storage", "state.checkpoint-storage");
        older.put("execution.checkpointing.dir", "state.checkpoints.dir");
        older.put("execution.checkpointing.incremental", "state.backend.incremental");
        Configuration out = new Configuration();
        out.addAll(conf);
        for (Map.Entry<String, String> e : older.entrySet()) {
            String v = conf.toMap().get(e.getKey());
            if (v != null) {
                out.setString(e.getValue(), v);
            }
        }
        return out;
    }

    abstract static class OpeningKeyedProcessFunction<K, I, O> extends KeyedProcessFunction<K, I, O> {
        private static final long serialVersionUID = 1L;

        @Override
        public void open(Configuration parameters) {
            setUp();
        }

        protected abstract void setUp();

        protected int subtaskIndex() {
            return getRuntimeContext().getIndexOfThisSubtask();
        }

        protected int attemptNumber() {
            return getRuntimeContext().getAttemptNumber();
        }
    }

    /** Emits generator.at(i) for i = 0, 1, ... (up to maxRecords), rate-limited, replayable. */
    static final class SequenceSource
            implements SourceFunction<Tuple2<Integer, Long>>, CheckpointedFunction {
        private static final long serialVersionUID = 1L;
        private final AllroundJob.SequenceGenerator generator;
        private final long maxRecords;
        private final double rate;
        private volatile boolean running = true;
        private long next;
        private transient ListState<Long> nextState;

        SequenceSource(AllroundJob.SequenceGenerator generator, long maxRecords, double rate) {
            this.generator = generator;
            this.maxRecords = maxRecords;
            this.rate = rate;
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            nextState =
                    context.getOperatorStateStore()
                            .getListState(new ListStateDescriptor<>("next-index", Types.LONG));
            for (Long n : nextState.get()) {
                next = n;
            }
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            nextState.clear();
            nextState.add(next);
        }

        @Override
        public void run(SourceContext<Tuple2<Integer, Long>> ctx) throws Exception {
            long started = System.nanoTime();
            long emitted = 0;
            while (running && next < maxRecords) {
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(generator.at(next));
                    next++;
                }
                emitted++;
                if (rate > 0) {
                    long due = started + (long) (emitted * 1e9 / rate);
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }
}
