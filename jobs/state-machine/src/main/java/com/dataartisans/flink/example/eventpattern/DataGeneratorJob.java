package com.dataartisans.flink.example.eventpattern;

import org.flinkjepsen.jobs.StateMachineGenerator;

/**
 * The entry class the original flink-jepsen Kafka spec (standalone-session-kafka.edn) submits
 * for the event generator, so that the spec runs against this project's state-machine jar with
 * only the jar path changed. Runs {@link StateMachineGenerator}, which understands the original
 * job's arguments ({@code --parallelism --checkpointInterval --numKeys --topic --sleep --semantic
 * --bootstrap.servers --transaction.timeout.ms --checkpointDir}) besides its own.
 */
public final class DataGeneratorJob {

    private DataGeneratorJob() {}

    public static void main(String[] args) throws Exception {
        StateMachineGenerator.main(args);
    }
}
