package org.flinkjepsen.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.flinkjepsen.jobs.common.Args;
import org.flinkjepsen.jobs.common.JobCompat;

import java.util.HashMap;
import java.util.Map;

/** The settings both state machine jobs share, from their common arguments. */
final class JobSetup {

    /** Argument names every job here takes. */
    static final String[] COMMON_ARGS = {
        "bootstrap-servers",
        "parallelism",
        "checkpoint-interval",
        "checkpoint-dir",
        "restart-attempts",
        "job-name"
    };

    /**
     * The original flink-jepsen state machine jobs' spellings of the common arguments
     * (standalone-session-kafka.edn: --bootstrap.servers, --checkpointInterval,
     * --checkpointDir).
     */
    static final Map<String, String> COMMON_ALIASES = new HashMap<>();

    static {
        COMMON_ALIASES.put("bootstrap.servers", "bootstrap-servers");
        COMMON_ALIASES.put("checkpointInterval", "checkpoint-interval");
        COMMON_ALIASES.put("checkpointDir", "checkpoint-dir");
    }

    final String bootstrapServers;
    final int parallelism;
    final long checkpointInterval;
    /** Checkpoint directory URI; null: the cluster's. */
    final String checkpointDir;
    final int restartAttempts;
    final String jobName;

    JobSetup(Args args, String defaultJobName) {
        bootstrapServers = args.required("bootstrap-servers");
        parallelism = args.integer("parallelism", 2, 1);
        checkpointInterval = args.longValue("checkpoint-interval", 2000L, 10L);
        checkpointDir = args.has("checkpoint-dir") ? args.required("checkpoint-dir") : null;
        restartAttempts = args.integer("restart-attempts", Integer.MAX_VALUE, 0);
        jobName = args.string("job-name", defaultJobName);
    }

    /**
     * Parses a job's arguments: the common ones and the job's own {@code names}, under their own
     * spellings, {@link #COMMON_ALIASES} and the job's own {@code aliases} (alias, canonical
     * name, alias, canonical name, ...).
     */
    static Args parse(String[] argv, String[] aliases, String... names) {
        return Args.parse(argv, withCommonAliases(aliases), withCommon(names));
    }

    private static String[] withCommon(String... names) {
        String[] all = new String[COMMON_ARGS.length + names.length];
        System.arraycopy(COMMON_ARGS, 0, all, 0, COMMON_ARGS.length);
        System.arraycopy(names, 0, all, COMMON_ARGS.length, names.length);
        return all;
    }

    /** {@link #COMMON_ALIASES} and a job's own aliases (alias -> canonical name). */
    private static Map<String, String> withCommonAliases(String... aliasThenName) {
        Map<String, String> all = new HashMap<>(COMMON_ALIASES);
        for (int i = 0; i + 1 < aliasThenName.length; i += 2) {
            all.put(aliasThenName[i], aliasThenName[i + 1]);
        }
        return all;
    }

    /**
     * What goes to the environment as configuration: the restart strategy and, if given, the
     * checkpoint directory.
     */
    Configuration configuration() {
        Configuration conf = new Configuration();
        // Fixed-delay restarts 1 s apart. Plain configuration keys: the RestartStrategies API
        // is gone in 2.x, these keys work in 1.20 and 2.x (and JobCompat.configure adds the
        // names releases before their renames read).
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", String.valueOf(restartAttempts));
        conf.setString("restart-strategy.fixed-delay.delay", "1 s");
        if (checkpointDir != null) {
            // Keys of 1.20 and 2.x; the storage is explicit so that a cluster configured with
            // jobmanager storage does not keep it.
            conf.setString("execution.checkpointing.storage", "filesystem");
            conf.setString("execution.checkpointing.dir", checkpointDir);
        }
        return conf;
    }

    StreamExecutionEnvironment environment() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // The generator's source reports itself bounded; both jobs are meant to run forever
        // with checkpoints, whatever execution.runtime-mode the cluster sets.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        env.setParallelism(parallelism);
        // Kafka offsets, keyed state and (for exactly-once) sink transactions move together
        // with each checkpoint.
        JobCompat.enableExactlyOnceCheckpoints(env, checkpointInterval);
        JobCompat.configure(env, configuration());
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
                + " checkpointDir="
                + checkpointDir
                + " restartAttempts="
                + restartAttempts;
    }
}
