package org.flinkjepsen.jobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * The APIs of Flink 1.20 and 2.x that older releases lack (FLIP-27 DataGeneratorSource, sink v2,
 * open(OpenContext), TaskInfo, org.apache.flink.core.execution.CheckpointingMode). Its twin in
 * src/legacy/java has the same members for 1.13 to 1.19; the pom's profiles pick one
 * (-Dflink.api=legacy, set by build.sh).
 */
final class Compat {

    private Compat() {}

    /** The replayable sequence source at parallelism 1, named and with a fixed uid. */
    static SingleOutputStreamOperator<Tuple2<Integer, Long>> sequenceSource(
            StreamExecutionEnvironment env,
            AllroundJob.SequenceGenerator generator,
            long maxRecords,
            double rate,
            TypeInformation<Tuple2<Integer, Long>> type) {
        GeneratorFunction<Long, Tuple2<Integer, Long>> fn = generator::at;
        DataGeneratorSource<Tuple2<Integer, Long>> source =
                new DataGeneratorSource<>(
                        fn,
                        maxRecords,
                        rate > 0 ? RateLimiterStrategy.perSecond(rate) : RateLimiterStrategy.noOp(),
                        type);
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), "sequence-source", type);
    }

    /** Ends the stream in a sink that drops every record. */
    static void discard(DataStream<Tuple2<Integer, Long>> stream) {
        stream.sinkTo(new DiscardingSink<>()).uid("discarding-sink").name("discarding-sink");
    }

    static void enableCheckpointing(StreamExecutionEnvironment env, long interval, boolean exactlyOnce) {
        env.enableCheckpointing(
                interval, exactlyOnce ? CheckpointingMode.EXACTLY_ONCE : CheckpointingMode.AT_LEAST_ONCE);
    }

    /** Hands the job's settings to the environment (their keys are 1.20/2.x names). */
    static void configure(StreamExecutionEnvironment env, Configuration conf) {
        env.configure(conf);
    }

    /** A KeyedProcessFunction whose set-up runs on open, whatever open's signature. */
    abstract static class OpeningKeyedProcessFunction<K, I, O> extends KeyedProcessFunction<K, I, O> {
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
