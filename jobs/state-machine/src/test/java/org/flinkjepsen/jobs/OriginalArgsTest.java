package org.flinkjepsen.jobs;

import org.flinkjepsen.jobs.common.SinkGuarantee;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

/**
 * Checks that the state machine jobs understand the original flink-jepsen Kafka spec
 * (standalone-session-kafka.edn) and that its entry classes exist here.
 *
 * <p>A plain class, not JUnit (the poms have no test framework): Maven's surefire runs its public
 * {@code test*} methods as POJO tests ({@code mvn -f jobs/pom.xml -pl state-machine -am test}),
 * and {@link #main} runs them too. A failed check throws {@link AssertionError}.
 */
public class OriginalArgsTest {

    static final String GENERATOR_ARGS =
            "--parallelism 1 --checkpointInterval 5000 --numKeys 1000 --topic kafka-test-topic"
                    + " --sleep 200 --semantic exactly-once --bootstrap.servers localhost:9092"
                    + " --transaction.timeout.ms 600000 --checkpointDir hdfs:///flink-checkpoints";

    static final String CHECKER_ARGS =
            "--parallelism 1 --checkpointInterval 5000 --input-topic kafka-test-topic"
                    + " --bootstrap.servers localhost:9092 --checkpointDir hdfs:///flink-checkpoints"
                    + " --auto.offset.reset earliest";

    public void testGeneratorTakesTheOriginalArguments() {
        StateMachineGenerator.Options o = new StateMachineGenerator.Options(GENERATOR_ARGS.split(" "));
        check(o.setup.parallelism, 1, "parallelism");
        check(o.setup.checkpointInterval, 5000L, "checkpoint interval");
        check(o.addresses, 1000, "addresses (numKeys)");
        check(o.topic, "kafka-test-topic", "topic");
        check(o.rate, 5.0, "rate (1 source x 1000 / 200 ms)");
        check(o.sinkGuarantee, SinkGuarantee.EXACTLY_ONCE, "sink guarantee");
        check(o.setup.bootstrapServers, "localhost:9092", "bootstrap servers");
        check(o.transactionTimeoutMs, 600000L, "transaction timeout");
        check(o.setup.checkpointDir, "hdfs:///flink-checkpoints", "checkpoint dir");
        check(
                o.setup.configuration().toMap().get("execution.checkpointing.dir"),
                "hdfs:///flink-checkpoints",
                "execution.checkpointing.dir");
        check(
                o.setup.configuration().toMap().get("execution.checkpointing.storage"),
                "filesystem",
                "execution.checkpointing.storage");
        // Own defaults stay.
        check(o.invalidEvery, 1000L, "invalid-every");
        check(o.setup.restartAttempts, Integer.MAX_VALUE, "restart attempts");
    }

    public void testCheckerTakesTheOriginalArguments() {
        StateMachineJob.Options o = new StateMachineJob.Options(CHECKER_ARGS.split(" "));
        check(o.setup.parallelism, 1, "parallelism");
        check(o.setup.checkpointInterval, 5000L, "checkpoint interval");
        check(o.topic, "kafka-test-topic", "topic (input-topic)");
        check(o.setup.bootstrapServers, "localhost:9092", "bootstrap servers");
        check(o.setup.checkpointDir, "hdfs:///flink-checkpoints", "checkpoint dir");
        check(o.startingOffsets, "earliest", "starting offsets");
        check(o.alertsTopic, null, "alerts topic");
        StateMachineJob.Options latest =
                new StateMachineJob.Options(
                        new String[] {"--bootstrap-servers", "b:9092", "--auto.offset.reset", "latest"});
        check(latest.startingOffsets, "latest", "latest");
    }

    public void testOwnNamesStillWork() {
        StateMachineGenerator.Options g =
                new StateMachineGenerator.Options(
                        new String[] {
                            "--bootstrap-servers", "b:9092", "--addresses", "7", "--rate", "50",
                            "--checkpoint-interval", "3000", "--checkpoint-dir", "file:///tmp/c",
                            "--sink-guarantee", "at-least-once", "--transaction-timeout-ms", "9000"
                        });
        check(g.addresses, 7, "addresses");
        check(g.rate, 50.0, "rate");
        check(g.setup.checkpointInterval, 3000L, "checkpoint interval");
        check(g.setup.checkpointDir, "file:///tmp/c", "checkpoint dir");
        check(g.sinkGuarantee, SinkGuarantee.AT_LEAST_ONCE, "sink guarantee");
        check(g.transactionTimeoutMs, 9000L, "transaction timeout");
        StateMachineGenerator.Options d =
                new StateMachineGenerator.Options(new String[] {"--bootstrap-servers", "b:9092"});
        check(d.rate, 1000.0, "default rate");
        check(d.setup.parallelism, 2, "default parallelism");
        check(d.setup.checkpointDir, null, "no checkpoint dir");
        check(
                d.setup.configuration().toMap().containsKey("execution.checkpointing.dir"),
                false,
                "no checkpoint dir key");
        StateMachineJob.Options c =
                new StateMachineJob.Options(
                        new String[] {"--bootstrap-servers", "b:9092", "--topic", "t"});
        check(c.topic, "t", "topic");
        check(c.startingOffsets, "earliest", "default starting offsets");
    }

    public void testSleepAndSemantic() {
        check(generator("--parallelism 4 --sleep 200").rate, 20.0, "4 sources x 5/s");
        check(generator("--sleep 0").rate, 0.0, "sleep 0 = unthrottled");
        check(generator("--semantic none").sinkGuarantee, SinkGuarantee.NONE, "none");
        check(
                generator("--semantic at-least-once").sinkGuarantee,
                SinkGuarantee.AT_LEAST_ONCE,
                "at-least-once");
    }

    public void testRejections() {
        expectGeneratorFailure(
                "--semantic maybe",
                "--semantic must be one of [exactly-once, at-least-once, none], got 'maybe'");
        expectGeneratorFailure("--sleep 200 --rate 5", "--sleep and --rate both set the event rate");
        expectGeneratorFailure("--sleep -1", "--sleep must be at least 0, got -1");
        expectGeneratorFailure(
                "--numKeys many", "--numKeys must be an integer, got 'many'");
        expectGeneratorFailure(
                "--checkpointInterval 5000 --checkpoint-interval 2000",
                "--checkpoint-interval given more than once (also as --checkpointInterval)");
        expectGeneratorFailure(
                "--checkpointInterval 5000 --transaction.timeout.ms 4000",
                "--transaction-timeout-ms (4000) must be larger than --checkpoint-interval (5000)");
        expectGeneratorFailure("--zookeeper.servers z:2181", "unknown argument --zookeeper.servers; known: [");
        try {
            new StateMachineGenerator.Options(new String[] {"--numKeys", "3"});
            throw new AssertionError("missing bootstrap servers accepted");
        } catch (IllegalArgumentException e) {
            check(e.getMessage(), "--bootstrap-servers is required", "message");
        }
        expectCheckerFailure(
                "--auto.offset.reset none",
                "--auto.offset.reset must be one of [earliest, latest], got 'none'");
        expectCheckerFailure(
                "--input-topic a --topic b", "--topic given more than once (also as --input-topic)");
        expectCheckerFailure("--numKeys 3", "unknown argument --numKeys; known: [");
    }

    /** The original spec's main classes exist, are public, and run this project's jobs. */
    public void testOriginalEntryClasses() throws Exception {
        String[][] cases = {
            {"com.dataartisans.flink.example.eventpattern.DataGeneratorJob", "numKeys"},
            {"com.dataartisans.flink.example.eventpattern.StateMachineJob", "input-topic"}
        };
        for (String[] c : cases) {
            Method main = Class.forName(c[0]).getMethod("main", String[].class);
            check(Modifier.isStatic(main.getModifiers()), true, c[0] + ".main is static");
            check(Modifier.isPublic(main.getDeclaringClass().getModifiers()), true, c[0] + " public");
            // An unknown argument fails in the project job's parser, before any environment:
            // its list of known names shows which job ran.
            try {
                main.invoke(null, (Object) new String[] {"--bogus", "1"});
                throw new AssertionError(c[0] + " accepted --bogus");
            } catch (InvocationTargetException e) {
                String m = String.valueOf(e.getCause().getMessage());
                if (!(e.getCause() instanceof IllegalArgumentException)
                        || !m.startsWith("unknown argument --bogus; known: [")
                        || !m.contains(c[1])) {
                    throw new AssertionError(c[0] + ": unexpected failure " + e.getCause());
                }
            }
        }
    }

    // ---- a minimal harness ----

    private static StateMachineGenerator.Options generator(String args) {
        return new StateMachineGenerator.Options(("--bootstrap.servers b:9092 " + args).split(" "));
    }

    private static void expectGeneratorFailure(String args, String messageStart) {
        try {
            generator(args);
        } catch (IllegalArgumentException e) {
            checkStart(e.getMessage(), messageStart);
            return;
        }
        throw new AssertionError("generator accepted " + args);
    }

    private static void expectCheckerFailure(String args, String messageStart) {
        try {
            new StateMachineJob.Options(("--bootstrap.servers b:9092 " + args).split(" "));
        } catch (IllegalArgumentException e) {
            checkStart(e.getMessage(), messageStart);
            return;
        }
        throw new AssertionError("checker accepted " + args);
    }

    private static void checkStart(String message, String start) {
        if (message == null || !message.startsWith(start)) {
            throw new AssertionError(
                    "expected a message starting with '" + start + "', got '" + message + "'");
        }
    }

    private static void check(Object got, Object expected, String what) {
        if (got == null ? expected != null : !got.equals(expected)) {
            throw new AssertionError(what + ": expected " + expected + ", got " + got);
        }
    }

    public static void main(String[] args) throws Exception {
        int n = 0;
        OriginalArgsTest t = new OriginalArgsTest();
        for (Method m : OriginalArgsTest.class.getDeclaredMethods()) {
            if (m.getName().startsWith("test") && m.getParameterCount() == 0) {
                m.invoke(t);
                System.out.println("ok " + m.getName());
                n++;
            }
        }
        System.out.println(n + " checks passed");
    }
}
