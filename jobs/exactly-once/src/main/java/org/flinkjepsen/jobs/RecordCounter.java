package org.flinkjepsen.jobs;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;

import org.flinkjepsen.jobs.common.JobCompat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per key: counts the records and remembers the last seq, in checkpointed ValueState, and emits
 * (key, "id,key,seq,count,prev_seq") for each record. If the state and the input offsets are
 * restored consistently and the sink is exactly-once, a reader of the output sees every input id
 * once, and each key's counts run 1, 2, 3, ... with prev_seq the seq of the output before.
 */
final class RecordCounter
        extends JobCompat.OpeningKeyedProcessFunction<Long, InputRecord, Tuple2<Long, String>> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RecordCounter.class);

    private final long dropId;
    private transient ValueState<Long> count;
    private transient ValueState<Long> lastSeq;
    private transient Counter counted;

    /** @param dropId id of a record to drop without a trace (a deliberate bug), or -1 */
    RecordCounter(long dropId) {
        this.dropId = dropId;
    }

    @Override
    protected void setUp() {
        count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        lastSeq = getRuntimeContext().getState(new ValueStateDescriptor<>("last-seq", Types.LONG));
        counted = getRuntimeContext().getMetricGroup().counter("recordsCounted");
        LOG.info(
                "record-counter subtask {} attempt {} opened (drop id {})",
                subtaskIndex(),
                attemptNumber(),
                dropId);
    }

    @Override
    public void processElement(
            InputRecord record, Context ctx, Collector<Tuple2<Long, String>> out)
            throws Exception {
        if (dropId >= 0 && record.id == dropId) {
            // Neither counted nor emitted: the checker must notice the missing id.
            LOG.info("dropping record {} as asked by --drop-id", record);
            return;
        }
        Long previousCount = count.value();
        long n = previousCount == null ? 1L : previousCount + 1;
        Long previousSeq = lastSeq.value();
        count.update(n);
        lastSeq.update(record.seq);
        counted.inc();
        out.collect(
                Tuple2.of(
                        record.key,
                        record.id
                                + ","
                                + record.key
                                + ","
                                + record.seq
                                + ","
                                + n
                                + ","
                                + (previousSeq == null ? -1L : previousSeq)));
    }
}
