package com.dataartisans.flink.example.eventpattern;

/**
 * The entry class the original flink-jepsen Kafka spec (standalone-session-kafka.edn) submits
 * for the checking job, so that the spec runs against this project's state-machine jar with
 * only the jar path changed. Runs {@link org.flinkjepsen.jobs.StateMachineJob}, which
 * understands the original job's arguments ({@code --parallelism --checkpointInterval
 * --input-topic --bootstrap.servers --checkpointDir --auto.offset.reset}) besides its own.
 */
public final class StateMachineJob {

    private StateMachineJob() {}

    public static void main(String[] args) throws Exception {
        org.flinkjepsen.jobs.StateMachineJob.main(args);
    }
}
