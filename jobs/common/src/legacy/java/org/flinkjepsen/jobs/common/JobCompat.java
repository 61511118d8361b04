package org.flinkjepsen.jobs.common;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.CheckpointingMode;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.SourceFunction;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The same members as src/modern/java's JobCompat, for Flink 1.13 to 1.19: those releases have
 * neither org.apache.flink.core.execution.CheckpointingMode (1.20 on) nor open(OpenContext)
 * (1.19 on) nor DataGeneratorSource everywhere (1.17 on, in flink-dist from 1.19), so the tick
 * source is a checkpointed SourceFunction with the same replay behaviour (its next index is its
 * only state, emitted and advanced under the checkpoint lock), and the discarding sink the old
 * SinkFunction.
 */
public final class JobCompat {

    private JobCompat() {}

    public static void enableExactlyOnceCheckpoints(StreamExecutionEnvironment env, long interval) {
        env.enableCheckpointing(interval, CheckpointingMode.EXACTLY_ONCE);
    }

    /**
     * The configuration with each renamed key also under the name releases before its rename
     * read (1.17 renamed restart-strategy, 1.20 the checkpointing keys). A release takes the
     * name it knows and ignores the other; both carry the same value.
     */
    public static void configure(StreamExecutionEnvironment env, Configuration conf) {
        Map<String, String> older = new LinkedHashMap<>();
        older.put("restart-strategy.type", "restart-strategy");
        older.put("execution.checkpointing.storage", "state.checkpoint-storage");
        older.put("execution.checkpointing.dir", "state.checkpoints.dir");
        Configuration out = new Configuration();
        out.addAll(conf);
        for (Map.Entry<String, String> e : older.entrySet()) {
            String v = conf.toMap().get(e.getKey());
            if (v != null) {
                out.setString(e.getValue(), v);
            }
        }
        env.configure(out, JobCompat.class.getClassLoader());
    }

    /** As the modern twin: "Source: NAME", a SourceFunction (so parallelism 1). */
    public static SingleOutputStreamOperator<Long> ticks(
            StreamExecutionEnvironment env, double rate, String name) {
        return env.addSource(new TickSource(rate), name, Types.LONG);
    }

    /** Ends the stream in a sink that drops every record ("Sink: NAME", chained). */
    public static <T> DataStreamSink<T> discard(DataStream<T> stream) {
        return stream.addSink(new DiscardingSink<>());
    }

    /** A KeyedProcessFunction whose set-up runs on open, whatever open's signature. */
    public abstract static class OpeningKeyedProcessFunction<K, I, O>
            extends KeyedProcessFunction<K, I, O> {
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

    /** Emits 0, 1, 2, ... rate-limited; after a failure from its checkpointed next index. */
    static final class TickSource implements SourceFunction<Long>, CheckpointedFunction {
        private static final long serialVersionUID = 1L;
        private final double rate;
        private volatile boolean running = true;
        private long next;
        private transient ListState<Long> nextState;

        TickSource(double rate) {
            this.rate = rate;
        }

        @Override
        public void initializeState(FunctionInitializationContext context) throws Exception {
            nextState =
                    context.getOperatorStateStore()
                            .getListState(new ListStateDescriptor<>("next-tick", Types.LONG));
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
        public void run(SourceContext<Long> ctx) throws Exception {
            long started = System.nanoTime();
            long emitted = 0;
            while (running) {
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(next);
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
