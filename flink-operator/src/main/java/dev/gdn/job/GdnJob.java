package dev.gdn.job;

import dev.gdn.operator.GdnInferenceOperator;
import dev.gdn.operator.GdnOptions;
import dev.gdn.operator.StreamEvent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The streaming job: Kafka events (read_committed) -> parse (malformed -> dead-letter topic) ->
 * keyBy(stream) -> {@link GdnInferenceOperator} (uid {@value #OPERATOR_UID}) -> Kafka results, both
 * sinks exactly-once.
 */
public final class GdnJob {
    /** uid of the inference operator: its keyed state holds the stream memories. */
    public static final String OPERATOR_UID = SavepointMemories.DEFAULT_UID;

    /** Dead-letter record headers. */
    public static final String REASON_HEADER = "gdn.reason";
    public static final String SOURCE_HEADER = "gdn.source";

    private GdnJob() {
    }

    /**
     * The Flink settings the job needs: exactly-once checkpoints at the configured interval, the state
     * backend (RocksDB with incremental checkpoints, or hashmap) and file-system checkpoint storage
     * (memories are far larger than the JobManager's in-memory storage allows).
     */
    public static Configuration flinkConfiguration(Configuration c) {
        Configuration f = new Configuration();
        f.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, c.get(GdnOptions.CHECKPOINT_INTERVAL));
        f.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        f.set(StateBackendOptions.STATE_BACKEND, c.get(GdnOptions.STATE_BACKEND));
        f.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        f.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        f.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 10);
        f.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, java.time.Duration.ofSeconds(1));
        c.getOptional(GdnOptions.CHECKPOINT_DIR).ifPresent(d -> {
            f.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
            f.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, d);
        });
        return f;
    }

    /** Adds the pipeline to {@code env}. */
    public static void build(StreamExecutionEnvironment env, Configuration c) {
        build(env, c, 0);
    }

    /**
     * Adds the pipeline to {@code env}; with {@code failAfter > 0} the job fails once after that many
     * events (see {@link FailOnce}) and recovers from its last checkpoint.
     */
    public static void build(StreamExecutionEnvironment env, Configuration c, long failAfter) {
        GdnOptions.validate(c);
        String servers = c.getOptional(GdnOptions.BOOTSTRAP_SERVERS)
                .orElseThrow(() -> new IllegalArgumentException(GdnOptions.BOOTSTRAP_SERVERS.key() + " is not set"));
        KafkaSource<RawEvent> source = KafkaSource.<RawEvent>builder()
                .setBootstrapServers(servers)
                .setTopics(c.get(GdnOptions.INPUT_TOPIC))
                .setGroupId(c.get(GdnOptions.GROUP_ID))
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setProperty("isolation.level", "read_committed")
                .setDeserializer(new RawEventDeserializer())
                .build();
        SingleOutputStreamOperator<StreamEvent> events = env
                .fromSource(source, WatermarkStrategy.noWatermarks(), "kafka events").uid("gdn-source")
                .process(new ParseEvents(c)).uid("gdn-parse").name("parse events");
        events.getSideOutput(ParseEvents.DEAD_LETTERS)
                .sinkTo(sink(c, servers, "dead-letters", deadLetterSerializer(c.get(GdnOptions.DEAD_LETTER_TOPIC))))
                .uid("gdn-dead-letter-sink").name("dead-letter sink");
        TypeInformation<Tuple2<String, String>> resultType = Types.TUPLE(Types.STRING, Types.STRING);
        DataStream<StreamEvent> valid = events;
        if (failAfter > 0) {
            FailOnce.arm();
            valid = events.map(new FailOnce(failAfter)).uid("gdn-inject-failure").name("inject failure");
        }
        valid.keyBy(e -> e.stream, Types.STRING)
                .transform("gdn inference", resultType, new GdnInferenceOperator(c)).uid(OPERATOR_UID)
                .sinkTo(sink(c, servers, "results", resultSerializer(c.get(GdnOptions.OUTPUT_TOPIC))))
                .uid("gdn-result-sink").name("result sink");
    }

    private static <T> KafkaSink<T> sink(Configuration c, String servers, String what,
            KafkaRecordSerializationSchema<T> serializer) {
        return KafkaSink.<T>builder()
                .setBootstrapServers(servers)
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(c.get(GdnOptions.TRANSACTIONAL_ID_PREFIX) + "-" + what)
                .setProperty("transaction.timeout.ms", Long.toString(c.get(GdnOptions.TRANSACTION_TIMEOUT).toMillis()))
                .build();
    }

    static KafkaRecordSerializationSchema<Tuple2<String, String>> resultSerializer(String topic) {
        return (r, ctx, ts) -> new ProducerRecord<>(topic, r.f0.getBytes(StandardCharsets.UTF_8),
                r.f1.getBytes(StandardCharsets.UTF_8));
    }

    static KafkaRecordSerializationSchema<DeadLetter> deadLetterSerializer(String topic) {
        return (d, ctx, ts) -> new ProducerRecord<>(topic, null, null, d.event.key, d.event.value, List.of(
                new RecordHeader(REASON_HEADER, d.reason.getBytes(StandardCharsets.UTF_8)),
                new RecordHeader(SOURCE_HEADER, (d.event.topic + "/" + d.event.partition + "/" + d.event.offset)
                        .getBytes(StandardCharsets.UTF_8))));
    }

    /** Keeps the raw bytes: parsing (and refusing) happens in {@link ParseEvents}. */
    static final class RawEventDeserializer implements KafkaRecordDeserializationSchema<RawEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, org.apache.flink.util.Collector<RawEvent> out) {
            out.collect(new RawEvent(r.key(), r.value(), r.topic(), r.partition(), r.offset()));
        }

        @Override
        public TypeInformation<RawEvent> getProducedType() {
            return TypeInformation.of(RawEvent.class);
        }
    }
}
