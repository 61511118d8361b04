package org.flinkjepsen.jobs;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;

import org.flinkjepsen.jobs.common.Args;
import org.flinkjepsen.jobs.common.JobCompat;
import org.flinkjepsen.jobs.common.KafkaOutput;
import org.flinkjepsen.jobs.common.SinkGuarantee;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The producing half of the "two jobs sharing a Kafka topic" scenario: simulated addresses walk
 * the {@link Sessions} state machine and their events go to a Kafka topic, which
 * {@link StateMachineJob} checks.
 *
 * <p>A rate-limited, checkpointed source (parallelism 1; DataGeneratorSource on Flink 1.20 and
 * later, a SourceFunction before: JobCompat.ticks) emits ticks 0, 1, 2, ...; tick i belongs
 * to address i % addresses. keyBy(address) -> {@link EventGenerator} keeps each address's state
 * in checkpointed keyed state and picks the next event from tick i alone (a random generator
 * seeded with i), so a replay after recovery writes the very same events. Now and then (about
 * one in --invalid-every) it picks an invalid event on purpose and marks it so.
 *
 * <p>The sink is exactly-once by default: with at-least-once, events written after the last
 * checkpoint of a failed attempt are written again, and the checker reads the duplicates as
 * invalid transitions.
 *
 * <p>Besides its own arguments it takes those of the original flink-jepsen's DataGeneratorJob
 * ({@code --numKeys}, {@code --sleep}, {@code --semantic}, {@code --bootstrap.servers}, ...; see
 * jobs/README.md), which {@code com.dataartisans.flink.example.eventpattern.DataGeneratorJob}
 * runs under the original's class name.
 */
public final class StateMachineGenerator {

    private static final Logger LOG = LoggerFactory.getLogger(StateMachineGenerator.class);

    private StateMachineGenerator() {}

    /** The generator's settings, from its arguments. */
    static final class Options {
        final JobSetup setup;
        final String topic;
        /** Events/s in total; 0 = unthrottled. */
        final double rate;
        final int addresses;
        final long invalidEvery;
        final SinkGuarantee sinkGuarantee;
        final String transactionalIdPrefix;
        final long transactionTimeoutMs;

        Options(String[] argv) {
            Args args =
                    JobSetup.parse(
                            argv,
                            // The original DataGeneratorJob's names (standalone-session-kafka.edn).
                            new String[] {
                                "numKeys", "addresses",
                                "semantic", "sink-guarantee",
                                "transaction.timeout.ms", "transaction-timeout-ms"
                            },
                            "topic",
                            "rate",
                            "sleep",
                            "addresses",
                            "invalid-every",
                            "sink-guarantee",
                            "transactional-id-prefix",
                            "transaction-timeout-ms");
            setup = new JobSetup(args, "flink-jepsen-state-machine-generator");
            topic = args.string("topic", "fj-events");
            if (args.has("sleep")) {
                if (args.has("rate")) {
                    throw new IllegalArgumentException(
                            "--sleep and --rate both set the event rate; give one");
                }
                // The original: each of its `parallelism` sources sleeps this long after each
                // event. Here one source subtask emits the same total: parallelism * 1000 /
                // sleep events/s.
                long sleepMs = args.longValue("sleep", 0L, 0L);
                rate = sleepMs == 0 ? 0 : setup.parallelism * 1000.0 / sleepMs;
            } else {
                rate = args.decimal("rate", 1000, 0);
            }
            addresses = args.integer("addresses", 1000, 1);
            invalidEvery = args.longValue("invalid-every", 1000L, 0L);
            switch (args.choice(
                    "sink-guarantee",
                    "exactly-once",
                    "exactly-once",
                    "at-least-once",
                    "none")) {
                case "exactly-once":
                    sinkGuarantee = SinkGuarantee.EXACTLY_ONCE;
                    break;
                case "at-least-once":
                    sinkGuarantee = SinkGuarantee.AT_LEAST_ONCE;
                    break;
                default:
                    sinkGuarantee = SinkGuarantee.NONE;
            }
            transactionalIdPrefix = args.string("transactional-id-prefix", "flink-jepsen-sm");
            // See ExactlyOnceJob: brokers refuse more than transaction.max.timeout.ms (15 min by
            // default); the connector's default is 1 h.
            transactionTimeoutMs = args.longValue("transaction-timeout-ms", 60000L, 1000L);
            if (sinkGuarantee == SinkGuarantee.EXACTLY_ONCE
                    && transactionTimeoutMs <= setup.checkpointInterval) {
                throw new IllegalArgumentException(
                        "--transaction-timeout-ms ("
                                + transactionTimeoutMs
                                + ") must be larger than --checkpoint-interval ("
                                + setup.checkpointInterval
                                + ")");
            }
        }
    }

    public static void main(String[] argv) throws Exception {
        Options o = new Options(argv);
        JobSetup setup = o.setup;
        // A local: the key selector lambda must not capture the (unserializable) Options.
        int addresses = o.addresses;

        StreamExecutionEnvironment env = setup.environment();

        TypeInformation<Tuple2<Long, String>> eventType = Types.TUPLE(Types.LONG, Types.STRING);
        DataStream<Tuple2<Long, String>> events =
                JobCompat.ticks(env, o.rate, "tick-source")
                        .uid("tick-source")
                        // One ordered stream of ticks, so each address's ticks arrive in order.
                        .setParallelism(1)
                        .keyBy(i -> i % addresses, Types.LONG)
                        .process(new EventGenerator(o.invalidEvery), eventType)
                        .uid("event-generator")
                        .name("event-generator");
        KafkaOutput.write(
                        events,
                        setup.bootstrapServers,
                        o.topic,
                        o.sinkGuarantee,
                        o.transactionalIdPrefix,
                        o.transactionTimeoutMs)
                .uid("kafka-events")
                .name("kafka-events");

        LOG.info(
                "Submitting {}: {} topic={} rate={} addresses={} invalidEvery={} sinkGuarantee={}"
                        + " transactionalIdPrefix={} transactionTimeoutMs={}",
                setup.jobName,
                setup,
                o.topic,
                o.rate,
                o.addresses,
                o.invalidEvery,
                o.sinkGuarantee,
                o.transactionalIdPrefix,
                o.transactionTimeoutMs);
        env.execute(setup.jobName);
    }

    /** Tick of an address -> the address's next event, as (address, event text). */
    static final class EventGenerator
            extends JobCompat.OpeningKeyedProcessFunction<Long, Long, Tuple2<Long, String>> {
        private static final long serialVersionUID = 1L;
        private final long invalidEvery;
        private transient ValueState<String> state;
        private transient Counter generated;
        private transient Counter generatedInvalid;

        EventGenerator(long invalidEvery) {
            this.invalidEvery = invalidEvery;
        }

        @Override
        protected void setUp() {
            state = getRuntimeContext().getState(new ValueStateDescriptor<>("state", Types.STRING));
            generated = getRuntimeContext().getMetricGroup().counter("eventsGenerated");
            generatedInvalid = getRuntimeContext().getMetricGroup().counter("invalidEventsGenerated");
        }

        @Override
        public void processElement(Long tick, Context ctx, Collector<Tuple2<Long, String>> out)
                throws Exception {
            long address = ctx.getCurrentKey();
            String stored = state.value();
            Sessions.State current = stored == null ? Sessions.State.NONE : Sessions.State.valueOf(stored);
            // Seeded by the tick alone: a replayed tick makes the same choice.
            SplittableRandom random = new SplittableRandom(tick);
            boolean invalid = invalidEvery > 0 && random.nextLong(invalidEvery) == 0;
            List<Sessions.Event> choices = Sessions.events(current, !invalid);
            Sessions.Event event = choices.get(random.nextInt(choices.size()));
            if (invalid) {
                // The address stays where it is, as the checker's copy will.
                generatedInvalid.inc();
            } else {
                Sessions.State next = Sessions.next(current, event);
                if (next == Sessions.State.NONE) {
                    state.clear();
                } else {
                    state.update(next.name());
                }
            }
            generated.inc();
            out.collect(Tuple2.of(address, new SessionEvent(address, event, invalid).toText()));
        }
    }
}
