package dev.gdn.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gdn.demo.DemoEvent;
import dev.gdn.demo.RecallTask;
import dev.gdn.job.BoundedRecords;
import dev.gdn.job.FailOnce;
import dev.gdn.job.GdnJob;
import dev.gdn.operator.GdnOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole job against a real in-process Kafka broker (KRaft) on a Flink MiniCluster: exactly once end
 * to end with dead letters, recovery from an injected failure, and stop-with-savepoint then resume; each
 * compared record for record with a failure-free run.
 */
@Timeout(600)
class KafkaJobTest {
    static final Path MODEL = Path.of("../models/recall").toAbsolutePath().normalize();
    static EmbeddedKafka kafka;
    static List<DemoEvent> events = RecallTask.generate(900, 24, 9, 5);
    static List<String> failureFree;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.start();
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    static Configuration options(String run) throws Exception {
        return options(run, kafka);
    }

    static Configuration options(String run, EmbeddedKafka kafka) throws Exception {
        Configuration c = new Configuration();
        c.set(GdnOptions.MODEL_PATH, MODEL.toString());
        c.set(GdnOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        c.set(GdnOptions.INPUT_TOPIC, run + "-in");
        c.set(GdnOptions.OUTPUT_TOPIC, run + "-out");
        c.set(GdnOptions.DEAD_LETTER_TOPIC, run + "-dlq");
        c.set(GdnOptions.GROUP_ID, run);
        c.set(GdnOptions.TRANSACTIONAL_ID_PREFIX, run);
        c.set(GdnOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        c.set(GdnOptions.CHECKPOINT_DIR, dir.resolve(run).toUri().toString());
        c.set(GdnOptions.CPU_THREADS, 2);
        kafka.createTopics(2, run + "-in", run + "-out", run + "-dlq");
        return c;
    }

    static LocalRun.Outcome run(Configuration c, int done, int upTo, Path savepointDir, Path from, long failAfter)
            throws Exception {
        StringWriter log = new StringWriter();
        LocalRun.Outcome o = LocalRun.run(new LocalRun.Plan(c, events, 2, done, upTo, savepointDir, from,
                Duration.ofSeconds(120), failAfter, 0), new PrintWriter(log));
        System.out.print(log);
        return o;
    }

    static synchronized List<String> failureFree() throws Exception {
        if (failureFree == null) {
            Configuration c = options("clean");
            c.set(GdnOptions.CACHE_ENABLED, false); // the reference: every bundle reads and writes keyed state
            LocalRun.Outcome o = run(c, 0, events.size(), null, null, 0);
            assertThat(o.verdict().ok()).isTrue();
            failureFree = o.verdict().sortedResults();
        }
        return failureFree;
    }

    @Test
    void everyEventHasExactlyOneResultOrDeadLetter() throws Exception {
        List<String> clean = failureFree();
        assertThat(clean).hasSize(events.size() - 9);
        LocalRun.Outcome o = run(options("eo"), 0, events.size(), null, null, 0);
        RunReport.Verdict v = o.verdict();
        assertThat(v.ok()).as("missing=%d unexpected=%d", v.missing(), v.unexpected()).isTrue();
        assertThat(v.results()).isEqualTo(events.size() - 9);
        assertThat(v.deadLetters()).isEqualTo(9);
        assertThat(v.accuracy()).isGreaterThan(0.99);
        // a second run gives the same bytes: the CPU backend is deterministic and batch-invariant
        assertThat(v.sortedResults()).containsExactlyElementsOf(clean);

        // dead letters keep the original bytes and key and say why
        List<ConsumerRecord<byte[], byte[]>> dlq = committed("eo-dlq", 9);
        assertThat(dlq).hasSize(9);
        assertThat(dlq).allSatisfy(r -> assertThat(r.headers().lastHeader(GdnJob.REASON_HEADER)).isNotNull());
        List<String> reasons = dlq.stream()
                .map(r -> new String(r.headers().lastHeader(GdnJob.REASON_HEADER).value(), StandardCharsets.UTF_8))
                .toList();
        assertThat(reasons).anyMatch(s -> s.startsWith("not JSON")).anyMatch(s -> s.contains("outside the vocabulary"))
                .anyMatch(s -> s.contains("missing 'tokens'")).anyMatch(s -> s.contains("unknown control"));
        List<String> originals = dlq.stream().map(r -> new String(r.value(), StandardCharsets.UTF_8)).toList();
        assertThat(originals).contains("{not json");
    }

    @Test
    void afterAnInjectedFailureTheCommittedOutputEqualsTheFailureFreeRun() throws Exception {
        assertAFailureLeavesTheFailureFreeOutput(options("fail"));
    }

    @Test
    void withAlignedCheckpointsAnInjectedFailureStillLeavesTheFailureFreeOutput() throws Exception {
        Configuration c = options("aligned");
        c.set(GdnOptions.CHECKPOINT_UNALIGNED, false);
        assertAFailureLeavesTheFailureFreeOutput(c);
    }

    /** A run of {@code c} that fails once after 400 events commits exactly the failure-free run's output. */
    private static void assertAFailureLeavesTheFailureFreeOutput(Configuration c) throws Exception {
        List<String> clean = failureFree();
        FailOnce.arm();
        LocalRun.Outcome o = run(c, 0, events.size(), null, null, 400);
        assertThat(FailOnce.fired()).as("the injected failure happened").isTrue();
        assertThat(o.verdict().ok()).isTrue();
        assertThat(o.verdict().sortedResults()).containsExactlyElementsOf(clean);
    }

    @Test
    void atLeastOnceEveryEventIsAnsweredAndEveryReplayAfterAFailureIsByteIdentical() throws Exception {
        List<String> clean = failureFree();
        Configuration c = options("alo");
        c.set(GdnOptions.DELIVERY, "at-least-once");
        // a long interval: the failure falls well after the last checkpoint, so answers are sent again
        c.set(GdnOptions.CHECKPOINT_INTERVAL, Duration.ofSeconds(5));
        FailOnce.arm();
        LocalRun.Outcome o = run(c, 0, events.size(), null, null, 400);
        assertThat(FailOnce.fired()).as("the injected failure happened").isTrue();
        assertThat(o.duplicates()).as("answers sent again after the failure").isPositive();
        // the reader kept the first copy of each record; a replayed copy that differed would remain as a
        // second answer to its event (unexpected), and one that never came would leave it missing
        assertThat(o.verdict().missing()).isZero();
        assertThat(o.verdict().unexpected()).isZero();
        assertThat(o.verdict().sortedResults()).containsExactlyElementsOf(clean);
    }

    @Test
    void stopWithSavepointThenResumeEqualsTheUninterruptedRun() throws Exception {
        List<String> clean = failureFree();
        Path savepoints = dir.resolve("savepoints");
        Configuration first = options("stop");
        LocalRun.Outcome a = run(first, 0, 350, savepoints, null, 0);
        assertThat(a.savepoint()).isNotNull();
        assertThat(a.verdict().ok()).isTrue();
        var marker = LocalRun.readMarker(savepoints);
        assertThat(marker.get("events_done").asInt()).isEqualTo(350);
        // the job's own savepoint holds one memory per stream seen, readable by `gdn state inspect`
        var model = dev.gdn.operator.ModelCache.get(MODEL.toString(), 2);
        var serializer = new dev.gdn.state.StreamMemorySerializer(dev.gdn.state.MemoryLayout.of(model.config()),
                model.fingerprint(), dev.gdn.state.StorageDType.FP32, dev.gdn.state.ModelChangePolicy.FAIL);
        var memories = SavepointMemories.read(a.savepoint(), GdnJob.OPERATOR_UID, serializer, model, null);
        long streamsSeen = events.subList(0, 350).stream().filter(e -> e.stream() != null).map(DemoEvent::stream)
                .distinct().count();
        assertThat(memories).hasSize((int) streamsSeen);
        assertThat(memories).allSatisfy(m -> assertThat(m.memory().tokensConsumed()).isPositive());
        // as `gdn run --from-savepoint` does: a fresh broker with the same topics, every event produced again;
        // the restored source offsets skip the events the savepoint already covers
        LocalRun.Outcome b;
        try (EmbeddedKafka fresh = EmbeddedKafka.start()) {
            b = run(options("stop", fresh), 350, events.size(), null, Path.of(a.savepoint().replaceFirst("^file:", "")),
                    0);
        }
        assertThat(b.verdict().ok()).isTrue();
        List<String> both = new ArrayList<>(a.verdict().sortedResults());
        both.addAll(b.verdict().sortedResults());
        assertThat(both.stream().sorted().toList()).containsExactlyElementsOf(clean.stream().sorted().toList());
        assertThat(clean).containsAll(b.verdict().sortedResults());
    }

    /** The committed records of {@code topic}, read until {@code n} are there or 30 s have passed. */
    static List<ConsumerRecord<byte[], byte[]>> committed(String topic, int n) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = LocalRun.committedReader(kafka.bootstrapServers())) {
            var parts = LocalRun.partitions(c, topic);
            c.assign(parts);
            c.seekToBeginning(parts);
            long until = System.currentTimeMillis() + 30_000;
            while (out.size() < n && System.currentTimeMillis() < until) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    static DemoEvent hostile(String stream, int i, byte[] value) {
        return new DemoEvent(stream, "hostile-" + i, value, -1);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Events sized and shaped to break a job: huge reasons, keys and values, concatenated and
     * duplicate-key JSON, UTF-16. Each must become one bounded dead letter while the job keeps running
     * and the good streams' results stay byte for byte those of a run without them.
     */
    static List<DemoEvent> hostileEvents() {
        String huge = "x".repeat(700_000);
        List<DemoEvent> h = new ArrayList<>();
        h.add(hostile("stream-0", 0, utf8("{\"control\":\"" + huge + "\"}")));
        h.add(hostile("stream-1", 1, utf8("{\"tokens\":[1,\"" + huge + "\"]}")));
        h.add(hostile("k".repeat(1_000_000), 2, utf8("{\"tokens\":[1]}")));
        h.add(hostile("stream-2", 3, utf8("{\"tokens\":[1],\"pad\":\"" + "p".repeat(3_000_000) + "\"}")));
        h.add(hostile("stream-3", 4, utf8("{\"tokens\":[1],\"pad\":\"" + "q".repeat(50_000_000) + "\"}")));
        h.add(hostile("stream-3", 5, utf8("{\"id\":\"A\",\"tokens\":[1]}{\"id\":\"B\",\"tokens\":[2]}")));
        h.add(hostile("stream-4", 6, utf8("{\"control\":\"explode\",\"control\":\"reset\"}")));
        h.add(hostile("stream-5", 7, "{\"tokens\":[1]}".getBytes(StandardCharsets.UTF_16LE)));
        h.add(hostile("stream-6", 8, utf8("{\"tokens\":[1]} trailing")));
        h.add(hostile("stream-7", 9, utf8("{\"id\":\"" + "i".repeat(300) + "\",\"tokens\":[1]}")));
        return h;
    }

    @Test
    void hostileEventsBecomeBoundedDeadLettersAndGoodStreamsAreUnchanged() throws Exception {
        List<String> clean = failureFree();
        List<DemoEvent> hostile = hostileEvents();
        List<DemoEvent> mixed = new ArrayList<>(events);
        for (int i = 0; i < hostile.size(); i++) {
            mixed.add(60 + i * 80, hostile.get(i));
        }
        Configuration c = options("hostile");
        StringWriter log = new StringWriter();
        LocalRun.Outcome o = LocalRun.run(new LocalRun.Plan(c, mixed, 2, 0, mixed.size(), null, null,
                Duration.ofSeconds(120), 0, 0), new PrintWriter(log));
        RunReport.Verdict v = o.verdict();
        assertThat(v.ok()).as("missing=%d unexpected=%d", v.missing(), v.unexpected()).isTrue();
        assertThat(v.deadLetters()).isEqualTo(9 + hostile.size());
        assertThat(v.sortedResults()).containsExactlyElementsOf(clean);

        List<ConsumerRecord<byte[], byte[]>> dlq = committed("hostile-dlq", 9 + hostile.size());
        int limit = GdnOptions.OUTPUT_MAX_BYTES.defaultValue();
        assertThat(dlq).allSatisfy(r -> {
            assertThat(recordBytes(r)).isLessThanOrEqualTo(limit);
            assertThat(header(r, BoundedRecords.REASON)).hasSizeLessThanOrEqualTo(500);
        });
        List<String> reasons = dlq.stream().map(r -> header(r, BoundedRecords.REASON)).toList();
        assertThat(reasons).anyMatch(r -> r.startsWith("unknown control \"xxx"))
                .anyMatch(r -> r.startsWith("'tokens'[1] = \"xxx"))
                .anyMatch(r -> r.equals("Kafka key of 1000000 bytes, more than gdn.event.max-key-bytes = 1024"))
                .anyMatch(r -> r.startsWith("event of 3000023 bytes, more than gdn.event.max-bytes"))
                .anyMatch(r -> r.startsWith("event of 50000023 bytes, more than gdn.event.max-bytes"))
                .anyMatch(r -> r.contains("Duplicate field 'control'"))
                .anyMatch(r -> r.equals("'id' has 300 characters, more than 256"));
        assertThat(dlq).anyMatch(r -> "50000023".equals(header(r, BoundedRecords.ORIGINAL_VALUE_BYTES))
                && header(r, BoundedRecords.ORIGINAL_VALUE_SHA256)
                        .equals(BoundedRecords.sha256(hostile.get(4).value())));
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Bytes of key, value and headers: what counts against a record size limit. */
    private static long recordBytes(ConsumerRecord<byte[], byte[]> r) {
        long n = (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
        for (var h : r.headers()) {
            n += h.key().length() + h.value().length;
        }
        return n;
    }
}
