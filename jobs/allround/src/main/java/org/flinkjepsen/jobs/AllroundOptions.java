package org.flinkjepsen.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
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
 * <p>Arguments are {@code --name value} or {@code --name=value}; an unknown name fails with a
 * message listing the known ones. Repeating one spelling is allowed (the last value wins), as
 * this job always allowed; giving one setting under two spellings with different values
 * ({@code --parallelism 2 --environment.parallelism 1}) is an error.
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
    static final Map<String, String> ORIGINAL_NAMES;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("environment.parallelism", "parallelism");
        m.put("environment.max_parallelism", "max-parallelism");
        m.put("environment.checkpoint_interval", "checkpoint-interval");
        m.put("test.semantics", "checkpointing-mode");
        m.put("sequence_generator_source.keyspace", "keys");
        m.put("state_backend", "state-backend");
        m.put("state_backend.checkpoint_directory", "checkpoint-dir");
        m.put("state_backend.rocks.incremental", "incremental-checkpoints");
        ORIGINAL_NAMES = Collections.unmodifiableMap(m);
    }

    /** --state-backend's accepted values -> the value of Flink's state.backend.type. */
    static final Map<String, String> STATE_BACKENDS;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        // DataStreamAllroundTestProgram's "rocks" and "file" (FsStateBackend: heap state,
        // checkpoints in a file system), and Flink's own names.
        m.put("rocks", "rocksdb");
        m.put("rocksdb", "rocksdb");
        m.put("file", "hashmap");
        m.put("filesystem", "hashmap");
        m.put("hashmap", "hashmap");
        // Flink 2.x only; 1.20 fails the submission with "Could not find a state backend".
        m.put("forst", "forst");
        STATE_BACKENDS = Collections.unmodifiableMap(m);
    }

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
    final CheckpointingMode checkpointingMode;
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

    private final Map<String, String> spelled;

    private AllroundOptions(Map<String, String> values, Map<String, String> spelled) {
        this.spelled = spelled;
        parallelism = values.containsKey("parallelism") ? intArg(values, "parallelism", 1, 1) : null;
        maxParallelism =
                values.containsKey("max-parallelism")
                        ? intArg(values, "max-parallelism", 1, 1)
                        : null;
        keys = intArg(values, "keys", 100, 1);
        rate = doubleArg(values, "rate", 1000);
        maxRecords = longArg(values, "max-records", Long.MAX_VALUE, 1);
        checkpointInterval = longArg(values, "checkpoint-interval", 1000L, 10);
        checkpointingMode = mode(values);
        restartAttempts =
                values.containsKey("restart-attempts")
                        ? intArg(values, "restart-attempts", 0, 0)
                        : null;
        jobName = values.getOrDefault("job-name", "flink-jepsen-allround");
        payloadBytes = intArg(values, "payload-bytes", 0, 0);
        injectGapAt = longArg(values, "inject-gap-at", -1L, Long.MIN_VALUE);
        stateBackend = stateBackend(values);
        String dir = values.get("checkpoint-dir");
        if (dir != null && dir.trim().isEmpty()) {
            throw new IllegalArgumentException(name("checkpoint-dir") + " must not be empty");
        }
        checkpointDir = dir == null ? null : dir.trim();
        incrementalCheckpoints = booleanArg(values, "incremental-checkpoints");
    }

    static AllroundOptions parse(String[] args) {
        Map<String, String> values = new HashMap<>();
        Map<String, String> spelled = new HashMap<>();
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
            String canonical = ORIGINAL_NAMES.getOrDefault(name, name);
            if (!NAMES.contains(canonical)) {
                List<String> known = new ArrayList<>(NAMES);
                known.addAll(ORIGINAL_NAMES.keySet());
                throw new IllegalArgumentException("unknown argument --" + name + "; known: " + known);
            }
            String earlier = spelled.get(canonical);
            if (earlier != null
                    && !earlier.equals(name)
                    && !values.get(canonical).trim().equals(value.trim())) {
                throw new IllegalArgumentException(
                        "--"
                                + name
                                + " "
                                + value
                                + " contradicts --"
                                + earlier
                                + " "
                                + values.get(canonical)
                                + " (the same setting)");
            }
            values.put(canonical, value);
            spelled.put(canonical, name);
        }
        return new AllroundOptions(values, spelled);
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
        env.enableCheckpointing(checkpointInterval, checkpointingMode);
        Configuration conf = configuration();
        if (!conf.keySet().isEmpty()) {
            env.configure(conf);
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
                + " mode="
                + checkpointingMode
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

    private String name(String canonical) {
        return "--" + spelled.getOrDefault(canonical, canonical);
    }

    private CheckpointingMode mode(Map<String, String> values) {
        String v = values.get("checkpointing-mode");
        if (v == null) {
            return CheckpointingMode.EXACTLY_ONCE;
        }
        // exactly_once / exactly-once (DataStreamAllroundTestProgram's test.semantics spelling).
        switch (v.trim().toLowerCase().replace('-', '_')) {
            case "exactly_once":
                return CheckpointingMode.EXACTLY_ONCE;
            case "at_least_once":
                return CheckpointingMode.AT_LEAST_ONCE;
            default:
                throw new IllegalArgumentException(
                        name("checkpointing-mode")
                                + " must be exactly_once or at_least_once, got '"
                                + v
                                + "'");
        }
    }

    private String stateBackend(Map<String, String> values) {
        String v = values.get("state-backend");
        if (v == null) {
            return null;
        }
        String type = STATE_BACKENDS.get(v.trim().toLowerCase());
        if (type == null) {
            throw new IllegalArgumentException(
                    name("state-backend")
                            + " must be one of "
                            + STATE_BACKENDS.keySet()
                            + ", got '"
                            + v
                            + "'");
        }
        return type;
    }

    private Boolean booleanArg(Map<String, String> values, String canonical) {
        String v = values.get(canonical);
        if (v == null) {
            return null;
        }
        switch (v.trim().toLowerCase()) {
            case "true":
                return Boolean.TRUE;
            case "false":
                return Boolean.FALSE;
            default:
                throw new IllegalArgumentException(
                        name(canonical) + " must be true or false, got '" + v + "'");
        }
    }

    private int intArg(Map<String, String> values, String canonical, int dflt, int min) {
        long v = longArg(values, canonical, dflt, min);
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    name(canonical) + " must be at most " + Integer.MAX_VALUE + ", got " + v);
        }
        return (int) v;
    }

    private long longArg(Map<String, String> values, String canonical, long dflt, long min) {
        String v = values.get(canonical);
        if (v == null) {
            return dflt;
        }
        long parsed;
        try {
            parsed = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    name(canonical) + " must be an integer, got '" + v + "'");
        }
        if (parsed < min) {
            throw new IllegalArgumentException(
                    name(canonical) + " must be at least " + min + ", got " + parsed);
        }
        return parsed;
    }

    private double doubleArg(Map<String, String> values, String canonical, double dflt) {
        String v = values.get(canonical);
        if (v == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    name(canonical) + " must be a number, got '" + v + "'");
        }
    }
}
