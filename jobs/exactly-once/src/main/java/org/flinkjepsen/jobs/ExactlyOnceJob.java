package org.flinkjepsen.jobs;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import org.flinkjepsen.jobs.common.Args;
import org.flinkjepsen.jobs.common.JobCompat;
import org.flinkjepsen.jobs.common.KafkaOutput;
import org.flinkjepsen.jobs.common.SinkGuarantee;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka -> keyed counting state -> Kafka, end-to-end exactly-once.
 *
 * <p>Reads "id,key,seq" records from the input topic (from the earliest offsets), keeps per key
 * a count and the last seq in checkpointed state ({@link RecordCounter}) and writes
 * "id,key,seq,count,prev_seq" per record to the output topic, keyed by key, with a transactional
 * Kafka sink (KafkaSink; FlinkKafkaProducer on Flink 1.13). A read_committed reader of the
 * output must then see each input id exactly once and each key's counts as 1..n, however often the job fails and recovers. {@code --drop-id} and
 * {@code --sink-guarantee at-least-once} are deliberately broken variants that show the checker
 * finds lost and duplicated records.
 *
 * <p>Works with every Flink release from 1.13 on (what differs is in common's JobCompat and
 * KafkaOutput shims; jobs/build.sh picks them and the connector); operators have fixed uids so
 * state survives restarts and savepoints.
 */
public final class ExactlyOnceJob {

    private static final Logger LOG = LoggerFactory.getLogger(ExactlyOnceJob.class);

    private ExactlyOnceJob() {}

    public static void main(String[] argv) throws Exception {
        Args args =
                Args.parse(
                        argv,
                        "bootstrap-servers",
                        "input-topic",
                        "output-topic",
                        "group-id",
                        "parallelism",
                        "checkpoint-interval",
                        "sink-guarantee",
                        "drop-id",
                        "transactional-id-prefix",
                        "transaction-timeout-ms",
                        "restart-attempts",
                        "job-name");
        String bootstrapServers = args.required("bootstrap-servers");
        String inputTopic = args.string("input-topic", "fj-input");
        String outputTopic = args.string("output-topic", "fj-output");
        String groupId = args.string("group-id", "flink-jepsen");
        int parallelism = args.integer("parallelism", 2, 1);
        long checkpointInterval = args.longValue("checkpoint-interval", 2000L, 10L);
        SinkGuarantee guarantee =
                "exactly-once"
                                .equals(
                                        args.choice(
                                                "sink-guarantee",
                                                "exactly-once",
                                                "exactly-once",
                                                "at-least-once"))
                        ? SinkGuarantee.EXACTLY_ONCE
                        : SinkGuarantee.AT_LEAST_ONCE;
        long dropId = args.longValue("drop-id", -1L, -1L);
        String transactionalIdPrefix = args.string("transactional-id-prefix", "flink-jepsen-eo");
        // Kafka brokers refuse a transaction timeout above transaction.max.timeout.ms (15 min by
        // default); the connector's default of 1 h would fail every transaction. The timeout
        // must still outlast a checkpoint interval plus a recovery: a transaction the broker
        // aborts after a checkpoint included it is lost.
        long transactionTimeoutMs = args.longValue("transaction-timeout-ms", 60000L, 1000L);
        int restartAttempts = args.integer("restart-attempts", Integer.MAX_VALUE, 0);
        String jobName = args.string("job-name", "flink-jepsen-exactly-once");
        if (guarantee == SinkGuarantee.EXACTLY_ONCE && transactionTimeoutMs <= checkpointInterval) {
            throw new IllegalArgumentException(
                    "--transaction-timeout-ms ("
                            + transactionTimeoutMs
                            + ") must be larger than --checkpoint-interval ("
                            + checkpointInterval
                            + "): transactions stay open from one checkpoint to the next");
        }

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // Unbounded Kafka source, but be explicit in case the cluster sets another mode.
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        env.setParallelism(parallelism);
        // The Kafka sink commits its transactions when a checkpoint completes.
        JobCompat.enableExactlyOnceCheckpoints(env, checkpointInterval);
        JobCompat.configure(env, fixedDelayRestarts(restartAttempts));

        KafkaSource<InputRecord> source =
                KafkaSource.<InputRecord>builder()
                        .setBootstrapServers(bootstrapServers)
                        .setTopics(inputTopic)
                        .setGroupId(groupId)
                        // A new job reads everything; after a failure the checkpointed offsets
                        // decide. Offsets are committed to the group on checkpoints, for
                        // monitoring only.
                        .setStartingOffsets(OffsetsInitializer.earliest())
                        .setDeserializer(new InputRecordDeserializer())
                        // Should input ever be written transactionally, only committed counts.
                        .setProperty("isolation.level", "read_committed")
                        // Picks up partitions added later (the default is 5 min).
                        .setProperty("partition.discovery.interval.ms", "10000")
                        .build();

        TypeInformation<Tuple2<Long, String>> outputType = Types.TUPLE(Types.LONG, Types.STRING);
        DataStream<Tuple2<Long, String>> counted =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka-input")
                        .uid("kafka-input")
                        .keyBy(r -> r.key, Types.LONG)
                        .process(new RecordCounter(dropId), outputType)
                        .uid("record-counter")
                        .name("record-counter");
        KafkaOutput.write(
                        counted,
                        bootstrapServers,
                        outputTopic,
                        guarantee,
                        transactionalIdPrefix,
                        transactionTimeoutMs)
                .uid("kafka-output")
                .name("kafka-output");

        LOG.info(
                "Submitting {}: bootstrapServers={} input={} output={} group={} parallelism={}"
                        + " checkpointInterval={} sinkGuarantee={} transactionalIdPrefix={}"
                        + " transactionTimeoutMs={} dropId={} restartAttempts={}",
                jobName,
                bootstrapServers,
                inputTopic,
                outputTopic,
                groupId,
                parallelism,
                checkpointInterval,
                guarantee,
                transactionalIdPrefix,
                transactionTimeoutMs,
                dropId,
                restartAttempts);
        env.execute(jobName);
    }

    /**
     * Fixed-delay restarts, 1 s apart. Plain configuration keys: the RestartStrategies API is
     * gone in 2.x, these keys work from 1.17 on (JobCompat.configure adds the older name).
     */
    static Configuration fixedDelayRestarts(int attempts) {
        Configuration conf = new Configuration();
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", String.valueOf(attempts));
        conf.setString("restart-strategy.fixed-delay.delay", "1 s");
        return conf;
    }
}
