package dev.gdn.job;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Right after the Kafka source: records in its own operator state the last input offset of every
 * partition it has passed on, and after a restore checks the source's position against it
 * ({@link AnsweredOffsets}). A mismatch fails the job without restarts, naming both offsets: a
 * snapshot whose source offsets were altered is never resumed.
 *
 * <p>The record is union state: after a rescale every subtask knows every partition's offset, whichever
 * subtask reads it now.
 */
public final class OffsetGuard extends ProcessFunction<RawEvent, RawEvent> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    private final String bootstrapServers;
    private transient ListState<Tuple2<String, Long>> state;
    private transient AnsweredOffsets offsets;

    public OffsetGuard(String bootstrapServers) {
        this.bootstrapServers = bootstrapServers;
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        state = ctx.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("gdn-answered-offsets",
                Types.TUPLE(Types.STRING, Types.LONG)));
        List<Map.Entry<String, Long>> entries = new ArrayList<>();
        for (Tuple2<String, Long> t : state.get()) {
            entries.add(Map.entry(t.f0, t.f1));
        }
        offsets = new AnsweredOffsets(ctx.isRestored() ? AnsweredOffsets.merge(entries) : new HashMap<>(),
                new KafkaGapProbe(bootstrapServers));
    }

    @Override
    public void processElement(RawEvent e, Context ctx, Collector<RawEvent> out) {
        try {
            offsets.pass(e.topic, e.partition, e.offset);
        } catch (AnsweredOffsets.OffsetMismatchException mismatch) {
            // restarting from the same snapshot cannot help
            throw new SuppressRestartsException(mismatch);
        }
        out.collect(e);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        List<Tuple2<String, Long>> entries = new ArrayList<>();
        offsets.snapshot().forEach((k, v) -> entries.add(Tuple2.of(k, v)));
        state.update(entries);
    }

    /** Reads the gap with a read_committed consumer of its own (only when a partition resumes past its next offset). */
    static final class KafkaGapProbe implements AnsweredOffsets.GapProbe, java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final String servers;

        KafkaGapProbe(String servers) {
            this.servers = servers;
        }

        @Override
        public OptionalLong firstRecord(String topic, int partition, long from, long before) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1");
            TopicPartition tp = new TopicPartition(topic, partition);
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
                c.assign(List.of(tp));
                c.seek(tp, from);
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                        return r.offset() < before ? OptionalLong.of(r.offset()) : OptionalLong.empty();
                    }
                    if (c.position(tp) >= before) {
                        return OptionalLong.empty();
                    }
                }
            }
            throw new IllegalStateException("could not read partition " + AnsweredOffsets.key(topic, partition)
                    + " from offset " + from + " within 60 s to check the snapshot's source offset " + before);
        }
    }
}
