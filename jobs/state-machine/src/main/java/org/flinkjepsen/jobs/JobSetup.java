package org.flinkjepsen.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.flinkjepsen.jobs.common.Args;

/** The settings both state machine jobs share, from their common arguments. */
final class JobSetup {

    /** Argument names every job here takes. */
    static final String[] COMMON_ARGS = {
        "bootstrap-servers", "parallelism", "checkpoint-interval", "restart-attempts", "job-name"
    };

    final String bootstrapServers;
    final int parallelism;
    final long checkpointInterval;
    final int restartAttempts;
    final String jobName;

    JobSetup(Args args, String defaultJobName) {
        bootstrapServers = args.required("bootstrap-servers");
        parallelism = args.integer("parallelism", 2, 1);
        checkpointInterval = args.longValue("checkpoint-interval", 2000L, 10L);
        restartAttempts = args.integer("restart-attempts", Integer.MAX_VALUE, 0);
        jobName = args.string("job-name", defaultJobName);
    }

    static String[] withCommon(String... names) {
        String[] all = new String[COMMON_ARGS.length + names.length];
        System.arraycopy(COMMON_ARGS, 0, all, 0, COMMON_ARGS.length);
        System.arraycopy(names, 0, all, COMMON_ARGS.length, names.length);
        return all;
    }

    StreamExecutionEnvironment environment() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // The generator's source reports itself bounded; both jobs are meant to run forever
        // with checkpoints, whatever execution.runtime-mode the cluster sets.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        env.setParallelism(parallelism);
        // Kafka offsets, keyed state and (for exactly-once) sink transactions move together
        // with each checkpoint.
        env.enableCheckpointing(checkpointInterval, CheckpointingMode.EXACTLY_ONCE);
        // Fixed-delay restarts 1 s apart. Plain configuration keys: the RestartStrategies API
        // is gone in 2.x, these keys work in 1.20 and 2.x.
        Configuration conf = new Configuration();
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", String.valueOf(restartAttempts));
        conf.setString("restart-strategy.fixed-delay.delay", "1 s");
        env.configure(conf);
        return env;
    }

    @Override
    public String toString() {
        return "bootstrapServers="
                + bootstrapServers
                + " parallelism="
                + parallelism
                + " checkpointInterval="
                + checkpointInterval
                + " restartAttempts="
                + restartAttempts;
    }
}
