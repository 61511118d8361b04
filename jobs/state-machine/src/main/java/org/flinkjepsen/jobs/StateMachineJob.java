package org.flinkjepsen.jobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
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

/**
 * The checking half of the "two jobs sharing a Kafka topic" scenario: reads the events
 * {@link StateMachineGenerator} writes, keeps each address's {@link Sessions} state in keyed
 * state and emits an alert "address,STATE,EVENT,kind" for every invalid transition, to
 * --alerts-topic if given (at-least-once), otherwise to a discarding sink. Alerts are also
 * counted in metrics. Kinds:
 *
 * <ul>
 *   <li>{@code expected}: the generator made this transition invalid on purpose;
 *   <li>{@code unexpected}: the generator meant a valid transition, so this address's events
 *       or state were lost, duplicated or reordered somewhere (logged as a warning);
 *   <li>{@code missed}: the generator meant an invalid transition, but it is valid here: the
 *       same kind of divergence (logged as a warning; the transition is applied).
 * </ul>
 *
 * Events are read from the earliest offsets (a new job must see every address from its first
 * event; --starting-offsets latest changes that) with isolation.level read_committed (only the
 * generator's committed transactions).
 *
 * <p>Besides its own arguments it takes those of the original flink-jepsen's StateMachineJob
 * ({@code --input-topic}, {@code --auto.offset.reset}, {@code --bootstrap.servers}, ...; see
 * jobs/README.md), which {@code com.dataartisans.flink.example.eventpattern.StateMachineJob}
 * runs under the original's class name.
 */
public final class StateMachineJob {

    private static final Logger LOG = LoggerFactory.getLogger(StateMachineJob.class);

    private StateMachineJob() {}

    /** The checker's settings, from its arguments. */
    static final class Options {
        final JobSetup setup;
        final String topic;
        final String groupId;
        /** null: alerts are discarded. */
        final String alertsTopic;
        /** Where a new submission starts reading: earliest or latest. */
        final String startingOffsets;

        Options(String[] argv) {
            Args args =
                    JobSetup.parse(
                            argv,
                            // The original StateMachineJob's names (standalone-session-kafka.edn).
                            new String[] {
                                "input-topic", "topic",
                                "auto.offset.reset", "starting-offsets"
                            },
                            "topic",
                            "group-id",
                            "alerts-topic",
                            "starting-offsets");
            setup = new JobSetup(args, "flink-jepsen-state-machine");
            topic = args.string("topic", "fj-events");
            groupId = args.string("group-id", "flink-jepsen-state-machine");
            alertsTopic = args.has("alerts-topic") ? args.required("alerts-topic") : null;
            startingOffsets = args.choice("starting-offsets", "earliest", "earliest", "latest");
        }

        OffsetsInitializer offsetsInitializer() {
            return "latest".equals(startingOffsets)
                    ? OffsetsInitializer.latest()
                    : OffsetsInitializer.earliest();
        }
    }

    public static void main(String[] argv) throws Exception {
        Options o = new Options(argv);
        JobSetup setup = o.setup;
        String topic = o.topic;
        String groupId = o.groupId;
        String alertsTopic = o.alertsTopic;

        StreamExecutionEnvironment env = setup.environment();

        KafkaSource<SessionEvent> source =
                KafkaSource.<SessionEvent>builder()
                        .setBootstrapServers(setup.bootstrapServers)
                        .setTopics(topic)
                        .setGroupId(groupId)
                        .setStartingOffsets(o.offsetsInitializer())
                        .setDeserializer(new SessionEventDeserializer())
                        .setProperty("isolation.level", "read_committed")
                        .setProperty("partition.discovery.interval.ms", "10000")
                        .build();

        TypeInformation<Tuple2<Long, String>> alertType = Types.TUPLE(Types.LONG, Types.STRING);
        DataStream<Tuple2<Long, String>> alerts =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka-events")
                        .uid("kafka-events")
                        .keyBy(e -> e.address, Types.LONG)
                        .process(new TransitionChecker(), alertType)
                        .uid("transition-checker")
                        .name("transition-checker");
        if (alertsTopic != null) {
            // At-least-once: no transactions, so prefix and timeout are unused.
            KafkaOutput.write(
                            alerts,
                            setup.bootstrapServers,
                            alertsTopic,
                            SinkGuarantee.AT_LEAST_ONCE,
                            null,
                            60000L)
                    .uid("alerts-sink")
                    .name("kafka-alerts");
        } else {
            JobCompat.discard(alerts).uid("alerts-sink").name("discard-alerts");
        }

        LOG.info(
                "Submitting {}: {} topic={} group={} alertsTopic={} startingOffsets={}",
                setup.jobName,
                setup,
                topic,
                groupId,
                alertsTopic,
                o.startingOffsets);
        env.execute(setup.jobName);
    }

    /** Applies each address's events to its state; invalid transitions become alerts. */
    static final class TransitionChecker
            extends JobCompat.OpeningKeyedProcessFunction<Long, SessionEvent, Tuple2<Long, String>> {
        private static final long serialVersionUID = 1L;
        private transient ValueState<String> state;
        private transient Counter checked;
        private transient Counter expected;
        private transient Counter unexpected;
        private transient Counter missed;

        @Override
        protected void setUp() {
            state = getRuntimeContext().getState(new ValueStateDescriptor<>("state", Types.STRING));
            checked = getRuntimeContext().getMetricGroup().counter("eventsChecked");
            expected = getRuntimeContext().getMetricGroup().counter("alertsExpected");
            unexpected = getRuntimeContext().getMetricGroup().counter("alertsUnexpected");
            missed = getRuntimeContext().getMetricGroup().counter("alertsMissed");
            LOG.info(
                    "transition-checker subtask {} attempt {} opened",
                    subtaskIndex(),
                    attemptNumber());
        }

        @Override
        public void processElement(
                SessionEvent e, Context ctx, Collector<Tuple2<Long, String>> out)
                throws Exception {
            checked.inc();
            String stored = state.value();
            Sessions.State current =
                    stored == null ? Sessions.State.NONE : Sessions.State.valueOf(stored);
            Sessions.State next = Sessions.next(current, e.event);
            String kind = null;
            if (next == null) {
                // Invalid: alert, and the address stays where it is (as in the generator).
                if (e.intendedInvalid) {
                    kind = "expected";
                    expected.inc();
                } else {
                    kind = "unexpected";
                    unexpected.inc();
                }
            } else {
                if (e.intendedInvalid) {
                    kind = "missed";
                    missed.inc();
                }
                if (next == Sessions.State.NONE) {
                    state.clear();
                } else {
                    state.update(next.name());
                }
            }
            if (kind != null) {
                String alert = e.address + "," + current + "," + e.event + "," + kind;
                if (!"expected".equals(kind)) {
                    LOG.warn("state machine alert {} (event {})", alert, e);
                }
                out.collect(Tuple2.of(e.address, alert));
            }
        }
    }
}
