package org.flinkjepsen.jobs.common;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamSink;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * What the Kafka jobs use of Flink that differs between releases, for 1.20 and 2.x
 * (org.apache.flink.core.execution.CheckpointingMode, open(OpenContext), TaskInfo, FLIP-27
 * DataGeneratorSource, sink v2). Its twin in src/legacy/java has the same members for 1.13 to
 * 1.19; the pom's profiles pick one (-Dflink.api=legacy, set by build.sh). Allround has its own
 * Compat along the same lines.
 */
public final class JobCompat {

    private JobCompat() {}

    public static void enableExactlyOnceCheckpoints(StreamExecutionEnvironment env, long interval) {
        env.enableCheckpointing(interval, CheckpointingMode.EXACTLY_ONCE);
    }

    /** Hands the job's settings to the environment (their keys are 1.20/2.x names). */
    public static void configure(StreamExecutionEnvironment env, Configuration conf) {
        env.configure(conf);
    }

    /**
     * Ticks 0, 1, 2, ... at {@code rate} per second (0: unthrottled), from a checkpointed source
     * that replays exactly from its checkpointed index. Named; the caller sets uid and
     * parallelism 1.
     */
    public static SingleOutputStreamOperator<Long> ticks(
            StreamExecutionEnvironment env, double rate, String name) {
        DataGeneratorSource<Long> ticks =
                new DataGeneratorSource<>(
                        (GeneratorFunction<Long, Long>) i -> i,
                        Long.MAX_VALUE,
                        rate > 0 ? RateLimiterStrategy.perSecond(rate) : RateLimiterStrategy.noOp(),
                        Types.LONG);
        return env.fromSource(ticks, WatermarkStrategy.noWatermarks(), name, Types.LONG);
    }

    /** Ends the stream in a sink that drops every record ("NAME: Writer"). */
    public static <T> DataStreamSink<T> discard(DataStream<T> stream) {
        return stream.sinkTo(new DiscardingSink<>());
    }

    /** A KeyedProcessFunction whose set-up runs on open, whatever open's signature. */
    public abstract static class OpeningKeyedProcessFunction<K, I, O>
            extends KeyedProcessFunction<K, I, O> {
        private static final long serialVersionUID = 1L;

        @Override
        public void open(OpenContext openContext) {
            setUp();
        }

        protected abstract void setUp();

        protected int subtaskIndex() {
            return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        }

        protected int attemptNumber() {
            return getRuntimeContext().getTaskInfo().getAttemptNumber();
        }
    }
}
