package org.flinkjepsen.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.flinkjepsen.jobs.common.Args;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link AllroundJob}'s program arguments, under its own names and under the names Flink's
 * DataStreamAllroundTestProgram takes, so that the original flink-jepsen test specs
 * ({@code --environment.parallelism 1 --state_backend rocks --state_backend.checkpoint_directory
 * hdfs:///checkpoints --state_backend.rocks.incremental true}) run this job unchanged.
 *
 * <p>The state backend, checkpoint directory and incremental checkpoints are set through
 * configuration keys that Flink 1.20 and 2.x both know ({@link #configuration()}), handed to the
 * environment with {@code configure}: no state backend class is referenced, so the job needs no
 * RocksDB dependency (flink-dist carries the RocksDB backend in 1.x and 2.x).
 *
 * <p>Arguments are {@code --name value} or {@code --name=value}, parsed by {@link
 * Args#parseLastWins}; an unknown name fails with a message listing the known ones. Repeating
 * one spelling is allowed (the last value wins), as this job always allowed; giving one setting
 * under two spellings with different values ({@code --parallelism 2 --environment.parallelism
 * 1}) is an error.
 */
final class AllroundOptions {

    /** This job's own argument names. */
    static final List<String> NAMES =
            Collections.unmodifiableList(
                    Arrays.asList(
                            "parallelism",
                            "max-parallelism",
                            "keys",
                            "rate",
                            "max-records",
                            "checkpoint-interval",
                            "checkpointing-mode",
                            "restart-attempts",
                            "job-name",
                            "payload-bytes",
                            "state-backend",
                            "checkpoint-dir",
                            "incremental-checkpoints",
                            // Hidden, for testing the checker: key 0 skips one seq from index N.
                            "inject-gap-at"));

    /** DataStreamAllroundTestProgram's names, each for one of ours. */
    static final Map<String, String> ORIGINAL_NAMES =
            orderedMap(
                    "environment.parallelism", "parallelism",
                    "environment.max_parallelism", "max-parallelism",
                    "environment.checkpoint_interval", "checkpoint-interval",
                    "test.semantics", "checkpointing-mode",
                    "sequence_generator_source.keyspace", "keys",
                    "state_backend", "state-backend",
                    "state_backend.checkpoint_directory", "checkpoint-dir",
                    "state_backend.rocks.incremental", "incremental-checkpoints");

    /** --state-backend's accepted values -> the value of Flink's state.backend.type. */
    static final Map<String, String> STATE_BACKENDS =
            orderedMap(
                    // DataStreamAllroundTestProgram's "rocks" and "file" (FsStateBackend: heap
                    // state, checkpoints in a file system), and Flink's own names.
                    "rocks", "rocksdb",
                    "rocksdb", "rocksdb",
                    "file", "hashmap",
                    "filesystem", "hashmap",
                    "hashmap", "hashmap",
                    // Flink 2.x only; 1.20 fails the submission with "Could not find a state
                    // backend".
                    "forst", "forst");

    // Configuration keys; the same in Flink 1.20 and 2.x (1.20 also reads the older
    // state.checkpoints.dir and state.backend.incremental, 2.x still does as deprecated keys).
    static final String STATE_BACKEND_KEY = "state.backend.type";
    static final String CHECKPOINT_STORAGE_KEY = "execution.checkpointing.storage";
    static final String CHECKPOINT_DIR_KEY = "execution.checkpointing.dir";
    static final String INCREMENTAL_KEY = "execution.checkpointing.incremental";

    /** null: the submission's (REST "parallelism", flink run -p) or the cluster's default. */
    final Integer parallelism;
    /** null: Flink's default. */
    final Integer maxParallelism;

    final int keys;
    final double rate;
    final long maxRecords;
    final long checkpointInterval;
    /** Exactly-once checkpointing (else at-least-once). */
    final boolean exactlyOnce;
    /** null: the cluster's restart strategy. */
    final Integer restartAttempts;
    final String jobName;
    final int payloadBytes;
    final long injectGapAt;
    /** state.backend.type's value (hashmap, rocksdb, forst); null: the cluster's. */
    final String stateBackend;
    /** Checkpoint directory URI; null: the cluster's. */
    final String checkpointDir;
    /** null: the cluster's setting. */
    final Boolean incrementalCheckpoints;

    private AllroundOptions(Args args) {
        parallelism = args.has("parallelism") ? args.integer("parallelism", 1, 1) : null;
        maxParallelism =
                args.has("max-parallelism") ? args.integer("max-parallelism", 1, 1) : null;
        keys = args.integer("keys", 100, 1);
        // Not range-checked, as this job never did.
        rate = args.number("rate", 1000);
        maxRecords = args.longValue("max-records", Long.MAX_VALUE, 1);
        checkpointInterval = args.longValue("checkpoint-interval", 1000L, 10);
        exactlyOnce = exactlyOnce(args);
        restartAttempts =
                args.has("restart-attempts") ? args.integer("restart-attempts", 0, 0) : null;
        // As given: neither trimmed nor checked for emptiness, as this job never did.
        jobName = args.value("job-name", "flink-jepsen-allround");
        payloadBytes = args.integer("payload-bytes", 0, 0);
        injectGapAt = args.longValue("inject-gap-at", -1L, Long.MIN_VALUE);
        stateBackend = stateBackend(args);
        checkpointDir = args.string("checkpoint-dir", null);
        incrementalCheckpoints = args.bool("incremental-checkpoints");
    }

    static AllroundOptions parse(String[] args) {
        return new AllroundOptions(Args.parseLastWins(args, ORIGINAL_NAMES, NAMES));
    }

    /**
     * The settings that go to the environment as configuration: restart strategy, state
     * backend, checkpoint directory, incremental checkpoints. Empty if none is given, so the
     * cluster's configuration applies.
     */
    Configuration configuration() {
        Configuration conf = new Configuration();
        if (restartAttempts != null) {
            // Plain keys: the RestartStrategies API is gone in 2.x, these work in 1.20 and 2.x.
            conf.setString("restart-strategy.type", "fixed-delay");
            conf.setString("restart-strategy.fixed-delay.attempts", String.valueOf(restartAttempts));
            conf.setString("restart-strategy.fixed-delay.delay", "1 s");
        }
        if (stateBackend != null) {
            conf.setString(STATE_BACKEND_KEY, stateBackend);
        }
        if (checkpointDir != null) {
            // Explicit, so that a cluster configured with jobmanager storage does not keep it.
            conf.setString(CHECKPOINT_STORAGE_KEY, "filesystem");
            conf.setString(CHECKPOINT_DIR_KEY, checkpointDir);
        }
        if (incrementalCheckpoints != null) {
            conf.setString(INCREMENTAL_KEY, String.valueOf(incrementalCheckpoints));
        }
        return conf;
    }

    /** Runtime mode, parallelism, checkpointing and {@link #configuration()}. */
    void applyTo(StreamExecutionEnvironment env) {
        // DataGeneratorSource always reports itself BOUNDED; keep streaming (checkpointed)
        // execution even if the cluster sets execution.runtime-mode: AUTOMATIC.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        if (parallelism != null) {
            env.setParallelism(parallelism);
        }
        if (maxParallelism != null) {
            env.setMaxParallelism(maxParallelism);
        }
        Compat.enableCheckpointing(env, checkpointInterval, exactlyOnce);
        Configuration conf = configuration();
        if (!conf.keySet().isEmpty()) {
            Compat.configure(env, conf);
        }
    }

    @Override
    public String toString() {
        return "parallelism="
                + parallelism
                + " maxParallelism="
                + maxParallelism
                + " keys="
                + keys
                + " rate="
                + rate
                + " maxRecords="
                + maxRecords
                + " checkpointInterval="
                + checkpointInterval
                + " exactlyOnce="
                + exactlyOnce
                + " restartAttempts="
                + restartAttempts
                + " payloadBytes="
                + payloadBytes
                + " injectGapAt="
                + injectGapAt
                + " stateBackend="
                + stateBackend
                + " checkpointDir="
                + checkpointDir
                + " incrementalCheckpoints="
                + incrementalCheckpoints;
    }

    // ---- values; every message names the argument as it was spelled ----

    private static boolean exactlyOnce(Args args) {
        String v = args.value("checkpointing-mode", null);
        if (v == null) {
            return true;
        }
        // exactly_once / exactly-once (DataStreamAllroundTestProgram's test.semantics spelling).
        switch (v.trim().toLowerCase().replace('-', '_')) {
            case "exactly_once":
                return true;
            case "at_least_once":
                return false;
            default:
                throw new IllegalArgumentException(
                        args.label("checkpointing-mode")
                                + " must be exactly_once or at_least_once, got '"
                                + v
                                + "'");
        }
    }

    private static String stateBackend(Args args) {
        String v = args.value("state-backend", null);
        if (v == null) {
            return null;
        }
        String type = STATE_BACKENDS.get(v.trim().toLowerCase());
        if (type == null) {
            throw new IllegalArgumentException(
                    args.label("state-backend")
                            + " must be one of "
                            + STATE_BACKENDS.keySet()
                            + ", got '"
                            + v
                            + "'");
        }
        return type;
    }

    /** An unmodifiable map of key, value, key, value, ... in that order. */
    private static Map<String, String> orderedMap(String... keyThenValue) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyThenValue.length; i += 2) {
            m.put(keyThenValue[i], keyThenValue[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }
}
