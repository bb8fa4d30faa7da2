package dev.gdn.job;

import dev.gdn.operator.GdnInferenceOperator;
import dev.gdn.operator.GdnOptions;
import dev.gdn.operator.StreamEvent;
import dev.gdn.operator.StreamResult;
import dev.gdn.operator.wire.StreamEventSerializer;
import dev.gdn.operator.wire.StreamResultSerializer;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The streaming job: Kafka events (read_committed) -> parse (malformed -> dead-letter topic) ->
 * keyBy(stream) -> {@link GdnInferenceOperator} (uid {@value #OPERATOR_UID}) -> Kafka results, both
 * sinks exactly-once (or at-least-once: {@link GdnOptions#DELIVERY}).
 */
public final class GdnJob {
    /** uid of the inference operator: its keyed state holds the stream memories. */
    public static final String OPERATOR_UID = "gdn-stream-memory";

    /** uid of the check of the source's restored offsets against the job's own record of them. */
    public static final String OFFSET_GUARD_UID = "gdn-offset-guard";

    /** Dead-letter record headers (see {@link BoundedRecords} for all of them). */
    public static final String REASON_HEADER = BoundedRecords.REASON;
    public static final String SOURCE_HEADER = BoundedRecords.SOURCE;

    private GdnJob() {
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
                .setDeserializer(new RawEventDeserializer(c.get(GdnOptions.EVENT_MAX_KEY_BYTES),
                        c.get(GdnOptions.EVENT_MAX_BYTES), c.get(GdnOptions.DEAD_LETTER_MAX_BYTES)))
                .build();
        DataStream<RawEvent> raw = env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka events")
                .uid("gdn-source")
                .process(new OffsetGuard(servers)).uid(OFFSET_GUARD_UID).name("check source offsets");
        if (failAfter > 0) {
            FailOnce.arm();
            raw = raw.map(new FailOnce(failAfter)).uid("gdn-inject-failure").name("inject failure");
        }
        SingleOutputStreamOperator<StreamEvent> events = raw
                .process(new ParseEvents(c), StreamEventSerializer.TYPE).uid("gdn-parse").name("parse events");
        String deadLetterTopic = c.get(GdnOptions.DEAD_LETTER_TOPIC);
        int keep = c.get(GdnOptions.DEAD_LETTER_MAX_BYTES);
        events.getSideOutput(ParseEvents.DEAD_LETTERS)
                .sinkTo(sink(c, servers, "dead-letters", deadLetterSerializer(deadLetterTopic, keep)))
                .uid("gdn-dead-letter-sink").name("dead-letter sink");
        // both with serializers of their own: no reflection per record, no copy between chained operators
        TypeInformation<StreamResult> resultType = StreamResultSerializer.TYPE;
        var results = events.keyBy(e -> e.stream, Types.STRING)
                .transform("gdn inference", resultType, new GdnInferenceOperator(c)).uid(OPERATOR_UID)
                .sinkTo(sink(c, servers, "results", resultSerializer(c.get(GdnOptions.OUTPUT_TOPIC),
                        c.get(GdnOptions.SUMMARY_TOPIC), deadLetterTopic, c.get(GdnOptions.OUTPUT_MAX_BYTES), keep)))
                .uid("gdn-result-sink").name("result sink");
        if (!c.get(GdnOptions.SINK_CHAINED)) {
            results.disableChaining();
        }
    }

    private static <T> KafkaSink<T> sink(Configuration c, String servers, String what,
            KafkaRecordSerializationSchema<T> serializer) {
        return KafkaSink.<T>builder()
                .setBootstrapServers(servers)
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(GdnOptions.atLeastOnce(c) ? DeliveryGuarantee.AT_LEAST_ONCE
                        : DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(c.get(GdnOptions.TRANSACTIONAL_ID_PREFIX) + "-" + what)
                .setProperty("transaction.timeout.ms", Long.toString(c.get(GdnOptions.TRANSACTION_TIMEOUT).toMillis()))
                // a send or a commit that cannot reach the brokers fails within 20 s (Kafka's default: 60 s), and
                // the committer's retries or a restart take over
                .setProperty("max.block.ms", "20000")
                // at-least-once is the latency mode: a result leaves at once instead of lingering for a batch
                // (Kafka 4's default: 5 ms); exactly-once results wait for the checkpoint anyway
                .setProperty("linger.ms", GdnOptions.atLeastOnce(c) ? "0" : "5")
                // every record is at most gdn.output.max-bytes (BoundedRecords): room for one plus batch overhead
                .setProperty("max.request.size", Integer.toString(Math.max(1 << 20, c.get(GdnOptions.OUTPUT_MAX_BYTES) + 65536)))
                .build();
    }

    /**
     * Results to {@code topic}; those of the summary policy to {@code summaryTopic} when it is not empty (in
     * the same transactions: exactly once either way).
     */
    static KafkaRecordSerializationSchema<StreamResult> resultSerializer(String topic, String summaryTopic,
            String deadLetterTopic, int maxBytes, int keep) {
        return (r, ctx, ts) -> BoundedRecords.result(!summaryTopic.isEmpty() && r.kind == StreamResult.Kind.SUMMARY
                ? summaryTopic : topic, deadLetterTopic, r.stream, r.jsonUtf8(), maxBytes, keep);
    }

    static KafkaRecordSerializationSchema<DeadLetter> deadLetterSerializer(String topic, int keep) {
        return (d, ctx, ts) -> BoundedRecords.deadLetter(topic, d, keep);
    }

    /**
     * Keeps the raw bytes (parsing, and refusing, happens in {@link ParseEvents}); a key or value over
     * its limit is cut to a prefix here, so an oversized record never travels through the job.
     */
    static final class RawEventDeserializer implements KafkaRecordDeserializationSchema<RawEvent> {
        private static final long serialVersionUID = 2L;
        private final int maxKeyBytes;
        private final int maxValueBytes;
        private final int keep;

        RawEventDeserializer(int maxKeyBytes, int maxValueBytes, int keep) {
            this.maxKeyBytes = maxKeyBytes;
            this.maxValueBytes = maxValueBytes;
            this.keep = keep;
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> r, org.apache.flink.util.Collector<RawEvent> out) {
            out.collect(RawEvent.of(r.key(), r.value(), r.topic(), r.partition(), r.offset(), maxKeyBytes,
                    maxValueBytes, keep));
        }

        @Override
        public TypeInformation<RawEvent> getProducedType() {
            return TypeInformation.of(RawEvent.class);
        }
    }
}
