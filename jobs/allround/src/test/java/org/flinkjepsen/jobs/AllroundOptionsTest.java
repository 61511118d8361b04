package org.flinkjepsen.jobs;


import java.util.HashMap;
import java.util.Map;

/**
 * Checks {@link AllroundOptions} against the arguments of the original flink-jepsen specs.
 *
 * <p>A plain class, not JUnit (the poms have no test framework): Maven's surefire runs its public
 * {@code test*} methods as POJO tests ({@code mvn -f jobs/pom.xml -pl allround test}), and
 * {@link #main} runs them too ({@code java -cp <classes>:<test-classes>:<Flink jars>
 * org.flinkjepsen.jobs.AllroundOptionsTest}). A failed check throws {@link AssertionError}.
 */
public class AllroundOptionsTest {

    /** The job arguments of standalone-session.edn, yarn-session.edn, yarn-job.edn, ... */
    static final String ORIGINAL_SPEC_ARGS =
            "--environment.parallelism 1 --state_backend.checkpoint_directory hdfs:///checkpoints"
                    + " --state_backend rocks --state_backend.rocks.incremental true";

    public void testOriginalSpecArguments() {
        AllroundOptions o = AllroundOptions.parse(ORIGINAL_SPEC_ARGS.split(" "));
        check(o.parallelism, 1, "parallelism");
        check(o.stateBackend, "rocksdb", "state backend");
        check(o.checkpointDir, "hdfs:///checkpoints", "checkpoint dir");
        check(o.incrementalCheckpoints, Boolean.TRUE, "incremental");
        Map<String, String> expected = new HashMap<>();
        expected.put("state.backend.type", "rocksdb");
        expected.put("execution.checkpointing.storage", "filesystem");
        expected.put("execution.checkpointing.dir", "hdfs:///checkpoints");
        expected.put("execution.checkpointing.incremental", "true");
        check(o.configuration().toMap(), expected, "configuration");
        // The job's own settings keep their defaults.
        check(o.keys, 100, "keys");
        check(o.checkpointInterval, 1000L, "checkpoint interval");
        check(o.exactlyOnce, true, "mode");
        check(o.restartAttempts, null, "restart attempts");
    }

    public void testOwnNamesMeanTheSame() {
        AllroundOptions o =
                AllroundOptions.parse(
                        new String[] {
                            "--parallelism=1",
                            "--checkpoint-dir",
                            "hdfs:///checkpoints",
                            "--state-backend",
                            "rocksdb",
                            "--incremental-checkpoints",
                            "true"
                        });
        check(
                o.configuration().toMap(),
                AllroundOptions.parse(ORIGINAL_SPEC_ARGS.split(" ")).configuration().toMap(),
                "configuration");
        check(o.parallelism, 1, "parallelism");
    }

    public void testStateBackendNames() {
        String[][] cases = {
            {"rocks", "rocksdb"}, {"RocksDB", "rocksdb"}, {"file", "hashmap"},
            {"filesystem", "hashmap"}, {"hashmap", "hashmap"}, {"forst", "forst"}
        };
        for (String[] c : cases) {
            AllroundOptions o = AllroundOptions.parse(new String[] {"--state_backend", c[0]});
            check(o.stateBackend, c[1], "--state_backend " + c[0]);
            check(o.configuration().toMap().get("state.backend.type"), c[1], "state.backend.type");
        }
        expectFailure(
                new String[] {"--state_backend", "memory"},
                "--state_backend must be one of [rocks, rocksdb, file, filesystem, hashmap, forst],"
                        + " got 'memory'");
    }

    public void testOtherOriginalNames() {
        AllroundOptions o =
                AllroundOptions.parse(
                        new String[] {
                            "--environment.max_parallelism", "128",
                            "--environment.checkpoint_interval", "5000",
                            "--test.semantics", "at-least-once",
                            "--sequence_generator_source.keyspace", "1000",
                            "--state_backend.rocks.incremental", "false"
                        });
        check(o.maxParallelism, 128, "max parallelism");
        check(o.checkpointInterval, 5000L, "checkpoint interval");
        check(o.exactlyOnce, false, "mode");
        check(o.keys, 1000, "keys");
        check(o.incrementalCheckpoints, Boolean.FALSE, "incremental");
        check(o.stateBackend, null, "state backend (the cluster's)");
        check(o.configuration().toMap().get("execution.checkpointing.incremental"), "false", "key");
        check(o.configuration().toMap().containsKey("state.backend.type"), false, "no backend key");
    }

    public void testNothingGivenConfiguresNothing() {
        AllroundOptions o = AllroundOptions.parse(new String[0]);
        check(o.parallelism, null, "parallelism");
        check(o.configuration().toMap().isEmpty(), true, "empty configuration");
        AllroundOptions r = AllroundOptions.parse(new String[] {"--restart-attempts", "3"});
        check(r.configuration().toMap().get("restart-strategy.fixed-delay.attempts"), "3", "restarts");
    }

    public void testRejections() {
        expectFailure(
                new String[] {"--environment.parallelism", "1", "--state_backend.async", "true"},
                "unknown argument --state_backend.async; known: [parallelism,");
        expectFailure(new String[] {"--bogus", "1"}, "unknown argument --bogus; known:");
        expectFailure(new String[] {"rocks"}, "unexpected argument: rocks");
        expectFailure(new String[] {"--state_backend"}, "missing value for --state_backend");
        expectFailure(
                new String[] {"--state_backend.rocks.incremental", "yes"},
                "--state_backend.rocks.incremental must be true or false, got 'yes'");
        expectFailure(
                new String[] {"--environment.parallelism", "one"},
                "--environment.parallelism must be an integer, got 'one'");
        expectFailure(
                new String[] {"--environment.parallelism", "0"},
                "--environment.parallelism must be at least 1, got 0");
        expectFailure(
                new String[] {"--state_backend.checkpoint_directory", " "},
                "--state_backend.checkpoint_directory must not be empty");
        expectFailure(
                new String[] {"--parallelism", "2", "--environment.parallelism", "1"},
                "--environment.parallelism 1 contradicts --parallelism 2 (the same setting)");
        // The same value under both names, or one name repeated, is fine (last one wins).
        check(
                AllroundOptions.parse(
                                new String[] {"--parallelism", "2", "--environment.parallelism=2"})
                        .parallelism,
                2,
                "same value twice");
        check(
                AllroundOptions.parse(new String[] {"--keys", "2", "--keys", "3"}).keys,
                3,
                "repeat");
    }

    // ---- a minimal harness ----

    private static void check(Object got, Object expected, String what) {
        if (got == null ? expected != null : !got.equals(expected)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + got);
        }
    }

    private static void expectFailure(String[] args, String messageStart) {
        try {
            AllroundOptions.parse(args);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().startsWith(messageStart)) {
                throw new AssertionError(
                        "expected a message starting with '"
                                + messageStart
                                + "', got '"
                                + e.getMessage()
                                + "'");
            }
            return;
        }
        throw new AssertionError("expected " + String.join(" ", args) + " to be rejected");
    }

    public static void main(String[] args) throws Exception {
        int n = 0;
        AllroundOptionsTest t = new AllroundOptionsTest();
        for (java.lang.reflect.Method m : AllroundOptionsTest.class.getDeclaredMethods()) {
            if (m.getName().startsWith("test") && m.getParameterCount() == 0) {
                m.invoke(t);
                System.out.println("ok " + m.getName());
                n++;
            }
        }
        System.out.println(n + " checks passed");
    }
}
